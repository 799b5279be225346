//! IPFragmenter: fragments IP packets longer than the MTU.

use click_engine::args::Args;
use click_engine::packet::{Batch, PacketPool};
use click_engine::{
    ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, Packet, Port, Threads, PUSH,
};

use super::hdr::{
    be16, cksum, copy_annotations, ip_at, put16, Counts, IPOPT_EOL, IPOPT_NOP, IP_DF, IP_MF,
};

/// `IPFragmenter(MTU [, HONOR_DF, VERBOSE, *keywords* HEADROOM])`: sends
/// IP packets (their IP header annotation set) whose length from the IP
/// header on is at most MTU to output 0 as they are, and fragments longer
/// ones (RFC 791), sending the fragments to output 0 in order, first
/// first. Each fragment carries as many 8-byte blocks of data as fit the
/// MTU: `IPFragmenter(576)` puts 552 data bytes in a fragment with a
/// 20-byte header. The first fragment keeps the packet's header, options
/// and whatever precedes the IP header (a MAC header); the others get a
/// copy of the 20-byte header and of the options whose copy bit is set,
/// padded to four bytes, and no MAC header. Every fragment gets the
/// packet's annotations. A fragment of a fragment keeps its offsets and
/// its MF bit where the original had it.
///
/// A packet longer than MTU with Don't Fragment set (or whose header
/// leaves no room for 8 bytes of data) goes to output 1 unchanged, or is
/// dropped when there is none; usually output 1 leads to an
/// `ICMPError(ADDR, unreachable, needfrag, PMTU MTU)`. The first five
/// such packets (every one with `VERBOSE true`) are reported, as in Click
/// (`IPFragmenter(576) DF 10.0.1.2 10.0.2.2 len=1242`); `drops` counts
/// them. With `HONOR_DF false` such packets are fragmented too: their DF
/// bit is cleared and, as their ID cannot be trusted to be unique, they
/// get a random one. HEADROOM is the headroom of the fragments made after
/// the first (the pool's default otherwise).
///
/// A packet longer than MTU whose IP header is not marked, is shorter
/// than 20 bytes or whose header length is under 20 or past the data, is
/// dropped ("no IP header"). A packet with fewer bytes than its total
/// length says is fragmented as far as its bytes go (Click would copy
/// bytes from beyond it).
///
/// * Ports: 1 push input, 1 or 2 push outputs.
/// * Handlers: `drops` (read): packets sent to output 1 (or dropped) for
///   DF; `fragments` (read): fragments sent.
#[derive(Debug)]
pub struct IPFragmenter {
    mtu: usize,
    honor_df: bool,
    verbose: bool,
    headroom: Option<usize>,
    /// 0: DF packets; 1: fragments sent.
    counts: Counts<2>,
    /// State of the generator of IDs for packets whose DF is ignored.
    random: u64,
}

impl ElementClass for IPFragmenter {
    const CLASS: &'static str = "IPFragmenter";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = PUSH;
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let mtu: u32 = args.read_mp("MTU")?;
        let honor_df = args.read_p("HONOR_DF")?.unwrap_or(true);
        let verbose = args.read_p("VERBOSE")?.unwrap_or(false);
        let headroom: Option<usize> = args.read("HEADROOM")?;
        if mtu < 8 {
            return Err("MTU must be at least 8".into());
        }
        let seed = ctx.name.bytes().fold(0x243f_6a88_85a3_08d3u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Ok(IPFragmenter {
            mtu: mtu as usize,
            honor_df,
            verbose,
            headroom,
            counts: Counts::new(),
            random: seed | 1,
        })
    }
}

/// The options of the IP header `ip` that every fragment carries (copy
/// bit set), padded with EOL to four bytes, written to `out` if given;
/// their length.
fn copied_options(ip: &[u8], mut out: Option<&mut [u8]>) -> usize {
    let hlen = (usize::from(ip[0] & 0x0f) * 4).min(ip.len());
    let opts = ip.get(20..hlen).unwrap_or(&[]);
    let mut n = 0;
    let mut o = 0;
    while o < opts.len() {
        let ty = opts[o];
        if ty == IPOPT_NOP {
            o += 1;
            continue;
        }
        if ty == IPOPT_EOL || o + 1 == opts.len() {
            break;
        }
        let len = usize::from(opts[o + 1]);
        if len < 2 || o + len > opts.len() {
            break;
        }
        if ty & 0x80 != 0 {
            if let Some(out) = out.as_deref_mut() {
                out[n..n + len].copy_from_slice(&opts[o..o + len]);
            }
            n += len;
        }
        o += len;
    }
    while n % 4 != 0 {
        if let Some(out) = out.as_deref_mut() {
            out[n] = IPOPT_EOL;
        }
        n += 1;
    }
    n
}

/// What became of a packet too long for the MTU (a packet for output 1,
/// DF set or no room for data, is given back as an error).
enum Fate {
    /// Fragmented into the batch.
    Fragmented,
    /// Dropped for this reason.
    Drop(&'static str),
}

impl IPFragmenter {
    /// The next random IP ID (xorshift64*).
    fn random_id(&mut self) -> u16 {
        let mut x = self.random;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.random = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 48) as u16
    }

    /// Whether `p` passes unfragmented (Click compares the length from
    /// the IP header on).
    #[inline(always)]
    fn fits(&self, p: &Packet) -> bool {
        let nh = p.network_header_offset().unwrap_or(0);
        p.len() as isize - nh <= self.mtu as isize
    }

    /// Fragments `p` into `out`; `p` back as the error if it goes to
    /// output 1.
    fn fragment(&mut self, p: Packet, out: &mut Batch, ctx: &mut Ctx<'_>) -> Result<Fate, Packet> {
        let Some(off) = ip_at(&p, 20) else {
            return Ok(Fate::Drop("no IP header"));
        };
        let data = p.data();
        let ip = &data[off..];
        let hlen = usize::from(ip[0] & 0x0f) * 4;
        if hlen < 20 || hlen > ip.len() {
            return Ok(Fate::Drop("no IP header"));
        }
        let first_dlen = (self.mtu as isize - hlen as isize) & !7;
        // the data the packet says it has, as far as it has it
        let in_dlen = (be16(ip, 2) as isize).min(ip.len() as isize) - hlen as isize;
        let ip_off = be16(ip, 6);
        if (ip_off & IP_DF != 0 && self.honor_df) || first_dlen < 8 {
            if self.verbose || self.counts.sum(0) < 5 {
                eprintln!(
                    "IPFragmenter({}) DF {}.{}.{}.{} {}.{}.{}.{} len={}",
                    self.mtu,
                    ip[12],
                    ip[13],
                    ip[14],
                    ip[15],
                    ip[16],
                    ip[17],
                    ip[18],
                    ip[19],
                    data.len()
                );
            }
            self.counts.add(0, 1);
            return Err(p);
        }
        let first_dlen = first_dlen as usize;
        let mut p = p;
        let new_id = (ip_off & IP_DF != 0).then(|| self.random_id());
        let Ok(data) = p.data_mut() else {
            return Ok(Fate::Drop("pool exhausted"));
        };
        let ip = &mut data[off..];
        if let Some(id) = new_id {
            put16(ip, 4, id);
            put16(ip, 6, ip_off & !IP_DF);
        }
        let had_mf = ip_off & IP_MF != 0;
        put16(ip, 2, (hlen + first_dlen) as u16);
        let ip_off = be16(ip, 6) | IP_MF;
        put16(ip, 6, ip_off);
        put16(ip, 10, 0);
        let sum = cksum(&ip[..hlen]);
        put16(ip, 10, sum);

        // The later fragments' header: the first 20 bytes, the copied
        // options.
        let mut header = [0u8; 60];
        header[..20].copy_from_slice(&ip[..20]);
        let out_hlen = 20 + copied_options(ip, Some(&mut header[20..]));
        header[0] = 0x40 | (out_hlen / 4) as u8;
        let out_dlen_max = (self.mtu - out_hlen) & !7;

        // The first fragment: the packet itself, cut after its data.
        let Some(mut first) = p.try_clone() else {
            return Ok(Fate::Drop("pool exhausted"));
        };
        first.truncate(off + hlen + first_dlen);
        self.emit(first, out, ctx);

        let headroom = self.headroom.unwrap_or(PacketPool::config().headroom);
        let payload = off + hlen;
        let mut frag_off = first_dlen;
        while (frag_off as isize) < in_dlen {
            let out_dlen = out_dlen_max.min(in_dlen as usize - frag_off);
            let Ok(mut q) = Packet::with_headroom(headroom, out_hlen + out_dlen) else {
                ctx.count_drops_for(1, "pool exhausted");
                frag_off += out_dlen;
                continue;
            };
            if let Ok(d) = q.data_mut() {
                let (h, body) = d.split_at_mut(out_hlen);
                h.copy_from_slice(&header[..out_hlen]);
                let src = &p.data()[payload + frag_off..payload + frag_off + out_dlen];
                body.copy_from_slice(src);
                let mut qoff = ip_off.wrapping_add((frag_off >> 3) as u16);
                if frag_off + out_dlen >= in_dlen as usize && !had_mf {
                    qoff &= !IP_MF;
                }
                put16(h, 6, qoff);
                put16(h, 2, (out_hlen + out_dlen) as u16);
                put16(h, 10, 0);
                let sum = cksum(h);
                put16(h, 10, sum);
            }
            copy_annotations(&p, &mut q);
            let _ = q.set_network_header(0, out_hlen);
            self.emit(q, out, ctx);
            frag_off += out_dlen;
        }
        Ok(Fate::Fragmented)
    }

    /// Adds a fragment to the output batch, sending the batch on when it
    /// is full.
    fn emit(&mut self, q: Packet, out: &mut Batch, ctx: &mut Ctx<'_>) {
        self.counts.add(1, 1);
        if let Err(q) = out.try_push(q) {
            ctx.push(0, std::mem::take(out));
            out.push(q);
        }
    }
}

impl Element for IPFragmenter {
    fn push(&mut self, _port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        if batch.iter().all(|p| self.fits(p)) {
            ctx.push(0, batch);
            return;
        }
        let mut out = Batch::new();
        for p in batch {
            if self.fits(&p) {
                if let Err(p) = out.try_push(p) {
                    ctx.push(0, std::mem::take(&mut out));
                    out.push(p);
                }
                continue;
            }
            match self.fragment(p, &mut out, ctx) {
                Ok(Fate::Fragmented) => {}
                Ok(Fate::Drop(reason)) => ctx.count_drops_for(1, reason),
                Err(df) => {
                    // keep the order of packets across outputs
                    if !out.is_empty() {
                        ctx.push(0, std::mem::take(&mut out));
                    }
                    let mut b = Batch::new();
                    b.push(df);
                    ctx.push(1, b);
                }
            }
        }
        if !out.is_empty() {
            ctx.push(0, out);
        }
    }

    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.counts.initialize(ctx)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("drops"), Handler::read("fragments")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        match name {
            "drops" => Some(self.counts.sum(0).to_string()),
            "fragments" => Some(self.counts.sum(1).to_string()),
            _ => None,
        }
    }
}
