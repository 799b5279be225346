//! StoreEtherAddress: writes an Ethernet address into packets.

use std::sync::Arc;

use click_engine::args::{AnnoArg, ArgContext, Args, EtherAddr, FromArg, NoContext};
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port, Threads,
};

use super::etherencap::packet_error_reason;

/// `StoreEtherAddress(ADDR, OFFSET [, *keywords* ANNO])`: writes the
/// Ethernet address ADDR into each packet at byte OFFSET of its data.
/// OFFSET may be `src` (6) or `dst` (0), the places of the addresses in
/// an Ethernet header. With `ANNO` (a 6-byte annotation) instead of
/// ADDR, each packet's own annotation is written; exactly one of ADDR and
/// ANNO must be given. A packet too short to hold the address at OFFSET
/// goes to output 1 if there is one, else it is dropped; one that cannot
/// be made unique (pool exhausted) is dropped.
///
/// * Ports: 1 input, 1 or 2 outputs; input and output 0 agnostic, output
///   1 push.
/// * Handlers: `addr` (read/write).
pub struct StoreEtherAddress {
    offset: usize,
    address: [u8; 6],
    anno: Option<usize>,
    has_port1: bool,
    names: Option<Arc<dyn ArgContext>>,
}

impl ElementClass for StoreEtherAddress {
    const CLASS: &'static str = "StoreEtherAddress";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let address: Option<EtherAddr> = args.read_p("ADDR")?;
        let off: String = args.read_mp("OFFSET")?;
        let anno: Option<AnnoArg<6>> = args.read("ANNO")?;
        if address.is_some() == anno.is_some() {
            return Err("must specify exactly one of ADDR/ANNO".into());
        }
        let offset = match off.to_ascii_lowercase().as_str() {
            "src" => 6,
            "dst" => 0,
            _ => u32::from_arg(&off).map_err(|_| "type mismatch: bad OFFSET")? as usize,
        };
        Ok(StoreEtherAddress {
            offset,
            address: address.map_or([0; 6], |a| a.0),
            anno: anno.map(|a| a.offset),
            has_port1: ctx.noutputs() >= 2,
            names: args.shared_context(),
        })
    }
}

impl PacketElement for StoreEtherAddress {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let o = self.offset;
        if o + 6 > p.len() {
            if !self.has_port1 {
                ctx.drop_because("too short for the address");
            }
            return self.has_port1.then_some(1);
        }
        let addr = match self.anno {
            // The offset was checked against the area at configure time.
            Some(a) => match p.anno().bytes(a, 6) {
                Some(b) => b.try_into().unwrap_or([0; 6]),
                None => [0; 6],
            },
            None => self.address,
        };
        match p.data_mut() {
            Ok(d) => {
                d[o..o + 6].copy_from_slice(&addr);
                Some(0)
            }
            Err(e) => {
                ctx.drop_because(packet_error_reason(e));
                None
            }
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("addr")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "addr").then(|| EtherAddr(self.address).to_string())
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        if name != "addr" {
            return Err(format!("no write handler '{name}'"));
        }
        let names: &dyn ArgContext = match &self.names {
            Some(n) => n.as_ref(),
            None => &NoContext,
        };
        self.address = EtherAddr::from_arg_in(value.trim(), names)
            .map_err(|e| format!("ADDR: {e}"))?
            .0;
        Ok(())
    }
}
