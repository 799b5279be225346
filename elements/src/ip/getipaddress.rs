//! GetIPAddress: copies an IP address from packet data to an annotation.

use click_engine::args::{AnnoArg, Args};
use click_engine::PacketCtx;
use click_engine::Threads;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketElement, Port};

/// Where the address comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Four bytes at this offset of the packet data.
    Offset(usize),
    /// The IP header's source address (bytes 12-15 of the network header).
    IpSrc,
    /// The IP header's destination address (bytes 16-19).
    IpDst,
}

/// `GetIPAddress(OFFSET [, ANNO], IP src|dst)`: copies the 4 bytes at
/// OFFSET of each packet's data (16 for an IP packet's destination) into
/// the destination IP address annotation, or the 4-byte annotation ANNO
/// (by default DST_IP). Instead of OFFSET, `IP src` or `IP dst` takes the
/// address from the packet's IP header (its network header must be set,
/// as CheckIPHeader or MarkIPHeader set it). A packet too short for the
/// address, or without a network header, keeps its annotation (Click
/// reads past the data).
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct GetIPAddress {
    source: Source,
    anno: usize,
}

impl ElementClass for GetIPAddress {
    const CLASS: &'static str = "GetIPAddress";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let offset = args.read_p::<i64>("OFFSET")?;
        let anno = args.read_p::<AnnoArg<4>>("ANNO")?.map_or(0, |a| a.offset);
        let ip = args.read::<String>("IP")?;
        let offset = offset.filter(|&o| o >= 0);
        let source = match (offset, ip.as_deref()) {
            (Some(o), None) => {
                Source::Offset(usize::try_from(o).map_err(|_| "OFFSET out of range")?)
            }
            (None, Some("src")) => Source::IpSrc,
            (None, Some("dst")) => Source::IpDst,
            (None, Some(_)) => return Err("bad IP".into()),
            _ => return Err("set one of OFFSET, IP".into()),
        };
        Ok(GetIPAddress { source, anno })
    }
}

impl PacketElement for GetIPAddress {
    #[inline]
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let bytes = match self.source {
            Source::Offset(o) => packet.data().get(o..o.saturating_add(4)),
            Source::IpSrc => packet.network_header().and_then(|h| h.get(12..16)),
            Source::IpDst => packet.network_header().and_then(|h| h.get(16..20)),
        };
        if let Some(b) = bytes {
            let ip = [b[0], b[1], b[2], b[3]];
            // The offset was checked against the area at configure time.
            let _ = packet.anno_mut().set_ipv4(self.anno, ip.into());
        }
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use click_engine::Processing;

    fn configure(conf: &str) -> Result<GetIPAddress, String> {
        let ctx = ConfigureCtx {
            name: "g",
            inputs: &[Processing::Push],
            outputs: &[Processing::Push],
        };
        let mut args = Args::new(conf);
        let g = GetIPAddress::configure(&mut args, &ctx)?;
        args.complete()?;
        Ok(g)
    }

    /// Processes `p` with `e`, as the engine would.
    fn run(e: &mut GetIPAddress, p: &mut Packet) -> Option<click_engine::Port> {
        click_engine::Harness::new("g").with(|ctx| e.process(p, ctx))
    }

    /// An Ethernet header, then an IP header from 10.0.0.1 to 10.0.0.2.
    fn packet() -> Packet {
        let mut data = vec![0u8; 14];
        data.extend_from_slice(&[
            0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ]);
        Packet::from_slice(&data).unwrap()
    }

    #[test]
    fn from_the_ip_header() {
        let mut p = packet();
        let mut src = configure("IP src").unwrap();
        let mut dst = configure("IP dst, ANNO MISC_IP").unwrap();
        // No network header yet: nothing changes.
        assert_eq!(run(&mut src, &mut p), Some(0));
        assert_eq!(p.anno().dst_ip(), std::net::Ipv4Addr::UNSPECIFIED);
        p.set_network_header(14, 20).unwrap();
        run(&mut src, &mut p);
        run(&mut dst, &mut p);
        assert_eq!(p.anno().dst_ip(), std::net::Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(p.anno().misc_ip(), std::net::Ipv4Addr::new(10, 0, 0, 2));
    }

    #[test]
    fn from_an_offset() {
        let mut p = packet();
        run(&mut configure("30").unwrap(), &mut p);
        assert_eq!(p.anno().dst_ip(), std::net::Ipv4Addr::new(10, 0, 0, 2));
        run(&mut configure("OFFSET 26, ANNO 44").unwrap(), &mut p);
        assert_eq!(
            p.anno().ipv4(44),
            Some(std::net::Ipv4Addr::new(10, 0, 0, 1))
        );
        // Past the end: unchanged, and no panic.
        run(&mut configure("31").unwrap(), &mut p);
        assert!(configure("18446744073709551615").is_err());
        assert_eq!(p.anno().dst_ip(), std::net::Ipv4Addr::new(10, 0, 0, 2));
    }

    #[test]
    fn arguments_as_click() {
        assert_eq!(configure("").unwrap_err(), "set one of OFFSET, IP");
        assert_eq!(
            configure("16, IP src").unwrap_err(),
            "set one of OFFSET, IP"
        );
        assert_eq!(configure("IP both").unwrap_err(), "bad IP");
        assert_eq!(configure("-1, IP dst").map(|g| g.source), Ok(Source::IpDst));
        assert_eq!(
            configure("16, PAINT").unwrap_err(),
            "ANNO: annotation 'PAINT' has size 1, expected 4"
        );
        assert!(configure("16, 45").is_err());
        assert_eq!(configure("16, 44").map(|g| g.anno), Ok(44));
    }
}
