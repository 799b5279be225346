//! SetTCPChecksum and SetUDPChecksum: compute transport checksums.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketCtx, PacketElement, Port, Threads};

use crate::ip::forward::hdr::{be16, put16, transport_cksum, IP_MF, IP_OFFMASK};

/// The IP header and transport header offsets of `p`, both marked within
/// its data (the IP header with at least 20 bytes).
fn headers(p: &Packet) -> Option<(usize, usize)> {
    let nh = usize::try_from(p.network_header_offset()?).ok()?;
    let th = usize::try_from(p.transport_header_offset()?).ok()?;
    (nh + 20 <= p.len() && th <= p.len() && th >= nh).then_some((nh, th))
}

/// `SetTCPChecksum([FIXOFF])`: computes the TCP checksum of TCP/IP packets
/// (their IP and transport header annotations set, as CheckIPHeader sets
/// them) over the segment the IP header's lengths say, with the IP
/// pseudo-header (whose destination is a source route's last hop, if the
/// header has one), and writes it. With FIXOFF true, a TCP data offset
/// under 5 words is set to 5, and one past the segment (of a packet that
/// is not a fragment) to the segment's length.
///
/// A packet whose segment is shorter than a TCP header or longer than the
/// bytes present, or without the header annotations, is dropped with
/// Click's message (`SetTCPChecksum: bad lengths`, said for each).
///
/// * Ports: 1 input, 1 output, agnostic.
#[derive(Debug)]
pub struct SetTCPChecksum {
    fixoff: bool,
}

impl ElementClass for SetTCPChecksum {
    const CLASS: &'static str = "SetTCPChecksum";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(SetTCPChecksum {
            fixoff: args.read_p("FIXOFF")?.unwrap_or(false),
        })
    }
}

impl PacketElement for SetTCPChecksum {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let ok = headers(p).and_then(|(nh, th)| {
            let ip = &p.data()[nh..];
            let plen = be16(ip, 2) as isize - (usize::from(ip[0] & 0x0f) * 4) as isize;
            (plen >= 20 && plen as usize <= p.len() - th).then_some((nh, th, plen as usize))
        });
        let Some((nh, th, plen)) = ok else {
            eprintln!("SetTCPChecksum: bad lengths");
            return None;
        };
        let Ok(d) = p.data_mut() else {
            ctx.drop_because("pool exhausted");
            return None;
        };
        if self.fixoff {
            let off = usize::from(d[th + 12] >> 4) * 4;
            let frag = be16(&d[nh..], 6) & (IP_MF | IP_OFFMASK) != 0;
            if off < 20 {
                d[th + 12] = (d[th + 12] & 0x0f) | (5 << 4);
            } else if off > plen && !frag {
                d[th + 12] = (d[th + 12] & 0x0f) | (((plen >> 2) as u8) << 4);
            }
        }
        put16(d, th + 16, 0);
        let (ip, seg) = (&d[nh..], &d[th..th + plen]);
        let sum = transport_cksum(ip, seg, plen);
        put16(d, th + 16, sum);
        Some(0)
    }
}

/// `SetUDPChecksum()`: computes the UDP checksum of UDP/IP packets (their
/// IP and transport header annotations set; the protocol is not checked)
/// over the UDP length's bytes, with the IP pseudo-header (a source
/// route's last hop as its destination), and writes it. A computed
/// checksum of 0 is written as 0, as Click writes it.
///
/// Fragments, and packets too short for a UDP header or for their UDP
/// length (or without the header annotations), go to output 1, or are
/// dropped when there is none; the first such drop is reported (`NAME:
/// fragment or short packet`).
///
/// * Ports: 1 input, 1 or 2 outputs (`a/ah`).
#[derive(Debug)]
pub struct SetUDPChecksum {
    name: String,
    has_port1: bool,
    said: bool,
}

impl ElementClass for SetUDPChecksum {
    const CLASS: &'static str = "SetUDPChecksum";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(_args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(SetUDPChecksum {
            name: ctx.name.to_string(),
            has_port1: ctx.noutputs() > 1,
            said: false,
        })
    }
}

impl PacketElement for SetUDPChecksum {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let ok = headers(p).and_then(|(nh, th)| {
            let d = p.data();
            let frag = be16(&d[nh..], 6) & (IP_MF | IP_OFFMASK) != 0;
            let tlen = d.len() - th;
            let len = usize::from(be16(d, th + 4));
            (!frag && tlen >= 8 && len <= tlen).then_some((nh, th, len))
        });
        let Some((nh, th, len)) = ok else {
            if !self.has_port1 && !self.said {
                eprintln!("{}: fragment or short packet", self.name);
                self.said = true;
            }
            return Some(1);
        };
        let Ok(d) = p.data_mut() else {
            ctx.drop_because("pool exhausted");
            return None;
        };
        put16(d, th + 6, 0);
        let sum = transport_cksum(&d[nh..], &d[th..th + len], len);
        put16(d, th + 6, sum);
        Some(0)
    }
}
