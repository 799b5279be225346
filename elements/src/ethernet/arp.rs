//! ARP packets on Ethernet: the header layout (RFC 826 for IPv4 over
//! Ethernet), building requests and replies, reading the fields ARP
//! elements look at. Every read is bounds-checked: a short or odd packet
//! answers `None`, never a panic.

use click_engine::packet::{Packet, PacketError, Timestamp};

/// Ethernet type of IPv4.
pub(crate) const ETHERTYPE_IP: u16 = 0x0800;
/// Ethernet type of ARP.
pub(crate) const ETHERTYPE_ARP: u16 = 0x0806;
/// ARP hardware type of Ethernet.
const ARPHRD_ETHER: u16 = 1;
/// ARP operations.
pub(crate) const ARPOP_REQUEST: u16 = 1;
pub(crate) const ARPOP_REPLY: u16 = 2;

/// Ethernet header length.
pub(crate) const ETHER_LEN: usize = 14;
/// An Ethernet ARP packet for IPv4: Ethernet header and the 28-byte ARP
/// header (`click_ether` + `click_ether_arp`).
pub(crate) const ARP_PACKET_LEN: usize = ETHER_LEN + 28;

/// The fields of an ARP packet for IPv4 over Ethernet, read from a packet
/// that starts with its Ethernet header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ArpFields {
    pub ether_type: u16,
    pub hrd: u16,
    pub pro: u16,
    pub op: u16,
    pub sha: [u8; 6],
    pub spa: [u8; 4],
    pub tha: [u8; 6],
    pub tpa: [u8; 4],
}

impl ArpFields {
    /// The fields of `data` (Ethernet header first), if it is long enough
    /// to hold them (42 bytes); the values are not checked.
    #[inline]
    pub fn read(data: &[u8]) -> Option<ArpFields> {
        let d: &[u8; ARP_PACKET_LEN] = data.get(..ARP_PACKET_LEN)?.try_into().ok()?;
        let word = |i: usize| u16::from_be_bytes([d[i], d[i + 1]]);
        let mut f = ArpFields {
            ether_type: word(12),
            hrd: word(14),
            pro: word(16),
            op: word(20),
            sha: [0; 6],
            spa: [0; 4],
            tha: [0; 6],
            tpa: [0; 4],
        };
        f.sha.copy_from_slice(&d[22..28]);
        f.spa.copy_from_slice(&d[28..32]);
        f.tha.copy_from_slice(&d[32..38]);
        f.tpa.copy_from_slice(&d[38..42]);
        Some(f)
    }

    /// Whether this is ARP for IPv4 over Ethernet (Ethernet type ARP,
    /// hardware Ethernet, protocol IP) with operation `op`. Click checks
    /// no more (not the address lengths).
    #[inline]
    pub fn is_ip_over_ether(&self, op: u16) -> bool {
        self.ether_type == ETHERTYPE_ARP
            && self.hrd == ARPHRD_ETHER
            && self.pro == ETHERTYPE_IP
            && self.op == op
    }
}

/// What goes into an ARP packet.
pub(crate) struct ArpMessage<'a> {
    pub ether_dst: &'a [u8; 6],
    pub ether_src: &'a [u8; 6],
    pub op: u16,
    pub sha: &'a [u8; 6],
    pub spa: &'a [u8; 4],
    pub tha: &'a [u8; 6],
    pub tpa: &'a [u8; 4],
}

impl ArpMessage<'_> {
    /// A new 42-byte packet holding this message, with its MAC header
    /// marked at the Ethernet header and its network header at the ARP
    /// header (Click's `set_ether_header`), the given timestamp and VLAN
    /// TCI annotations. Fails only when the pool is exhausted.
    pub fn packet(&self, timestamp: Timestamp, vlan_tci: u16) -> Result<Packet, PacketError> {
        let mut p = Packet::new(ARP_PACKET_LEN)?;
        let d = p.data_mut()?;
        d[..6].copy_from_slice(self.ether_dst);
        d[6..12].copy_from_slice(self.ether_src);
        d[12..14].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
        d[14..16].copy_from_slice(&ARPHRD_ETHER.to_be_bytes());
        d[16..18].copy_from_slice(&ETHERTYPE_IP.to_be_bytes());
        d[18] = 6;
        d[19] = 4;
        d[20..22].copy_from_slice(&self.op.to_be_bytes());
        d[22..28].copy_from_slice(self.sha);
        d[28..32].copy_from_slice(self.spa);
        d[32..38].copy_from_slice(self.tha);
        d[38..42].copy_from_slice(self.tpa);
        // Both marks lie inside the 42 bytes just written.
        let _ = p.set_mac_header(0);
        let _ = p.set_network_header(ETHER_LEN, 28);
        let anno = p.anno_mut();
        anno.set_timestamp(timestamp);
        anno.set_vlan_tci(vlan_tci);
        Ok(p)
    }
}

/// Click's `ARPResponder::make_response`: the reply telling `target`
/// (`target_eth`, `target_ip`) that `src_ip` is at `src_eth`, sent to
/// `target_eth`. The packet has no timestamp; it takes the VLAN TCI
/// given (the query's).
pub(crate) fn make_response(
    target_eth: &[u8; 6],
    target_ip: &[u8; 4],
    src_eth: &[u8; 6],
    src_ip: &[u8; 4],
    vlan_tci: u16,
) -> Result<Packet, PacketError> {
    ArpMessage {
        ether_dst: target_eth,
        ether_src: src_eth,
        op: ARPOP_REPLY,
        sha: src_eth,
        spa: src_ip,
        tha: target_eth,
        tpa: target_ip,
    }
    .packet(Timestamp::ZERO, vlan_tci)
}

/// Whether an Ethernet address is a group (multicast or broadcast)
/// address.
#[inline]
pub(crate) fn is_group(eth: &[u8; 6]) -> bool {
    eth[0] & 1 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_reads_back() {
        let p = make_response(
            &[2, 0, 0, 0, 0, 1],
            &[10, 0, 0, 1],
            &[2, 0, 0, 0, 0, 2],
            &[10, 0, 0, 2],
            7,
        )
        .unwrap();
        assert_eq!(p.len(), ARP_PACKET_LEN);
        let f = ArpFields::read(p.data()).unwrap();
        assert!(f.is_ip_over_ether(ARPOP_REPLY));
        assert_eq!(f.sha, [2, 0, 0, 0, 0, 2]);
        assert_eq!(f.spa, [10, 0, 0, 2]);
        assert_eq!(f.tha, [2, 0, 0, 0, 0, 1]);
        assert_eq!(f.tpa, [10, 0, 0, 1]);
        assert_eq!(p.anno().vlan_tci(), 7);
        assert_eq!(p.network_header().map(<[u8]>::len), Some(28));
        assert!(ArpFields::read(&p.data()[..41]).is_none());
    }
}
