//! EtherVLANEncap: encapsulates packets in an 802.1Q Ethernet header.

use click_engine::args::{Args, EtherAddr, FromArg};
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port, Threads,
};

/// The 802.1Q Ethernet type.
const ETHERTYPE_8021Q: u16 = 0x8100;

/// `EtherVLANEncap(ETHERTYPE, SRC, DST, VLAN_TCI [, VLAN_PCP, *keywords*
/// VLAN_ID, NATIVE_VLAN])`: prepends an 802.1Q header (destination DST,
/// source SRC, type 0x8100, the TCI, then ETHERTYPE) and marks it as the
/// MAC header. VLAN_TCI is a 16-bit
/// TCI, or `ANNO` to take each packet's VLAN TCI annotation; VLAN_PCP
/// (0-7) goes in its top three bits; VLAN_ID (0-0xFFF) may be given
/// instead of VLAN_TCI. When the packet's VLAN ID equals NATIVE_VLAN
/// (default 0; -1: none), it gets a plain 14-byte Ethernet header
/// instead. A packet that cannot grow (pool exhausted) is dropped.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `src`, `dst`, `ethertype`, `vlan_tci` (`ANNO` or a
///   number), `vlan_id`, `vlan_pcp`, `native_vlan` (read/write).
#[derive(Debug)]
pub struct EtherVLANEncap {
    src: [u8; 6],
    dst: [u8; 6],
    ethertype: u16,
    /// The TCI to use, unless `use_anno`.
    tci: u16,
    use_anno: bool,
    /// The native VLAN ID, if any.
    native: Option<u16>,
}

fn bounded(text: &str, what: &str, lo: i64, hi: i64) -> Result<i64, String> {
    let v = i64::from_arg(text).map_err(|e| format!("{what}: {e}"))?;
    if v < lo || v > hi {
        return Err(format!(
            "{what}: out of range, bound {}",
            if v < lo { lo } else { hi }
        ));
    }
    Ok(v)
}

impl ElementClass for EtherVLANEncap {
    const CLASS: &'static str = "EtherVLANEncap";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let ethertype: u16 = args.read_mp("ETHERTYPE")?;
        let src: EtherAddr = args.read_mp("SRC")?;
        let dst: EtherAddr = args.read_mp("DST")?;
        let tci_word: Option<String> = args.read_p("VLAN_TCI")?;
        let pcp: Option<String> = args.read_p("VLAN_PCP")?;
        let id: Option<String> = args.read("VLAN_ID")?;
        let native: Option<String> = args.read("NATIVE_VLAN")?;
        let pcp = match pcp {
            Some(t) => bounded(&t, "VLAN_PCP", 0, 7)?,
            None => 0,
        };
        let id = match id {
            Some(t) => bounded(&t, "VLAN_ID", 0, 0xFFF)?,
            None => 0,
        };
        let native = match native {
            Some(t) => bounded(&t, "NATIVE_VLAN", -1, 0xFFF)?,
            None => 0,
        };
        let use_anno = tci_word.as_deref().is_some_and(|w| w == "ANNO");
        let tci = match tci_word {
            Some(w) if !use_anno => bounded(&w, "VLAN_TCI", 0, 0xFFFF)?,
            _ => id,
        };
        Ok(EtherVLANEncap {
            src: src.0,
            dst: dst.0,
            ethertype,
            tci: (tci as u16) | ((pcp as u16) << 13),
            use_anno,
            native: (native >= 0).then_some(native as u16),
        })
    }
}

impl PacketElement for EtherVLANEncap {
    #[inline]
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let tci = if self.use_anno {
            p.anno().vlan_tci()
        } else {
            self.tci
        };
        let plain = self.native == Some(tci & 0x0FFF);
        let n = if plain { 14 } else { 18 };
        let h = p.push(n).ok()?;
        h[..6].copy_from_slice(&self.dst);
        h[6..12].copy_from_slice(&self.src);
        if plain {
            h[12..14].copy_from_slice(&self.ethertype.to_be_bytes());
        } else {
            h[12..14].copy_from_slice(&ETHERTYPE_8021Q.to_be_bytes());
            h[14..16].copy_from_slice(&tci.to_be_bytes());
            h[16..18].copy_from_slice(&self.ethertype.to_be_bytes());
        }
        // offset 0 is inside the data: cannot fail
        let _ = p.set_mac_header(0);
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read_write("src"),
            Handler::read_write("dst"),
            Handler::read_write("ethertype"),
            Handler::read_write("vlan_tci"),
            Handler::read_write("vlan_id"),
            Handler::read_write("vlan_pcp"),
            Handler::read_write("native_vlan"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "src" => EtherAddr(self.src).to_string(),
            "dst" => EtherAddr(self.dst).to_string(),
            "ethertype" => self.ethertype.to_string(),
            "vlan_tci" if self.use_anno => "ANNO".to_string(),
            "vlan_tci" => self.tci.to_string(),
            "vlan_id" => (self.tci & 0xFFF).to_string(),
            "vlan_pcp" => (self.tci >> 13).to_string(),
            "native_vlan" => self.native.map_or(-1, i32::from).to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        let value = value.trim();
        match name {
            "src" | "dst" => {
                let a = EtherAddr::from_arg(value).map_err(|e| format!("{name}: {e}"))?;
                if name == "src" {
                    self.src = a.0;
                } else {
                    self.dst = a.0;
                }
            }
            "ethertype" => self.ethertype = bounded(value, "ETHERTYPE", 0, 0xFFFF)? as u16,
            "vlan_tci" if value == "ANNO" => self.use_anno = true,
            "vlan_tci" => {
                self.tci = bounded(value, "VLAN_TCI", 0, 0xFFFF)? as u16;
                self.use_anno = false;
            }
            "vlan_id" => {
                let id = bounded(value, "VLAN_ID", 0, 0xFFF)? as u16;
                self.tci = (self.tci & !0xFFF) | id;
                self.use_anno = false;
            }
            "vlan_pcp" => {
                let pcp = bounded(value, "VLAN_PCP", 0, 7)? as u16;
                self.tci = (self.tci & 0x1FFF) | (pcp << 13);
            }
            "native_vlan" => {
                let n = bounded(value, "NATIVE_VLAN", -1, 0xFFF)?;
                self.native = (n >= 0).then_some(n as u16);
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
