//! FixIPSrc: sets the IP source address when the annotation asks.

use std::net::Ipv4Addr;

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketCtx, PacketElement, Port, Threads};

use super::hdr::{cksum, ip_at, put16};

/// `FixIPSrc(IPADDR)`: on IP packets whose fix-IP-source annotation
/// (`FIX_IP_SRC`, byte 19) is set, clears the annotation, writes IPADDR
/// into the IP source address and recomputes the header checksum. Elements
/// that must answer from the outgoing interface's address, as ICMPError
/// does, set the annotation; this element, on that interface's output
/// path, supplies the address. Other packets, and packets whose IP header
/// is not marked (or has fewer than 20 bytes), pass untouched.
///
/// * Ports: 1 input, 1 output, agnostic.
#[derive(Debug)]
pub struct FixIPSrc {
    ip: [u8; 4],
}

impl ElementClass for FixIPSrc {
    const CLASS: &'static str = "FixIPSrc";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let ip: Ipv4Addr = args.read_mp("IPADDR")?;
        Ok(FixIPSrc { ip: ip.octets() })
    }
}

/// Sets `p`'s IP source to `ip` and recomputes the header checksum, the
/// fix-IP-source annotation cleared; false if the pool had no room to
/// unshare the packet.
pub(crate) fn fix_source(p: &mut Packet, off: usize, ip: [u8; 4]) -> bool {
    p.anno_mut().set_fix_ip_src(0);
    let Ok(data) = p.data_mut() else {
        return false;
    };
    let h = &mut data[off..];
    let hlen = (usize::from(h[0] & 0x0f) * 4).min(h.len());
    h[12..16].copy_from_slice(&ip);
    put16(h, 10, 0);
    let sum = cksum(&h[..hlen]);
    put16(h, 10, sum);
    true
}

impl PacketElement for FixIPSrc {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        if p.anno().fix_ip_src() == 0 {
            return Some(0);
        }
        let Some(off) = ip_at(p, 20) else {
            return Some(0);
        };
        if !fix_source(p, off, self.ip) {
            ctx.drop_because("pool exhausted");
            return None;
        }
        Some(0)
    }
}
