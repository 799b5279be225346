//! 802.1Q tags on Ethernet frames: VLANEncap inserts one, VLANDecap
//! removes it, SetVLANAnno sets the annotation they read and write; and
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

/// Reads the TCI arguments every VLAN element takes: VLAN_TCI and
/// VLAN_PCP (the next positional arguments) and the VLAN_ID keyword. The
/// TCI they give (VLAN_TCI, else VLAN_ID, with VLAN_PCP in the top three
/// bits), and whether VLAN_TCI was `ANNO` (taken only if `anno_ok`; else
/// it is refused as a number).
fn configure_tci(args: &mut Args, anno_ok: bool) -> Result<(u16, bool), String> {
    let tci_word: Option<String> = args.read_p("VLAN_TCI")?;
    let pcp = bounded_or(args.read_p("VLAN_PCP")?, "VLAN_PCP", 0, 7, 0)?;
    let id = bounded_or(args.read("VLAN_ID")?, "VLAN_ID", 0, 0xFFF, 0)?;
    let anno = anno_ok && tci_word.as_deref() == Some("ANNO");
    let base = match tci_word {
        Some(w) if !anno => bounded(&w, "VLAN_TCI", 0, 0xFFFF)?,
        _ => id,
    };
    Ok(((base as u16) | ((pcp as u16) << 13), anno))
}

/// A TCI's handlers, `vlan_tci`, `vlan_id` and `vlan_pcp`: the value read.
fn read_tci(tci: u16, name: &str) -> Option<String> {
    Some(match name {
        "vlan_tci" => tci.to_string(),
        "vlan_id" => (tci & 0xFFF).to_string(),
        "vlan_pcp" => (tci >> 13).to_string(),
        _ => return None,
    })
}

/// A TCI's handlers: `tci` with `value` written to its part `name`
/// (`vlan_id` and `vlan_pcp` keep the rest); `None` if `name` is not
/// one of them.
fn write_tci(tci: u16, name: &str, value: &str) -> Option<Result<u16, String>> {
    let part = |what, hi| bounded(value, what, 0, hi).map(|v| v as u16);
    Some(match name {
        "vlan_tci" => part("VLAN_TCI", 0xFFFF),
        "vlan_id" => part("VLAN_ID", 0xFFF).map(|id| (tci & !0xFFF) | id),
        "vlan_pcp" => part("VLAN_PCP", 7).map(|pcp| (tci & 0x1FFF) | (pcp << 13)),
        _ => return None,
    })
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
    /// Reads VLAN_TCI and VLAN_PCP (the next positional arguments) and
    /// the VLAN_ID and NATIVE_VLAN keywords.
    pub(crate) fn configure(args: &mut Args) -> Result<VlanTag, String> {
        let (tci, use_anno) = configure_tci(args, true)?;
        let native = bounded_or(args.read("NATIVE_VLAN")?, "NATIVE_VLAN", -1, 0xFFF, 0)?;
        Ok(VlanTag {
            tci,
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
        match name {
            "vlan_tci" if self.use_anno => Some("ANNO".to_string()),
            "native_vlan" => Some(self.native.map_or(-1, i32::from).to_string()),
            _ => read_tci(self.tci, name),
        }
    }

    /// Writes the tag's handler `name`; `None` if it is not one of them.
    /// A TCI or VLAN ID written ends ANNO mode; a PCP keeps it.
    pub(crate) fn write_handler(&mut self, name: &str, value: &str) -> Option<Result<(), String>> {
        let value = value.trim();
        Some(match name {
            "vlan_tci" if value == "ANNO" => {
                self.use_anno = true;
                Ok(())
            }
            "native_vlan" => bounded(value, "NATIVE_VLAN", -1, 0xFFF)
                .map(|n| self.native = u16::try_from(n).ok()),
            _ => write_tci(self.tci, name, value)?.map(|tci| {
                self.tci = tci;
                self.use_anno &= name == "vlan_pcp";
            }),
        })
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

impl ElementClass for SetVLANAnno {
    const CLASS: &'static str = "SetVLANAnno";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let (tci, _) = configure_tci(args, false)?;
        Ok(SetVLANAnno { tci })
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
        read_tci(self.tci, name)
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.tci = write_tci(self.tci, name, value.trim())
            .unwrap_or_else(|| Err(format!("no write handler '{name}'")))?;
        Ok(())
    }
}
