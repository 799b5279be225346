//! HostEtherFilter: keeps the Ethernet frames a host would receive.

use click_engine::args::{Args, EtherAddr};
use click_engine::packet::PacketType;
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port, Threads,
};

/// `HostEtherFilter(ETHER [, DROP_OWN, DROP_OTHER, *keywords* OFFSET])`:
/// acts like the Ethernet input of a host whose address is ETHER: sets
/// each frame's packet type annotation to HOST, BROADCAST, MULTICAST or
/// OTHERHOST from its destination, and filters out frames sent by ETHER
/// itself (if DROP_OWN, default false) and unicast frames for other hosts
/// (if DROP_OTHER, default true). The Ethernet header starts OFFSET bytes
/// in (default 0). Filtered frames leave on output 1 if it exists, and
/// are dropped otherwise; so are frames too short to hold both addresses.
///
/// * Ports: 1 input, 1 or 2 outputs (`a/ah`).
/// * Handlers: `ether` (read/write).
#[derive(Debug)]
pub struct HostEtherFilter {
    addr: [u8; 6],
    drop_own: bool,
    drop_other: bool,
    offset: usize,
    has_port1: bool,
}

impl ElementClass for HostEtherFilter {
    const CLASS: &'static str = "HostEtherFilter";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let addr: EtherAddr = args.read_mp("ETHER")?;
        let drop_own = args.read_p("DROP_OWN")?.unwrap_or(false);
        let drop_other = args.read_p("DROP_OTHER")?.unwrap_or(true);
        let offset: u32 = args.read("OFFSET")?.unwrap_or(0);
        Ok(HostEtherFilter {
            addr: addr.0,
            drop_own,
            drop_other,
            offset: offset as usize,
            has_port1: ctx.noutputs() >= 2,
        })
    }
}

impl PacketElement for HostEtherFilter {
    #[inline]
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let off = self.offset;
        let Some(e) = p.data().get(off..off + 12) else {
            return self.has_port1.then_some(1);
        };
        let (dst, src) = (&e[..6], &e[6..12]);
        if self.drop_own && src == self.addr {
            return self.has_port1.then_some(1);
        }
        let kind = if dst == self.addr {
            PacketType::Host
        } else if dst == [0xff; 6] {
            PacketType::Broadcast
        } else if dst[0] & 1 != 0 {
            PacketType::Multicast
        } else {
            PacketType::OtherHost
        };
        p.anno_mut().set_packet_type(kind);
        if kind == PacketType::OtherHost && self.drop_other {
            return self.has_port1.then_some(1);
        }
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("ether")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "ether").then(|| EtherAddr(self.addr).to_string())
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "ether" => {
                let a: EtherAddr = Args::new(value).read_mp("ETHER")?;
                self.addr = a.0;
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}
