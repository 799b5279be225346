//! StoreIPAddress: writes an IP address into packets.

use std::net::Ipv4Addr;

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketCtx, PacketElement, Port, Threads};

use super::hdr::{be16, ip_at, put16, update_cksum, IP_OFFMASK, IP_PROTO_TCP, IP_PROTO_UDP};

/// Where the address goes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    /// At this offset into the data.
    At(usize),
    /// Into the IP header's source (12) or destination (16) field.
    Header(usize),
}

/// `StoreIPAddress(OFFSET)`, `StoreIPAddress(ADDR, OFFSET)`: writes an IP
/// address into each packet: the destination IP annotation (one
/// argument) or ADDR (two arguments, which may be 0.0.0.0), at byte
/// OFFSET of the data. The one-argument form leaves packets whose
/// annotation is zero unchanged.
///
/// OFFSET may be `src` or `dst`: the address then replaces the IP
/// header's source or destination (the IP header annotation must be set)
/// and the IP checksum, and the TCP or UDP checksum of a first fragment
/// whose transport header is all there (a UDP checksum only when it is
/// not 0), are updated incrementally. Otherwise no checksum changes: see
/// SetIPChecksum.
///
/// A packet the address cannot go into (OFFSET past its end, a zero
/// annotation, no IP header for `src` and `dst`) leaves on output 1, or is
/// dropped when there is none. (Click, given a numeric OFFSET and a
/// packet with an IP header, writes such a packet at OFFSET bytes
/// *before* its IP header; we do not.)
///
/// * Ports: 1 input, 1 or 2 outputs (`a/ah`).
#[derive(Debug)]
pub struct StoreIPAddress {
    addr: Option<[u8; 4]>,
    place: Place,
}

impl ElementClass for StoreIPAddress {
    const CLASS: &'static str = "StoreIPAddress";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let addr = if args.len() > 1 {
            Some(args.read_mp::<Ipv4Addr>("ADDR")?.octets())
        } else {
            None
        };
        let offset: String = args.read_mp("OFFSET")?;
        let place = match offset.to_ascii_lowercase().as_str() {
            "src" => Place::Header(12),
            "dst" => Place::Header(16),
            o => Place::At(
                o.parse()
                    .map_err(|_| "type mismatch: OFFSET requires integer".to_string())?,
            ),
        };
        Ok(StoreIPAddress { addr, place })
    }
}

impl PacketElement for StoreIPAddress {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let ip = self.addr.unwrap_or_else(|| p.anno().dst_ip().octets());
        let ok = match self.place {
            Place::At(o) => {
                if (self.addr.is_none() && ip == [0; 4]) || o.saturating_add(4) > p.len() {
                    return Some(1);
                }
                p.data_mut().map(|d| d[o..o + 4].copy_from_slice(&ip))
            }
            Place::Header(field) => {
                let Some(off) = ip_at(p, 20) else {
                    return Some(1);
                };
                if p.network_header_length().unwrap_or(0) < 20 {
                    return Some(1);
                }
                let th = p
                    .transport_header_offset()
                    .and_then(|t| usize::try_from(t).ok());
                p.data_mut().map(|d| store_in_header(d, off, th, field, ip))
            }
        };
        if ok.is_err() {
            ctx.drop_because("pool exhausted");
            return None;
        }
        Some(0)
    }
}

/// Writes `ip` into `field` of the IP header at `off` of `d`, updating
/// its checksum and that of the TCP or UDP header at `th`.
fn store_in_header(d: &mut [u8], off: usize, th: Option<usize>, field: usize, ip: [u8; 4]) {
    let sum2 = |d: &[u8], i: usize| {
        let s = u32::from(be16(d, i)) + u32::from(be16(d, i + 2));
        (s + (s >> 16)) as u16
    };
    let at = off + field;
    let old = sum2(d, at);
    d[at..at + 4].copy_from_slice(&ip);
    let new = sum2(d, at);
    let h = &mut d[off..];
    let s = update_cksum(be16(h, 10), old, new);
    put16(h, 10, s);
    let (proto, first) = (h[9], be16(h, 6) & IP_OFFMASK == 0);
    let Some(th) = th.filter(|_| first) else {
        return;
    };
    let tlen = d.len().saturating_sub(th);
    let sum_at = match proto {
        IP_PROTO_TCP if tlen >= 20 => th + 16,
        IP_PROTO_UDP if tlen >= 8 && be16(d, th + 6) != 0 => th + 6,
        _ => return,
    };
    let s = update_cksum(be16(d, sum_at), old, new);
    put16(d, sum_at, s);
}
