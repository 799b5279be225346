//! ICMPPingResponder: answers ICMP echo requests.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketCtx, PacketElement, Port, Threads};

use crate::ip::forward::hdr::{be16, ip_at, put16, update_cksum, IP_PROTO_ICMP};

/// `ICMPPingResponder()`: turns ICMP echo requests (IP packets with their
/// IP and transport header annotations set) into echo replies, in place:
/// source and destination swapped, fragment bits cleared, TTL 255, the IP
/// ID kept, type echo-reply (0) and code 0, both checksums updated
/// incrementally (an ICMP checksum that becomes 0 over all-zero bytes is
/// written as 0xFFFF, as Click writes it). The reply's destination IP
/// annotation is set, its paint annotation cleared and its timestamp set
/// to now; its other annotations are the request's. Replies leave on
/// output 0; other packets (not ICMP, not an echo request, shorter than
/// 8 bytes of ICMP) on output 1, or are dropped when there is none.
///
/// * Ports: 1 input, 1 or 2 outputs (`a/ah`).
#[derive(Debug)]
pub struct ICMPPingResponder;

impl ElementClass for ICMPPingResponder {
    const CLASS: &'static str = "ICMPPingResponder";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(ICMPPingResponder)
    }
}

impl PacketElement for ICMPPingResponder {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let Some(off) = ip_at(p, 20) else {
            return Some(1);
        };
        let th = match p.transport_header_offset() {
            Some(t) if t >= 0 && (t as usize) + 8 <= p.len() => t as usize,
            _ => return Some(1),
        };
        let d = p.data();
        if d[off + 9] != IP_PROTO_ICMP || d[th] != 8 {
            return Some(1);
        }
        let Ok(d) = p.data_mut() else {
            ctx.drop_because("pool exhausted");
            return None;
        };
        let ip = &mut d[off..];
        let src = [ip[12], ip[13], ip[14], ip[15]];
        ip.copy_within(16..20, 12);
        ip[16..20].copy_from_slice(&src);
        let sum = update_cksum(be16(ip, 10), be16(ip, 6), 0);
        put16(ip, 6, 0);
        let old = be16(ip, 8);
        ip[8] = 255;
        let sum = update_cksum(sum, old, be16(ip, 8));
        put16(ip, 10, sum);
        let icmp = &mut d[th..];
        let old = be16(icmp, 0);
        icmp[0] = 0;
        icmp[1] = 0;
        let sum = update_cksum(be16(icmp, 2), old, 0);
        put16(icmp, 2, sum);
        if sum == 0 && icmp.iter().all(|&b| b == 0) {
            put16(icmp, 2, 0xffff);
        }
        let a = p.anno_mut();
        a.set_dst_ip(std::net::Ipv4Addr::from(src));
        a.set_timestamp(ctx.timestamp());
        a.set_paint(0);
        Some(0)
    }
}
