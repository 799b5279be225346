//! IPReassembler: reassembles fragmented IP packets.

use std::fmt::Write as _;

use click_engine::args::{AnnoArg, Args};
use click_engine::packet::Batch;
use click_engine::{ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, Packet, Port};

use super::hdr::{be16, cksum, copy_annotations, ip_at, put16, IP_MF, IP_OFFMASK};

/// Seconds a datagram may wait for its missing fragments.
const REAP_TIMEOUT: i64 = 30;
/// Seconds between two looks for datagrams that waited too long.
const REAP_INTERVAL: i64 = 10;
/// What a datagram costs beyond its data, in the memory accounting.
const IPH_MEM_USED: u32 = 40;
/// Hash buckets (Click's, by the first byte of the IP ID).
const NMAP: usize = 256;
/// Disjoint pieces one datagram may be in while it waits: more than the
/// worst real traffic makes (fragments of a 64 KB datagram arriving in the
/// worst order make about 60), few enough to keep inline.
const MAX_CHUNKS: usize = 64;
/// The end of a bucket's list.
const NONE: u32 = u32::MAX;
/// The IPREASSEMBLER annotation (`EXTRA_LENGTH`'s bytes), zeroed on
/// reassembled packets as Click does.
const CHUNK_ANNO: usize = 28;

/// One datagram being reassembled.
struct Entry {
    /// The datagram so far: whatever preceded the first fragment's IP
    /// header, an IP header, then `tlen` bytes of data at their offsets.
    q: Packet,
    /// Where its data starts (the bytes before it are the headers).
    tlen: usize,
    /// The received ranges of data, sorted and disjoint (Click's chunk
    /// list: the last one ends at `tlen`, perhaps empty).
    chunks: [(u16, u16); MAX_CHUNKS],
    nchunks: usize,
    /// Source, destination, ID and protocol: what makes fragments one
    /// datagram's.
    key: [u8; 11],
    next: u32,
}

/// `IPReassembler([*keywords* HIMEM, MAX_MTU_ANNO])`: reassembles IP
/// fragments (RFC 815) into whole datagrams. Packets that are not
/// fragments (their IP header annotation set, as CheckIPHeader sets it)
/// pass to output 0 untouched. A fragment is held until the datagram it
/// belongs to (the same source, destination, protocol and ID) is complete;
/// the datagram then leaves on output 0 with the IP header, MAC header and
/// annotations of its first fragment (the timestamp of its last), its
/// length and checksum set, and the IPREASSEMBLER annotation (bytes 28 to
/// 31) zeroed. Where fragments overlap, the later one's bytes win.
///
/// Datagrams are timed by the packets' timestamp annotations, as Click
/// times them (a fragment without one gets the router's time): every 10
/// seconds of fragment time, datagrams whose newest fragment is over 30
/// seconds older than the fragment arriving are given up. A datagram
/// started by a fragment other than its first has no timestamp until its
/// first fragment comes, so it is given up at the next look, as in Click.
///
/// Memory is bounded: each waiting datagram costs 40 bytes plus its data
/// so far, and when the total passes HIMEM bytes (default 262144; MAX_MEM
/// is another name for it) datagrams are given up, those waiting over 10
/// seconds first, then over 5, then any, until it is under three quarters
/// of HIMEM. A flood of fragments holds at most about HIMEM bytes of
/// datagrams and a packet buffer each. Given-up datagrams leave on output
/// 1 if there is one (a packet with every fragment received so far at its
/// place, for an `ICMPError(ADDR, timeexceeded, reassembly)`), and are
/// dropped otherwise. Fragments with impossible lengths (past 65535, no
/// data, a middle fragment whose data is not a multiple of 8, fewer bytes
/// than the header says) are dropped, counted as bad; so are fragments of
/// a datagram already complete in length, and a fragment that would split
/// a datagram into more than 64 pieces.
///
/// MAX_MTU_ANNO names a 2-byte annotation that, on reassembled packets,
/// holds the largest fragment's length from its IP header on.
///
/// * Ports: 1 input, 1 or 2 outputs (`a/ah`).
/// * Handlers: `dump` (read): the counts (fragments seen, good and failed
///   reassemblies, bad fragments) and the datagrams waiting, with their
///   received ranges, as Click's; `mem_used` (read): the bytes counted
///   against HIMEM; `drops` (read): fragments dropped as bad.
pub struct IPReassembler {
    mem_high: u32,
    mem_low: u32,
    mtu_anno: Option<usize>,
    mem_used: u32,
    reap_time: i64,
    heads: [u32; NMAP],
    entries: Vec<Option<Entry>>,
    free: Vec<u32>,
    frags_seen: u64,
    good: u64,
    failed: u64,
    bad: u64,
}

impl std::fmt::Debug for IPReassembler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IPReassembler")
            .field("mem_used", &self.mem_used)
            .field("mem_high", &self.mem_high)
            .finish()
    }
}

impl ElementClass for IPReassembler {
    const CLASS: &'static str = "IPReassembler";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let himem: Option<u32> = args.read("HIMEM")?;
        let max_mem: Option<u32> = args.read("MAX_MEM")?;
        let mtu_anno = args.read::<AnnoArg<2>>("MAX_MTU_ANNO")?.map(|a| a.offset);
        let high = himem.or(max_mem).unwrap_or(256 * 1024);
        Ok(IPReassembler {
            mem_high: high,
            mem_low: (high >> 2) * 3,
            mtu_anno,
            mem_used: 0,
            reap_time: 0,
            heads: [NONE; NMAP],
            entries: Vec::new(),
            free: Vec::new(),
            frags_seen: 0,
            good: 0,
            failed: 0,
            bad: 0,
        })
    }
}

/// Seconds of a packet's timestamp.
fn secs(p: &Packet) -> i64 {
    (p.anno().timestamp().as_nanos() / 1_000_000_000) as i64
}

/// Where packets go while a batch is processed: output 0 gathered into
/// a batch, output 1 pushed at once (after what output 0 had so far, so
/// that order is kept where they meet).
struct Out<'a> {
    zero: &'a mut Batch,
}

impl Out<'_> {
    fn to0(&mut self, p: Packet, ctx: &mut Ctx<'_>, pulled: bool) {
        if let Err(p) = self.zero.try_push(p) {
            if pulled {
                // a pull returns one batch; the rest cannot wait: this
                // happens only if a reap pushed out of a full batch
                ctx.count_drops_for(1, "pulled batch full");
                drop(p);
                return;
            }
            ctx.push(0, std::mem::take(self.zero));
            self.zero.push(p);
        }
    }

    fn to1(&mut self, p: Packet, ctx: &mut Ctx<'_>, pulled: bool) {
        if !pulled && !self.zero.is_empty() {
            ctx.push(0, std::mem::take(self.zero));
        }
        let mut b = Batch::new();
        b.push(p);
        ctx.push(1, b);
    }
}

impl IPReassembler {
    fn entry(&self, i: u32) -> &Entry {
        self.entries[i as usize]
            .as_ref()
            .expect("linked entries exist")
    }

    fn entry_mut(&mut self, i: u32) -> &mut Entry {
        self.entries[i as usize]
            .as_mut()
            .expect("linked entries exist")
    }

    /// Takes entry `i` out of its slot (the caller has unlinked it).
    fn release(&mut self, i: u32) -> Entry {
        self.free.push(i);
        self.entries[i as usize]
            .take()
            .expect("linked entries exist")
    }

    /// Gives up a datagram: its packet, with what arrived, to output 1.
    fn give_up(&mut self, i: u32, out: &mut Out<'_>, ctx: &mut Ctx<'_>, pulled: bool) {
        let mut e = self.release(i);
        self.mem_used -= IPH_MEM_USED + e.tlen as u32;
        let (off, last) = e.chunks[0];
        let mut a = [0u8; 4];
        a[..2].copy_from_slice(&off.to_ne_bytes());
        a[2..].copy_from_slice(&last.to_ne_bytes());
        if let Ok(b) = e.q.anno_mut().bytes_mut(CHUNK_ANNO, 4) {
            b.copy_from_slice(&a);
        }
        out.to1(e.q, ctx, pulled);
    }

    /// Gives up the datagrams of one bucket for which `old(entry)`.
    fn reap_bucket(
        &mut self,
        b: usize,
        old: impl Fn(&Entry) -> bool,
        out: &mut Out<'_>,
        ctx: &mut Ctx<'_>,
        pulled: bool,
        mut each: impl FnMut(&mut Self) -> bool,
    ) -> bool {
        let mut prev = NONE;
        let mut i = self.heads[b];
        while i != NONE {
            let next = self.entry(i).next;
            if old(self.entry(i)) {
                if prev == NONE {
                    self.heads[b] = next;
                } else {
                    self.entry_mut(prev).next = next;
                }
                self.give_up(i, out, ctx, pulled);
                if each(self) {
                    return true;
                }
            } else {
                prev = i;
            }
            i = next;
        }
        false
    }

    /// Every REAP_INTERVAL: gives up datagrams idle over REAP_TIMEOUT.
    fn reap(&mut self, now: i64, out: &mut Out<'_>, ctx: &mut Ctx<'_>, pulled: bool) {
        let kill = now - REAP_TIMEOUT;
        for b in 0..NMAP {
            self.reap_bucket(b, |e| secs(&e.q) < kill, out, ctx, pulled, |_| false);
        }
        self.reap_time = now + REAP_INTERVAL;
    }

    /// Over HIMEM: gives up old datagrams until under three quarters.
    fn reap_overfull(&mut self, now: i64, out: &mut Out<'_>, ctx: &mut Ctx<'_>, pulled: bool) {
        for delta in [10i64, 5, 0] {
            for b in 0..NMAP {
                let done = self.reap_bucket(
                    b,
                    |e| delta == 0 || secs(&e.q) < now - delta,
                    out,
                    ctx,
                    pulled,
                    |s| {
                        s.failed += 1;
                        s.mem_used <= s.mem_low
                    },
                );
                if done {
                    return;
                }
            }
        }
        eprintln!("IPReassembler: cannot free enough memory!");
    }

    /// A fragment `p` (IP header at `off`), not yet known bad.
    fn fragment(
        &mut self,
        mut p: Packet,
        off: usize,
        out: &mut Out<'_>,
        ctx: &mut Ctx<'_>,
        pulled: bool,
    ) {
        self.frags_seen += 1;
        let mut now = secs(&p);
        if now == 0 {
            p.anno_mut().set_timestamp(ctx.timestamp());
            now = secs(&p);
        }
        if now >= self.reap_time {
            self.reap(now, out, ctx, pulled);
        }
        let (ip_off, hlen, ip_len, key) = {
            let ip = &p.data()[off..];
            let mut key = [0u8; 11];
            key[..8].copy_from_slice(&ip[12..20]);
            key[8..10].copy_from_slice(&ip[4..6]);
            key[10] = ip[9];
            (be16(ip, 6), usize::from(ip[0] & 0x0f) * 4, be16(ip, 2), key)
        };
        let p_off = usize::from(ip_off & IP_OFFMASK) << 3;
        let p_last = p_off as isize + ip_len as isize - hlen as isize;
        let th = match p.transport_header_offset() {
            Some(t) if t >= (off + 20) as isize => t as usize,
            _ => off + hlen,
        };
        let dlen = p.len() as isize - th as isize;
        let mf = ip_off & IP_MF != 0;
        if p_last > 0xffff
            || p_last <= p_off as isize
            || (p_last & 7 != 0 && mf)
            || dlen < p_last - p_off as isize
        {
            self.bad += 1;
            ctx.count_drops(1);
            return;
        }
        let p_last = p_last as usize;
        let _ = p.take(dlen as usize - (p_last - p_off));
        // Click's bucket: the ID as a little-endian machine loads it
        let bucket = usize::from(key[8]);

        if self.mem_used > self.mem_high {
            self.reap_overfull(now, out, ctx, pulled);
        }

        // its datagram
        let mut prev = NONE;
        let mut i = self.heads[bucket];
        while i != NONE && self.entry(i).key != key {
            prev = i;
            i = self.entry(i).next;
        }
        if i == NONE {
            self.make_queue(p, off, th, p_off, p_last, key, bucket, ctx);
            return;
        }
        let e = self.entries[i as usize]
            .as_mut()
            .expect("linked entries exist");
        let nl = p.len() - off;
        if let Some(a) = self.mtu_anno {
            if e.q.anno().u16(a).is_some_and(|m| usize::from(m) < nl) {
                let _ = e.q.anno_mut().set_u16(a, nl as u16);
            }
        }
        let q_nh = e.q.len() - e.tlen;
        let q_ipoff = e.q.network_header_offset().unwrap_or(0).max(0) as usize;
        if p_last > e.tlen {
            // a datagram complete in length takes no more
            if be16(&e.q.data()[q_ipoff..], 6) & IP_MF == 0 {
                ctx.count_drops(1);
                return;
            }
            if e.nchunks == MAX_CHUNKS {
                self.bad += 1;
                ctx.count_drops(1);
                return;
            }
            let grow = p_last - e.tlen;
            if e.q.put(grow).is_err() {
                // give the datagram up as Click does when memory is out
                let next = e.next;
                if prev == NONE {
                    self.heads[bucket] = next;
                } else {
                    self.entry_mut(prev).next = next;
                }
                let e = self.release(i);
                self.mem_used -= IPH_MEM_USED + e.tlen as u32;
                ctx.count_drops_for(2, "pool exhausted");
                return;
            }
            e.chunks[e.nchunks] = (p_last as u16, p_last as u16);
            e.nchunks += 1;
            self.mem_used += grow as u32;
            e.tlen = p_last;
        }
        if !patch_chunks(e, p_off, p_last) {
            self.bad += 1;
            ctx.count_drops(1);
            return;
        }
        // the data
        let (pd, pstart) = (p.data(), th);
        let Ok(qd) = e.q.data_mut() else {
            return;
        };
        qd[q_nh + p_off..q_nh + p_last].copy_from_slice(&pd[pstart..pstart + p_last - p_off]);

        if p_off == 0 {
            first_fragment_headers(e, &p, off, th, self.mtu_anno);
        }
        let q_ipoff = e.q.network_header_offset().unwrap_or(0).max(0) as usize;
        if !mf {
            if let Ok(qd) = e.q.data_mut() {
                let o = be16(&qd[q_ipoff..], 6) & !IP_MF;
                put16(&mut qd[q_ipoff..], 6, o);
            }
        }
        let done =
            be16(&e.q.data()[q_ipoff..], 6) & IP_MF == 0 && e.chunks[0] == (0, e.tlen as u16);
        if !done {
            return;
        }
        // whole: out it goes
        self.good += 1;
        let next = e.next;
        if prev == NONE {
            self.heads[bucket] = next;
        } else {
            self.entry_mut(prev).next = next;
        }
        let mut e = self.release(i);
        self.mem_used -= IPH_MEM_USED + e.tlen as u32;
        let q = &mut e.q;
        let nl = q.len() - q_ipoff;
        if let Ok(qd) = q.data_mut() {
            let h = &mut qd[q_ipoff..];
            put16(h, 2, nl as u16);
            put16(h, 10, 0);
            let hl = (usize::from(h[0] & 0x0f) * 4).min(h.len());
            let sum = cksum(&h[..hl]);
            put16(h, 10, sum);
        }
        if let Ok(b) = q.anno_mut().bytes_mut(CHUNK_ANNO, 4) {
            b.fill(0);
        }
        q.anno_mut().set_timestamp(p.anno().timestamp());
        out.to0(e.q, ctx, pulled);
    }

    /// Starts a datagram with fragment `p`.
    #[allow(clippy::too_many_arguments)]
    fn make_queue(
        &mut self,
        mut p: Packet,
        off: usize,
        th: usize,
        p_off: usize,
        p_last: usize,
        key: [u8; 11],
        bucket: usize,
        ctx: &mut Ctx<'_>,
    ) {
        let q = if p_off == 0 {
            if p.make_unique().is_err() {
                ctx.count_drops_for(1, "pool exhausted");
                return;
            }
            p
        } else {
            // a packet of 20 + p_last bytes, the IP header copied, the data
            // at its offset (annotations fresh, as Click's Packet::make)
            let headroom = p.headroom() + off;
            let Ok(mut q) = Packet::with_headroom(headroom, 20 + p_last) else {
                ctx.count_drops_for(1, "pool exhausted");
                return;
            };
            if let Ok(d) = q.data_mut() {
                d[..20].copy_from_slice(&p.data()[off..off + 20]);
                d[20 + p_off..].copy_from_slice(&p.data()[th..th + p_last - p_off]);
            }
            let _ = q.set_network_header(0, 20);
            q
        };
        let mut q = q;
        let ipoff = q.network_header_offset().unwrap_or(0).max(0) as usize;
        if let Ok(d) = q.data_mut() {
            let o = be16(&d[ipoff..], 6) & !IP_OFFMASK;
            put16(&mut d[ipoff..], 6, o);
        }
        if let Some(a) = self.mtu_anno {
            let nl = (q.len() - ipoff) as u16;
            let _ = q.anno_mut().set_u16(a, nl);
        }
        self.mem_used += IPH_MEM_USED + p_last as u32;
        let mut chunks = [(0u16, 0u16); MAX_CHUNKS];
        chunks[0] = (p_off as u16, p_last as u16);
        let e = Entry {
            q,
            tlen: p_last,
            chunks,
            nchunks: 1,
            key,
            next: self.heads[bucket],
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.entries[i as usize] = Some(e);
                i
            }
            None => {
                self.entries.push(Some(e));
                (self.entries.len() - 1) as u32
            }
        };
        self.heads[bucket] = i;
    }

    fn process(&mut self, p: Packet, out: &mut Out<'_>, ctx: &mut Ctx<'_>, pulled: bool) {
        let Some(off) = ip_at(&p, 20) else {
            ctx.count_drops_for(1, "no IP header");
            return;
        };
        if be16(&p.data()[off..], 6) & (IP_MF | IP_OFFMASK) == 0 {
            out.to0(p, ctx, pulled);
            return;
        }
        self.fragment(p, off, out, ctx, pulled);
    }

    fn dump(&self) -> String {
        let mut s = format!(
            "frags seen total:    {}\ngood reassemblies:   {}\nfailed reassemblies: {}\nbad fragments seen:  {}\ncached chunk data:\n",
            self.frags_seen, self.good, self.failed, self.bad
        );
        for b in 0..NMAP {
            let mut i = self.heads[b];
            while i != NONE {
                let e = self.entry(i);
                let k = &e.key;
                let data = &e.q.data()[e.q.len() - e.tlen..];
                let _ = write!(
                    s,
                    " ({}.{}.{}.{}, {}, {}.{}.{}.{}, {}) {}",
                    k[0],
                    k[1],
                    k[2],
                    k[3],
                    be16(data, 0),
                    k[4],
                    k[5],
                    k[6],
                    k[7],
                    be16(data, 2),
                    u16::from_be_bytes([k[8], k[9]])
                );
                for &(o, l) in &e.chunks[..e.nchunks] {
                    if l <= o {
                        break;
                    }
                    let _ = write!(s, " ({o},{l})");
                }
                s.push('\n');
                i = e.next;
            }
        }
        s
    }

    fn run(&mut self, batch: Batch, ctx: &mut Ctx<'_>, pulled: bool) -> Batch {
        let mut zero = Batch::new();
        let mut out = Out { zero: &mut zero };
        for p in batch {
            self.process(p, &mut out, ctx, pulled);
        }
        zero
    }
}

/// Merges the range `[p_off, p_last)` into the datagram's chunks as
/// Click's chunk list does (adjacent ranges join); false if that would
/// make more pieces than it can hold.
fn patch_chunks(e: &mut Entry, p_off: usize, p_last: usize) -> bool {
    let (p_off, p_last) = (p_off as u16, p_last as u16);
    let n = e.nchunks;
    let c = &mut e.chunks;
    // the first chunk ending at or after p_off, and the first ending at or
    // after p_last; the last chunk ends at tlen >= p_last
    let Some(i) = (0..n).find(|&k| c[k].1 >= p_off) else {
        return false;
    };
    let Some(j) = (i..n).find(|&k| c[k].1 >= p_last) else {
        return false;
    };
    if p_last < c[j].0 {
        // [c_i.off, p_last) then c_j and what follows
        if j == i {
            if n == MAX_CHUNKS {
                return false;
            }
            c.copy_within(i..n, i + 1);
            c[i].1 = p_last;
            e.nchunks = n + 1;
        } else {
            c[i].1 = p_last;
            c.copy_within(j..n, i + 1);
            e.nchunks = n - (j - i - 1);
        }
    } else {
        c[i].1 = c[j].1;
        c.copy_within(j + 1..n, i + 1);
        e.nchunks = n - (j - i);
    }
    if p_off < c[i].0 {
        c[i].0 = p_off;
    }
    true
}

/// The first fragment `p` (IP header at `off`, data at `th`) arrived for
/// a datagram: it takes that fragment's link and IP headers (its own
/// fragment field kept) and annotations (its MTU annotation kept).
fn first_fragment_headers(
    e: &mut Entry,
    p: &Packet,
    off: usize,
    th: usize,
    mtu_anno: Option<usize>,
) {
    let q = &mut e.q;
    let q_ipoff = q.network_header_offset().unwrap_or(0).max(0) as usize;
    let old_ip_off = be16(&q.data()[q_ipoff..], 6);
    let front = q.len() - e.tlen;
    if th > front {
        if q.push(th - front).is_err() {
            return;
        }
    } else {
        let _ = q.pull(front - th);
    }
    if let Ok(d) = q.data_mut() {
        d[..th].copy_from_slice(&p.data()[..th]);
        put16(&mut d[off..], 6, old_ip_off);
    }
    let _ = q.set_network_header(off, th - off);
    if let Some(m) = p.mac_header_offset() {
        if m >= 0 {
            let _ = q.set_mac_header(m as usize);
        }
    }
    let old_mtu = mtu_anno.and_then(|a| q.anno().u16(a));
    copy_annotations(p, q);
    if let (Some(a), Some(m)) = (mtu_anno, old_mtu) {
        let _ = q.anno_mut().set_u16(a, m);
    }
}

impl Element for IPReassembler {
    fn push(&mut self, _port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        let zero = self.run(batch, ctx, false);
        if !zero.is_empty() {
            ctx.push(0, zero);
        }
    }

    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let batch = ctx.pull(0, max)?;
        let zero = self.run(batch, ctx, true);
        (!zero.is_empty()).then_some(zero)
    }

    fn initialize(&mut self, _ctx: &mut InitCtx<'_>) -> Result<(), String> {
        // every datagram costs at least 48 bytes of the budget
        let most = (self.mem_high / (IPH_MEM_USED + 8)) as usize + 2;
        self.entries.reserve(most.min(1 << 16));
        self.free.reserve(most.min(1 << 16));
        Ok(())
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("dump"),
            Handler::read("mem_used"),
            Handler::read("drops"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        match name {
            "dump" => Some(self.dump()),
            "mem_used" => Some(self.mem_used.to_string()),
            "drops" => Some(self.bad.to_string()),
            _ => None,
        }
    }

    fn cleanup(&mut self) {
        self.entries.clear();
        self.heads = [NONE; NMAP];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(chunks: &[(u16, u16)], tlen: usize) -> Entry {
        let mut c = [(0, 0); MAX_CHUNKS];
        c[..chunks.len()].copy_from_slice(chunks);
        Entry {
            q: Packet::from_slice(&[0; 4]).unwrap(),
            tlen,
            chunks: c,
            nchunks: chunks.len(),
            key: [0; 11],
            next: NONE,
        }
    }

    #[test]
    fn chunks_merge_as_clicks() {
        let mut e = entry(&[(16, 24)], 24);
        assert!(patch_chunks(&mut e, 0, 8));
        assert_eq!(&e.chunks[..e.nchunks], &[(0, 8), (16, 24)]);
        assert!(patch_chunks(&mut e, 8, 16));
        assert_eq!(&e.chunks[..e.nchunks], &[(0, 24)]);
        let mut e = entry(&[(0, 8), (16, 24), (32, 40), (48, 48)], 48);
        assert!(patch_chunks(&mut e, 4, 36));
        assert_eq!(&e.chunks[..e.nchunks], &[(0, 40), (48, 48)]);
        assert!(patch_chunks(&mut e, 40, 48));
        assert_eq!(&e.chunks[..e.nchunks], &[(0, 48)]);
    }
}
