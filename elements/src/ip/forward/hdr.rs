//! What the forwarding, ICMP and UDP/TCP elements share: Click's
//! checksum arithmetic (full and incremental), where a packet's IP header
//! is, IP option walks, annotations copied as Click copies them, and the
//! per-element counters.
//!
//! Headers are read and written as raw bytes at Click's offsets rather
//! than through a checked view (smoltcp's `wire`): Click's elements act on
//! the fields of whatever header they are given (DecIPTTL decrements the
//! TTL of a header whose length field is wrong), and a view that refused
//! such a header would change what they do. Every access here is bounded
//! by the packet's data instead, so no content makes one panic.

use std::sync::Arc;

use click_engine::{CounterSlot, InitCtx, Packet, SharedCounters};

use crate::ip::common::{fold, ones_sum};

/// IP protocol numbers.
pub(crate) const IP_PROTO_ICMP: u8 = 1;
pub(crate) const IP_PROTO_TCP: u8 = 6;
pub(crate) const IP_PROTO_UDP: u8 = 17;

/// Fragment bits of the (host-order) `ip_off` field.
pub(crate) const IP_DF: u16 = 0x4000;
pub(crate) const IP_MF: u16 = 0x2000;
pub(crate) const IP_OFFMASK: u16 = 0x1fff;

/// IP options.
pub(crate) const IPOPT_EOL: u8 = 0;
pub(crate) const IPOPT_NOP: u8 = 1;
pub(crate) const IPOPT_RR: u8 = 7;
pub(crate) const IPOPT_TS: u8 = 68;
pub(crate) const IPOPT_LSRR: u8 = 131;
pub(crate) const IPOPT_SSRR: u8 = 137;

/// The big-endian 16-bit word at `i` (0 past the end of `d`).
#[inline(always)]
pub(crate) fn be16(d: &[u8], i: usize) -> u16 {
    match d.get(i..i + 2) {
        Some(w) => u16::from_be_bytes([w[0], w[1]]),
        None => 0,
    }
}

/// Writes `v` as a big-endian word at `i` (nothing past the end of `d`).
#[inline(always)]
pub(crate) fn put16(d: &mut [u8], i: usize, v: u16) {
    if let Some(w) = d.get_mut(i..i + 2) {
        w.copy_from_slice(&v.to_be_bytes());
    }
}

/// The Internet checksum of `data` (Click's `click_in_cksum`).
#[inline]
pub(crate) fn cksum(data: &[u8]) -> u16 {
    !fold(ones_sum(data, 0))
}

/// Click's `click_update_in_cksum` (RFC 1624, eqn. 3): the checksum
/// `sum` after one 16-bit word it covers changes from `old` to `new`.
/// Computed on big-endian values; the ones'-complement sum gives the same
/// bytes in either byte order.
#[inline(always)]
pub(crate) fn update_cksum(sum: u16, old: u16, new: u16) -> u16 {
    let s = u32::from(!sum) + u32::from(!old) + u32::from(new);
    let s = (s & 0xffff) + (s >> 16);
    !((s + (s >> 16)) as u16)
}

/// DecIPTTL's checksum update for a TTL one lower (RFC 1141 as Click does
/// it: `~(~sum + 0xFEFF)`).
#[inline(always)]
pub(crate) fn cksum_after_ttl_decrement(sum: u16) -> u16 {
    let s = u32::from(!sum) + 0xfeff;
    !((s + (s >> 16)) as u16)
}

/// The checksum of a UDP or TCP segment `seg` (its checksum field as it
/// is) with the pseudo-header of the IP header `ip` and length `len`:
/// Click's `click_in_cksum` of the segment then
/// `click_in_cksum_pseudohdr`, whose destination is the last hop of a
/// source route option when the header has one.
pub(crate) fn transport_cksum(ip: &[u8], seg: &[u8], len: usize) -> u16 {
    let dst = source_route_final_hop(ip).unwrap_or_else(|| quad(ip, 16));
    let mut s = ones_sum(seg, 0);
    s += ones_sum(&quad(ip, 12), 0) + ones_sum(&dst, 0);
    s += u64::from(len as u16) + u64::from(ip.get(9).copied().unwrap_or(0));
    !fold(s)
}

/// The four bytes at `i` of `d` (zeros past its end).
#[inline]
pub(crate) fn quad(d: &[u8], i: usize) -> [u8; 4] {
    let mut q = [0; 4];
    if let Some(s) = d.get(i..i + 4) {
        q.copy_from_slice(s);
    }
    q
}

/// The final destination of a loose or strict source route option in the
/// IP header `ip` (its last address), as Click's pseudo-header sum takes
/// it; `None` for a header without one.
fn source_route_final_hop(ip: &[u8]) -> Option<[u8; 4]> {
    let hlen = usize::from(ip.first()? & 0x0f) * 4;
    if hlen <= 20 {
        return None;
    }
    let opts = ip.get(20..hlen.min(ip.len()))?;
    let mut at = None;
    walk_options(opts, |o, ty, len| {
        if (ty == IPOPT_SSRR || ty == IPOPT_LSRR) && len >= 7 {
            at = Some(o + len - 4);
            return false;
        }
        true
    });
    at.map(|a| quad(opts, a))
}

/// Walks the options `opts` (the bytes after a 20-byte header) as Click's
/// elements do: NOPs skipped, EOL ends, a truncated or impossible length
/// ends the walk. `f(offset, type, length)` sees each multi-byte option
/// and returns whether to go on.
pub(crate) fn walk_options(opts: &[u8], mut f: impl FnMut(usize, u8, usize) -> bool) {
    let mut o = 0;
    while o < opts.len() {
        let ty = opts[o];
        if ty == IPOPT_NOP {
            o += 1;
            continue;
        }
        if ty == IPOPT_EOL || o + 1 >= opts.len() {
            return;
        }
        let len = usize::from(opts[o + 1]);
        if len < 2 || o + len > opts.len() || !f(o, ty, len) {
            return;
        }
        o += len;
    }
}

/// Where `p`'s IP header starts in its data, if it is marked there with
/// at least `min` bytes from it to the end of the data. A header marked
/// before the data (after a `pull` past it) is not used.
#[inline(always)]
pub(crate) fn ip_at(p: &Packet, min: usize) -> Option<usize> {
    let off = usize::try_from(p.network_header_offset()?).ok()?;
    (p.len() >= off.checked_add(min)?).then_some(off)
}

/// Copies the annotations Click's `copy_annotations` copies (the
/// annotation area, timestamp and packet type; not the header marks) from
/// `from` to `to`.
pub(crate) fn copy_annotations(from: &Packet, to: &mut Packet) {
    let (area, ts, ty) = {
        let a = from.anno();
        (*a.area(), a.timestamp(), a.packet_type())
    };
    let a = to.anno_mut();
    *a.area_mut() = area;
    a.set_timestamp(ts);
    a.set_packet_type(ty);
}

/// A port of IP protocol `protocol` (TCP or UDP): a number, a name a
/// PortInfo in scope defines, or one of Click's well-known port names
/// (`www`, `ssh`, ... the table IPFilter knows), in that order.
pub(crate) fn parse_port(
    text: &str,
    what: &str,
    protocol: u8,
    names: &dyn click_engine::args::ArgContext,
) -> Result<u16, String> {
    let t = text.trim();
    if let Ok(n) = click_engine::args::Args::new(t).read_mp::<u16>(what) {
        return Ok(n);
    }
    names
        .port(protocol, t)
        .or_else(|| {
            crate::ip::ipfilter::names::find(crate::ip::ipfilter::names::PORTS, t).map(|p| p as u16)
        })
        .ok_or_else(|| format!("{what}: expected port number"))
}

/// An ICMP type: a number or one of Click's names (`unreachable`,
/// `echo`, ...).
pub(crate) fn parse_icmp_type(text: &str) -> Result<u8, String> {
    let t = text.trim();
    if let Ok(n) = click_engine::args::Args::new(t).read_mp::<u8>("TYPE") {
        return Ok(n);
    }
    (0..=255u8)
        .find(|&ty| crate::ip::icmp_type_name(ty) == Some(t))
        .ok_or_else(|| "TYPE: expected ICMP type".to_string())
}

/// An ICMP code of `ty`: a number or one of Click's names for the type's
/// codes (`port`, `needfrag`, `transit`, ...).
pub(crate) fn parse_icmp_code(ty: u8, text: &str) -> Option<u8> {
    let t = text.trim();
    if let Ok(n) = click_engine::args::Args::new(t).read_mp::<u8>("CODE") {
        return Some(n);
    }
    (0..=255u8).find(|&c| crate::ip::icmp_code_name(ty, c) == Some(t))
}

/// An element's IP ID counter (Click's `atomic_uint32_t _id`): one
/// sequence, whichever thread sends; a plain count while the element has
/// one instance, an atomic one shared by its instances otherwise.
#[derive(Debug)]
pub(crate) struct IdCounter {
    next: u16,
    shared: Option<Arc<std::sync::atomic::AtomicU16>>,
}

impl IdCounter {
    /// A sequence starting at `first`.
    pub(crate) fn new(first: u16) -> Self {
        IdCounter {
            next: first,
            shared: None,
        }
    }

    /// Shares the sequence with the element's other instances.
    pub(crate) fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        if ctx.instance().1 > 1 {
            let first = self.next;
            self.shared = Some(ctx.shared_state(|| std::sync::atomic::AtomicU16::new(first))?);
        }
        Ok(())
    }

    /// The next ID.
    #[inline(always)]
    pub(crate) fn next(&mut self) -> u16 {
        match &self.shared {
            None => {
                let id = self.next;
                self.next = id.wrapping_add(1);
                id
            }
            Some(a) => a.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// `N` counters of an element whose instances on several threads add to
/// one sum (see [`SharedCounters`]).
pub(crate) struct Counts<const N: usize>(CounterSlot<N>);

impl<const N: usize> Counts<N> {
    /// Counters of a lone instance, until [`Counts::initialize`].
    pub(crate) fn new() -> Self {
        Counts(CounterSlot::new(Arc::new(SharedCounters::new(1)), 0))
    }

    /// Joins the counters the element's other instances share.
    pub(crate) fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let (instance, instances) = ctx.instance();
        let shared = ctx.shared_state(|| SharedCounters::<N>::new(instances))?;
        self.0 = CounterSlot::new(shared, instance);
        Ok(())
    }

    #[inline(always)]
    pub(crate) fn add(&self, i: usize, n: u64) {
        self.0.add(i, n);
    }

    /// Counter `i` over every instance.
    pub(crate) fn sum(&self, i: usize) -> u64 {
        self.0.counters().sum(i)
    }
}

impl<const N: usize> std::fmt::Debug for Counts<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries((0..N).map(|i| self.sum(i))).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Click's little-endian arithmetic, word by word as it loads them.
    fn click_update_le(sum: u16, old: u16, new: u16) -> u16 {
        let (sum, old, new) = (sum.swap_bytes(), old.swap_bytes(), new.swap_bytes());
        let s = (!u32::from(sum) & 0xffff) + (!u32::from(old) & 0xffff) + u32::from(new);
        let s = (s & 0xffff) + (s >> 16);
        (!((s + (s >> 16)) as u16)).swap_bytes()
    }

    #[test]
    fn incremental_matches_click_and_recomputation() {
        let mut hdr = [
            0x45, 0, 0, 0x32, 0, 0, 0, 0, 0x40, 0x11, 0, 0, 10, 0, 0, 1, 10, 1, 2, 3,
        ];
        let s = cksum(&hdr);
        put16(&mut hdr, 10, s);
        let mut seed = 12345u32;
        for _ in 0..10_000 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let w = (seed >> 8) as usize % 10;
            if w == 5 {
                continue;
            }
            let old = be16(&hdr, w * 2);
            let new = (seed >> 16) as u16;
            let sum = be16(&hdr, 10);
            let upd = update_cksum(sum, old, new);
            assert_eq!(upd, click_update_le(sum, old, new));
            put16(&mut hdr, w * 2, new);
            put16(&mut hdr, 10, upd);
            // still a valid header (either zero's representation)
            assert!(matches!(cksum(&hdr), 0 | 0xffff), "{hdr:x?}");
        }
    }

    #[test]
    fn ttl_decrement_keeps_the_header_valid() {
        for ttl in 2..=255u8 {
            let mut hdr = [
                0x45, 0, 0, 0x54, 0x12, 0x34, 0x40, 0, ttl, 1, 0, 0, 10, 0, 1, 2, 10, 0, 2, 2,
            ];
            let s = cksum(&hdr);
            put16(&mut hdr, 10, s);
            hdr[8] -= 1;
            let s = cksum_after_ttl_decrement(be16(&hdr, 10));
            put16(&mut hdr, 10, s);
            assert_eq!(cksum(&hdr), 0, "ttl {ttl}");
        }
    }

    #[test]
    fn option_walks_end_on_bad_lengths() {
        let mut seen = Vec::new();
        walk_options(&[1, 7, 7, 4, 0, 0, 0, 0, 1, 68, 1], |o, t, l| {
            seen.push((o, t, l));
            true
        });
        assert_eq!(seen, [(1, 7, 7)]);
        seen.clear();
        walk_options(&[7], |o, t, l| {
            seen.push((o, t, l));
            true
        });
        assert!(seen.is_empty());
    }
}
