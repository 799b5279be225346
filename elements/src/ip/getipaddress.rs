//! GetIPAddress: copies an IP address from packet data to an annotation.

use click_engine::args::{AnnoArg, Args};
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
    fn process(&mut self, packet: &mut Packet) -> Option<Port> {
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
