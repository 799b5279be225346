//! SetIPAddress: sets the destination IP address annotation.

use std::net::Ipv4Addr;
use std::sync::Arc;

use click_engine::args::{AnnoArg, ArgContext, Args, FromArg, NoContext};
use click_engine::Threads;
use click_engine::{ConfigureCtx, ElementClass, Handler, Packet, PacketElement, Port};
use click_engine::{Ctx, PacketCtx};

/// `SetIPAddress(IPADDR [, ANNO])`: sets each packet's destination IP
/// address annotation (or the 4-byte annotation ANNO, a keyword) to
/// IPADDR. IPADDR may be an AddressInfo name or a device (`gw:ip`,
/// `eth0`, `net:bcast`), here and in writes to `addr`.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `addr` (read/write).
pub struct SetIPAddress {
    ip: Ipv4Addr,
    anno: usize,
    /// Names for `addr` writes, as the configuration saw them.
    names: Option<Arc<dyn ArgContext>>,
}

impl ElementClass for SetIPAddress {
    const CLASS: &'static str = "SetIPAddress";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let ip = args.read_mp("IPADDR")?;
        let anno = args.read::<AnnoArg<4>>("ANNO")?.map_or(0, |a| a.offset);
        Ok(SetIPAddress {
            ip,
            anno,
            names: args.shared_context(),
        })
    }
}

impl PacketElement for SetIPAddress {
    #[inline]
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        // The offset was checked against the area at configure time.
        let _ = packet.anno_mut().set_ipv4(self.anno, self.ip);
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("addr")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "addr").then(|| self.ip.to_string())
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "addr" => {
                let ctx: &dyn ArgContext = match &self.names {
                    Some(c) => c.as_ref(),
                    None => &NoContext,
                };
                self.ip =
                    Ipv4Addr::from_arg_in(value.trim(), ctx).map_err(|e| format!("addr: {e}"))?;
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}
