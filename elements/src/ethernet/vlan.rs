//! 802.1Q tags on Ethernet frames: VLANEncap inserts one, VLANDecap
//! removes it (SetVLANAnno sets the annotation they read and write); and
//! [`VlanTag`], the tag arguments VLANEncap shares with EtherVLANEncap.
//!
//! The VLAN TCI annotation holds the TCI in host order (Click keeps it
//! in network order; ours are all host order), so VLANDecap's annotation
//! reads as the number it was on the wire.

use click_engine::args::{Args, FromArg};
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port, Threads,
};

/// The 802.1Q Ethernet type.
pub(crate) const ETHERTYPE_8021Q: u16 = 0x8100;

/// Where an Ethernet header's type (or a tag's TPID) starts.
const TYPE_AT: usize = 12;

/// `text` as a number from `lo` to `hi`, or an error naming `what`.
pub(crate) fn bounded(text: &str, what: &str, lo: i64, hi: i64) -> Result<i64, String> {
    let v = i64::from_arg(text).map_err(|e| format!("{what}: {e}"))?;
    if v < lo || v > hi {
        return Err(format!(
            "{what}: out of range, bound {}",
            if v < lo { lo } else { hi }
        ));
    }
    Ok(v)
}

/// `value` of the keyword `what` if given, else `default`, bounded.
fn bounded_or(
    value: Option<String>,
    what: &str,
    lo: i64,
    hi: i64,
    default: i64,
) -> Result<i64, String> {
    value.map_or(Ok(default), |t| bounded(&t, what, lo, hi))
}

/// The tag an encapsulating element adds, as Click's VLANEncap and
/// EtherVLANEncap take it: `VLAN_TCI` (a 16-bit TCI, or `ANNO` for each
/// packet's VLAN TCI annotation), `VLAN_PCP` (0-7, the top three bits),
/// the keyword `VLAN_ID` (0-0xFFF) instead of a TCI, and `NATIVE_VLAN`
/// (default 0; -1: none): a packet whose VLAN ID is the native VLAN is
/// not tagged.
#[derive(Debug)]
pub(crate) struct VlanTag {
    /// The TCI to use, unless `use_anno`.
    tci: u16,
    use_anno: bool,
    /// The native VLAN ID, if any.
    native: Option<u16>,
}

impl VlanTag {
    /// The read (and write) handlers of a tag: `vlan_tci` (`ANNO` or a
    /// number), `vlan_id`, `vlan_pcp`, `native_vlan`.
    pub(crate) const HANDLER_NAMES: [&'static str; 4] =
        ["vlan_tci", "vlan_id", "vlan_pcp", "native_vlan"];

    /// Reads VLAN_TCI and VLAN_PCP (the next positional arguments) and
    /// the VLAN_ID and NATIVE_VLAN keywords.
    pub(crate) fn configure(args: &mut Args) -> Result<VlanTag, String> {
        let tci_word: Option<String> = args.read_p("VLAN_TCI")?;
        let pcp = bounded_or(args.read_p("VLAN_PCP")?, "VLAN_PCP", 0, 7, 0)?;
        let id = bounded_or(args.read("VLAN_ID")?, "VLAN_ID", 0, 0xFFF, 0)?;
        let native = bounded_or(args.read("NATIVE_VLAN")?, "NATIVE_VLAN", -1, 0xFFF, 0)?;
        let use_anno = tci_word.as_deref() == Some("ANNO");
        let tci = match tci_word {
            Some(w) if !use_anno => bounded(&w, "VLAN_TCI", 0, 0xFFFF)?,
            _ => id,
        };
        Ok(VlanTag {
            tci: (tci as u16) | ((pcp as u16) << 13),
            use_anno,
            native: u16::try_from(native).ok(),
        })
    }

    /// The TCI to tag `p` with, or `None` if it goes untagged (its VLAN
    /// ID is the native VLAN).
    #[inline]
    pub(crate) fn tci_for(&self, p: &Packet) -> Option<u16> {
        let tci = if self.use_anno {
            p.anno().vlan_tci()
        } else {
            self.tci
        };
        (self.native != Some(tci & 0x0FFF)).then_some(tci)
    }

    pub(crate) fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "vlan_tci" if self.use_anno => "ANNO".to_string(),
            "vlan_tci" => self.tci.to_string(),
            "vlan_id" => (self.tci & 0xFFF).to_string(),
            "vlan_pcp" => (self.tci >> 13).to_string(),
            "native_vlan" => self.native.map_or(-1, i32::from).to_string(),
            _ => return None,
        })
    }

    /// Writes the tag's handler `name`; `None` if it is not one of them.
    pub(crate) fn write_handler(&mut self, name: &str, value: &str) -> Option<Result<(), String>> {
        VlanTag::HANDLER_NAMES
            .contains(&name)
            .then(|| self.write(name, value.trim()))
    }

    fn write(&mut self, name: &str, value: &str) -> Result<(), String> {
        match name {
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
                self.native = u16::try_from(n).ok();
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}

/// `VLANEncap([VLAN_TCI, VLAN_PCP, *keywords* VLAN_ID, NATIVE_VLAN,
/// ETHERTYPE])`: inserts a 4-byte 802.1Q tag into Ethernet frames, after
/// the two addresses: the tag's type ETHERTYPE (default 0x8100; 0x88a8
/// for 802.1ad service VLANs), then the TCI. VLAN_TCI is a 16-bit TCI, or
/// `ANNO` to take each packet's VLAN TCI annotation; VLAN_PCP (0-7) goes
/// in its top three bits; the keyword VLAN_ID (0-0xFFF) may be given
/// instead of VLAN_TCI. A frame whose VLAN ID is NATIVE_VLAN (default 0;
/// -1: none) leaves untagged. Either way the MAC header annotation marks
/// the frame's start. A frame shorter than an Ethernet header (14 bytes),
/// or one that cannot grow, is dropped and counted.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `vlan_tci` (`ANNO` or a number), `vlan_id`, `vlan_pcp`,
///   `native_vlan`, `ethertype` (read/write).
#[derive(Debug)]
pub struct VLANEncap {
    tag: VlanTag,
    ethertype: u16,
}

impl ElementClass for VLANEncap {
    const CLASS: &'static str = "VLANEncap";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let tag = VlanTag::configure(args)?;
        Ok(VLANEncap {
            tag,
            ethertype: args.read("ETHERTYPE")?.unwrap_or(ETHERTYPE_8021Q),
        })
    }
}

impl PacketElement for VLANEncap {
    #[inline]
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        if p.len() < 14 {
            return None;
        }
        if let Some(tci) = self.tag.tci_for(p) {
            p.push(4).ok()?;
            // Unique since the push.
            let d = p.data_mut().ok()?;
            d.copy_within(4..4 + TYPE_AT, 0);
            d[TYPE_AT..TYPE_AT + 2].copy_from_slice(&self.ethertype.to_be_bytes());
            d[TYPE_AT + 2..TYPE_AT + 4].copy_from_slice(&tci.to_be_bytes());
        }
        // offset 0 is inside the data: cannot fail
        let _ = p.set_mac_header(0);
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read_write("vlan_tci"),
            Handler::read_write("vlan_id"),
            Handler::read_write("vlan_pcp"),
            Handler::read_write("native_vlan"),
            Handler::read_write("ethertype"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        match name {
            "ethertype" => Some(self.ethertype.to_string()),
            _ => self.tag.read_handler(name),
        }
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        if name == "ethertype" {
            self.ethertype = bounded(value.trim(), "ETHERTYPE", 0, 0xFFFF)? as u16;
            return Ok(());
        }
        self.tag
            .write_handler(name, value)
            .unwrap_or_else(|| Err(format!("no write handler '{name}'")))
    }
}

/// `VLANDecap([ANNO, *keywords* ETHERTYPE])`: removes the 802.1Q tag of
/// frames whose type is ETHERTYPE (default 0x8100), leaving a plain
/// Ethernet frame; other frames pass unchanged. With ANNO true (the
/// default) each frame's VLAN TCI annotation is set to its tag's TCI, or
/// 0 if it had none. The MAC header annotation marks the frame's start. A
/// tagged frame cut short inside its tag (under 18 bytes) is dropped and
/// counted.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct VLANDecap {
    anno: bool,
    ethertype: u16,
}

impl ElementClass for VLANDecap {
    const CLASS: &'static str = "VLANDecap";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(VLANDecap {
            anno: args.read_p("ANNO")?.unwrap_or(true),
            ethertype: args.read("ETHERTYPE")?.unwrap_or(ETHERTYPE_8021Q),
        })
    }
}

impl PacketElement for VLANDecap {
    #[inline]
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let mut tci = 0;
        let tpid = p.data().get(TYPE_AT..TYPE_AT + 2);
        if tpid == Some(&self.ethertype.to_be_bytes()[..]) {
            let d = p.data();
            if d.len() < 18 {
                return None;
            }
            tci = u16::from_be_bytes([d[14], d[15]]);
            p.data_mut().ok()?.copy_within(0..TYPE_AT, 4);
            // 4 <= the length: cannot fail
            let _ = p.pull(4);
        }
        // Fails only on an empty packet, which has no header to mark.
        let _ = p.set_mac_header(0);
        if self.anno {
            p.anno_mut().set_vlan_tci(tci);
        }
        Some(0)
    }
}
