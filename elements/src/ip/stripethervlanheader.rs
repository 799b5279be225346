//! StripEtherVLANHeader: removes 802.1Q Ethernet headers.

use click_engine::args::{Args, FromArg};
use click_engine::{
    ConfigureCtx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port, Threads,
};

/// `StripEtherVLANHeader([NATIVE_VLAN])`: the decapsulation that matches
/// EtherVLANEncap (Click has no EtherVLANDecap). A frame of type 0x8100
/// loses its 18-byte 802.1Q header and gets its VLAN TCI annotation from
/// it; another frame loses its 14-byte Ethernet header and gets
/// NATIVE_VLAN (default 0) as its annotation, or, if NATIVE_VLAN is
/// negative, leaves on output 1 if it exists (else is dropped), as does a
/// frame too short for its header.
///
/// * Ports: 1 input, 1 or 2 outputs (`a/ah`).
/// * Handlers: `native_vlan` (read).
#[derive(Debug)]
pub struct StripEtherVLANHeader {
    native: Option<u16>,
    has_port1: bool,
}

impl ElementClass for StripEtherVLANHeader {
    const CLASS: &'static str = "StripEtherVLANHeader";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let native: Option<String> = args.read_p("NATIVE_VLAN")?;
        let native = match native {
            Some(t) => i32::from_arg(&t).map_err(|e| format!("NATIVE_VLAN: {e}"))?,
            None => 0,
        };
        if native > 0xFFF {
            return Err("bad NATIVE_VLAN".into());
        }
        Ok(StripEtherVLANHeader {
            native: (native >= 0).then_some(native as u16),
            has_port1: ctx.noutputs() >= 2,
        })
    }
}

impl PacketElement for StripEtherVLANHeader {
    #[inline]
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let d = p.data();
        let tagged = d.len() >= 14 && d[12..14] == [0x81, 0x00];
        let (tci, n) = if tagged && d.len() >= 18 {
            (u16::from_be_bytes([d[14], d[15]]), 18)
        } else if let (false, true, Some(native)) = (tagged, d.len() >= 14, self.native) {
            (native, 14)
        } else {
            return self.has_port1.then_some(1);
        };
        p.anno_mut().set_vlan_tci(tci);
        let _ = p.pull(n);
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("native_vlan")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "native_vlan").then(|| self.native.map_or(-1, i32::from).to_string())
    }
}
