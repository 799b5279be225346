//! IPInputCombo and IPOutputCombo: a router's per-interface input and
//! output paths in one element each.

use std::net::Ipv4Addr;

use click_engine::args::{Args, Ipv4Prefix};
use click_engine::packet::{Batch, BATCH_CAPACITY};
use click_engine::{
    ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, Packet, PacketCtx, PacketElement,
    Port, Threads, PUSH,
};

use super::dropbroadcasts::link_broadcast;
use super::hdr::{be16, cksum, cksum_after_ttl_decrement, ip_at, put16, Counts};
use super::ipgwoptions::{header_copy, ms_since_midnight, process_options, Options};

/// `IPInputCombo(COLOR [, BADSRC, *keywords* INTERFACES, BADSRC,
/// GOODDST])`: a router's input path for one interface in one element,
/// as `Paint(COLOR) -> Strip(14) -> CheckIPHeader(...) ->
/// GetIPAddress(16)`: paints each Ethernet frame COLOR, strips its
/// 14-byte Ethernet header, checks the IP header (length, version, header
/// length, total length, checksum, and source addresses as
/// CheckIPHeader's INTERFACES, BADSRC and GOODDST say), sets the IP header
/// annotation, trims the packet to the IP total length and sets the
/// destination IP annotation. Bad packets are dropped; the first is
/// reported (`IP checksum failed`, Click's words for any of them), and
/// `drops` counts them.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `drops` (read).
#[derive(Debug)]
pub struct IPInputCombo {
    color: u8,
    bad_src: Vec<[u8; 4]>,
    good_dst: Vec<[u8; 4]>,
    drops: Counts<1>,
}

impl ElementClass for IPInputCombo {
    const CLASS: &'static str = "IPInputCombo";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let color: u8 = args.read_mp("COLOR")?;
        let old_bad: Option<Vec<Ipv4Addr>> = args.read_p("BADSRC")?;
        let interfaces: Option<Vec<Ipv4Prefix>> = args.read("INTERFACES")?;
        let bad_src: Option<Vec<Ipv4Addr>> = args.read("BADSRC")?;
        let good_dst: Option<Vec<Ipv4Addr>> = args.read("GOODDST")?;
        let (mut bad, mut good) = (Vec::new(), Vec::new());
        if let Some(b) = old_bad {
            bad = b.iter().map(|a| a.octets()).collect();
        }
        if let Some(ifs) = interfaces {
            bad.clear();
            for p in ifs {
                let (ip, mask) = (u32::from(p.addr), u32::from(p.mask));
                bad.push(((ip & mask) | !mask).to_be_bytes());
                good.push(ip.to_be_bytes());
            }
            bad.extend([[0; 4], [255; 4]]);
        }
        if let Some(b) = bad_src {
            bad = b.iter().map(|a| a.octets()).collect();
        }
        if let Some(g) = good_dst {
            good = g.iter().map(|a| a.octets()).collect();
        }
        Ok(IPInputCombo {
            color,
            bad_src: bad,
            good_dst: good,
            drops: Counts::new(),
        })
    }
}

impl IPInputCombo {
    #[inline(always)]
    fn good(&self, p: &mut Packet) -> bool {
        p.anno_mut().set_paint(self.color);
        if p.pull(14).is_err() {
            return false;
        }
        let d = p.data();
        let Some(ip) = d.first_chunk::<20>() else {
            return false;
        };
        if ip[0] >> 4 != 4 {
            return false;
        }
        let hlen = usize::from(ip[0] & 0x0f) * 4;
        let len = usize::from(be16(ip, 2));
        if hlen < 20 || len > d.len() || len < hlen || cksum(&d[..hlen]) != 0 {
            return false;
        }
        let (src, dst) = (
            [ip[12], ip[13], ip[14], ip[15]],
            [ip[16], ip[17], ip[18], ip[19]],
        );
        if self.bad_src.contains(&src) && !self.good_dst.contains(&dst) {
            return false;
        }
        let _ = p.set_network_header(0, hlen);
        p.truncate(len);
        p.anno_mut().set_dst_ip(Ipv4Addr::from(dst));
        true
    }
}

impl PacketElement for IPInputCombo {
    #[inline]
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        if self.good(p) {
            return Some(0);
        }
        if self.drops.sum(0) == 0 {
            eprintln!("IP checksum failed");
        }
        self.drops.add(0, 1);
        None
    }

    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.drops.initialize(ctx)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("drops")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "drops").then(|| self.drops.sum(0).to_string())
    }
}

/// `IPOutputCombo(COLOR, IPADDR, MTU)`: a router's output path for one
/// interface in one element, as `DropBroadcasts -> PaintTee(COLOR) ->
/// IPGWOptions(IPADDR) -> FixIPSrc(IPADDR) -> DecIPTTL -> CheckLength(MTU)`
/// on IP packets whose header starts their data. Link-level broadcasts
/// and multicasts are dropped. A packet painted COLOR (it leaves by the
/// interface it came in by) has a copy sent to output 1, for an ICMP
/// redirect. Record Route and Timestamp options get IPADDR and the time; a
/// bad option sends the packet to output 2 with its parameter problem
/// annotation set. A packet with the fix-IP-source annotation gets IPADDR
/// as its source. A packet whose TTL has expired goes to output 3; the
/// others get their TTL decremented, and go to output 4 if longer than
/// MTU bytes (for an IPFragmenter), to output 0 otherwise. Checksums are
/// kept valid (recomputed after options or the source changed,
/// incrementally for the TTL).
///
/// A packet whose IP header is not marked (or has fewer than 20 bytes) is
/// dropped ("no IP header"). Where a packet's copy and the packet itself
/// meet again downstream, the copies of a batch arrive before the
/// packets (Click sends each copy just before its packet).
///
/// * Ports: 1 push input, 5 push outputs.
#[derive(Debug)]
pub struct IPOutputCombo {
    color: u8,
    ip: [u8; 4],
    mtu: usize,
}

impl ElementClass for IPOutputCombo {
    const CLASS: &'static str = "IPOutputCombo";
    const PORT_COUNT: &'static str = "1/5";
    const PROCESSING: &'static str = PUSH;
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let color: u8 = args.read_mp("COLOR")?;
        let ip: Ipv4Addr = args.read_mp("IPADDR")?;
        let mtu: u32 = args.read_mp("MTU")?;
        Ok(IPOutputCombo {
            color,
            ip: ip.octets(),
            mtu: mtu as usize,
        })
    }
}

/// A batch verdict meaning "drop".
const DROP: u16 = u16::MAX;

impl IPOutputCombo {
    /// One packet's output, its copy for output 1 put in `copies`.
    #[inline(always)]
    fn one(&self, p: &mut Packet, copies: &mut Batch, ctx: &mut Ctx<'_>) -> u16 {
        if link_broadcast(p) {
            return DROP;
        }
        if p.anno().paint() == self.color {
            match p.try_clone() {
                Some(c) => copies.push(c),
                None => ctx.count_drops_for(1, "pool exhausted"),
            }
        }
        let Some(off) = ip_at(p, 20) else {
            ctx.count_drops_for(1, "no IP header");
            return DROP - 1;
        };
        let hl = usize::from(p.data()[off] & 0x0f) * 4;
        let mut changed = false;
        if hl > 20 {
            let hlen = p.network_header_length().unwrap_or(0).min(60);
            let (mut buf, n) = header_copy(p, off, hlen);
            let ms = ms_since_midnight(ctx.timestamp());
            let me = self.ip;
            let outcome = process_options(&mut buf, hlen.min(n), me, ms, |a| a == me);
            if !matches!(outcome, Options::Untouched) {
                let Ok(d) = p.data_mut() else {
                    ctx.count_drops_for(1, "pool exhausted");
                    return DROP - 1;
                };
                d[off..off + n].copy_from_slice(&buf[..n]);
            }
            match outcome {
                Options::Bad(at) => {
                    p.anno_mut().set_icmp_paramprob(at);
                    return 2;
                }
                Options::Changed => changed = true,
                Options::Untouched => {}
            }
        }
        let fix = p.anno().fix_ip_src() != 0;
        let ttl_ok = p.data()[off + 8] > 1;
        if fix || changed || ttl_ok {
            let Ok(d) = p.data_mut() else {
                ctx.count_drops_for(1, "pool exhausted");
                return DROP - 1;
            };
            let h = &mut d[off..];
            if fix {
                h[12..16].copy_from_slice(&self.ip);
            }
            if fix || changed {
                let hl = hl.min(h.len());
                put16(h, 10, 0);
                let sum = cksum(&h[..hl]);
                put16(h, 10, sum);
            }
            if ttl_ok {
                h[8] -= 1;
                let sum = cksum_after_ttl_decrement(be16(h, 10));
                put16(h, 10, sum);
            }
            if fix {
                p.anno_mut().set_fix_ip_src(0);
            }
        }
        if !ttl_ok {
            3
        } else if p.len() > self.mtu {
            4
        } else {
            0
        }
    }
}

impl Element for IPOutputCombo {
    fn push(&mut self, _port: Port, mut batch: Batch, ctx: &mut Ctx<'_>) {
        let mut v = [0u16; BATCH_CAPACITY];
        let mut copies = Batch::new();
        let mut all0 = true;
        for (p, slot) in batch.iter_mut().zip(v.iter_mut()) {
            *slot = self.one(p, &mut copies, ctx);
            all0 &= *slot == 0;
        }
        if !copies.is_empty() {
            ctx.push(1, copies);
        }
        if all0 {
            ctx.push(0, batch);
            return;
        }
        // packets dropped for a stated reason were counted already: out
        // of the batch with them
        if v[..batch.len()].contains(&(DROP - 1)) {
            let (mut i, mut k) = (0, 0);
            batch.retain(|_| {
                let keep = v[i] != DROP - 1;
                if keep {
                    v[k] = v[i];
                    k += 1;
                }
                i += 1;
                keep
            });
        }
        let n = batch.len();
        ctx.push_by_verdict(batch, &v[..n], DROP);
    }
}
