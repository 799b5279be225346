//! SetVLANAnno: sets the VLAN TCI annotation.

use click_engine::args::{Args, FromArg};
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port, Threads,
};

/// `SetVLANAnno(VLAN_TCI [, VLAN_PCP, *keywords* VLAN_ID])`: sets each
/// packet's VLAN TCI annotation: VLAN_TCI (0-0xFFFF), or VLAN_ID (0-0xFFF),
/// with VLAN_PCP (0-7) in the top three bits.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `vlan_tci`, `vlan_id`, `vlan_pcp` (read/write).
#[derive(Debug)]
pub struct SetVLANAnno {
    tci: u16,
}

fn bounded(text: &str, what: &str, hi: u32) -> Result<u16, String> {
    let v = u32::from_arg(text.trim()).map_err(|e| format!("{what}: {e}"))?;
    if v > hi {
        return Err(format!("{what}: out of range, bound {hi}"));
    }
    Ok(v as u16)
}

impl ElementClass for SetVLANAnno {
    const CLASS: &'static str = "SetVLANAnno";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let tci: Option<String> = args.read_p("VLAN_TCI")?;
        let pcp: Option<String> = args.read_p("VLAN_PCP")?;
        let id: Option<String> = args.read("VLAN_ID")?;
        let pcp = pcp.map_or(Ok(0), |t| bounded(&t, "VLAN_PCP", 7))?;
        let base = match (tci, id) {
            (Some(t), _) => bounded(&t, "VLAN_TCI", 0xFFFF)?,
            (None, Some(i)) => bounded(&i, "VLAN_ID", 0xFFF)?,
            (None, None) => 0,
        };
        Ok(SetVLANAnno {
            tci: base | (pcp << 13),
        })
    }
}

impl PacketElement for SetVLANAnno {
    #[inline]
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        p.anno_mut().set_vlan_tci(self.tci);
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read_write("vlan_tci"),
            Handler::read_write("vlan_id"),
            Handler::read_write("vlan_pcp"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "vlan_tci" => self.tci.to_string(),
            "vlan_id" => (self.tci & 0xFFF).to_string(),
            "vlan_pcp" => (self.tci >> 13).to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "vlan_tci" => self.tci = bounded(value, "VLAN_TCI", 0xFFFF)?,
            "vlan_id" => self.tci = (self.tci & !0xFFF) | bounded(value, "VLAN_ID", 0xFFF)?,
            "vlan_pcp" => self.tci = (self.tci & 0x1FFF) | (bounded(value, "VLAN_PCP", 7)? << 13),
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
