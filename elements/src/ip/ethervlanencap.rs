//! EtherVLANEncap: encapsulates packets in an 802.1Q Ethernet header.

use click_engine::args::{Args, EtherAddr, FromArg};
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port, Threads,
};

use crate::ethernet::vlan::{bounded, VlanTag, ETHERTYPE_8021Q};

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
    tag: VlanTag,
}

impl ElementClass for EtherVLANEncap {
    const CLASS: &'static str = "EtherVLANEncap";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let ethertype: u16 = args.read_mp("ETHERTYPE")?;
        let src: EtherAddr = args.read_mp("SRC")?;
        let dst: EtherAddr = args.read_mp("DST")?;
        Ok(EtherVLANEncap {
            src: src.0,
            dst: dst.0,
            ethertype,
            tag: VlanTag::configure(args)?,
        })
    }
}

impl PacketElement for EtherVLANEncap {
    #[inline]
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let tci = self.tag.tci_for(p);
        let n = if tci.is_some() { 18 } else { 14 };
        let h = p.push(n).ok()?;
        h[..6].copy_from_slice(&self.dst);
        h[6..12].copy_from_slice(&self.src);
        if let Some(tci) = tci {
            h[12..14].copy_from_slice(&ETHERTYPE_8021Q.to_be_bytes());
            h[14..16].copy_from_slice(&tci.to_be_bytes());
        }
        h[n - 2..n].copy_from_slice(&self.ethertype.to_be_bytes());
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
        match name {
            "src" => Some(EtherAddr(self.src).to_string()),
            "dst" => Some(EtherAddr(self.dst).to_string()),
            "ethertype" => Some(self.ethertype.to_string()),
            _ => self.tag.read_handler(name),
        }
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
                Ok(())
            }
            "ethertype" => {
                self.ethertype = bounded(value, "ETHERTYPE", 0, 0xFFFF)? as u16;
                Ok(())
            }
            _ => self
                .tag
                .write_handler(name, value)
                .unwrap_or_else(|| Err(format!("no write handler '{name}'"))),
        }
    }
}
