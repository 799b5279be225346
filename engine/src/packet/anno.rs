//! Packet annotations: Click's per-packet metadata, kept in one 64-byte block
//! that a clone copies with a single `memcpy`.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Size in bytes of the free-form user annotation area ([`Anno::u8`] and
/// friends; Click's `anno_u8`/`anno_u16`/`anno_u32` at offsets).
pub const USER_ANNO_SIZE: usize = 40;

/// Header offsets are stored as `u16` offsets from the start of the buffer;
/// this value means "not set".
pub(super) const NO_HEADER: u16 = u16::MAX;

/// A packet timestamp: nanoseconds since the Unix epoch. `0` means "not set".
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The unset timestamp.
    pub const ZERO: Timestamp = Timestamp(0);

    /// A timestamp from nanoseconds since the Unix epoch.
    #[inline]
    pub const fn from_nanos(ns: u64) -> Self {
        Timestamp(ns)
    }

    /// Nanoseconds since the Unix epoch.
    #[inline]
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Whether the timestamp was set (is not zero).
    #[inline]
    pub const fn is_set(self) -> bool {
        self.0 != 0
    }

    /// The time since the Unix epoch as a `Duration`.
    #[inline]
    pub const fn as_duration(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// The current wall-clock time. The engine itself never calls this (the
    /// caller passes `now`); it is here for sources and tests.
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }
}

impl From<Duration> for Timestamp {
    /// A duration since the Unix epoch (saturating at `u64::MAX` ns, year 2554).
    fn from(d: Duration) -> Self {
        Timestamp(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }
}

impl From<SystemTime> for Timestamp {
    /// Times before the epoch become [`Timestamp::ZERO`].
    fn from(t: SystemTime) -> Self {
        t.duration_since(UNIX_EPOCH)
            .map(Timestamp::from)
            .unwrap_or(Timestamp::ZERO)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Click's packet type annotation (`Packet::PacketType`, the Linux
/// `PACKET_*` values).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// Addressed to this host.
    #[default]
    Host = 0,
    /// Link-layer broadcast.
    Broadcast = 1,
    /// Link-layer multicast.
    Multicast = 2,
    /// Addressed to another host.
    OtherHost = 3,
    /// Sent by this host.
    Outgoing = 4,
    /// Looped back.
    Loopback = 5,
    /// Click's `FASTROUTE`.
    FastRoute = 6,
}

/// The annotation block of a packet (64 bytes, one cache line).
///
/// Clones copy it (Click semantics); a fresh packet starts with
/// [`Anno::DEFAULT`] (all zero, headers unset). Header offsets live here too
/// but are managed by the [`Packet`](super::Packet) header methods, since
/// they are relative to the packet's buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Anno {
    timestamp: Timestamp,
    dst_ip: [u8; 4],
    pub(super) mac_header: u16,
    pub(super) network_header: u16,
    pub(super) transport_header: u16,
    device: u16,
    vlan_tci: u16,
    paint: u8,
    packet_type: PacketType,
    user: [u8; USER_ANNO_SIZE],
}

const _: () = assert!(std::mem::size_of::<Anno>() == 64);

impl Default for Anno {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Anno {
    /// The annotations of a fresh packet.
    pub const DEFAULT: Anno = Anno {
        timestamp: Timestamp::ZERO,
        dst_ip: [0; 4],
        mac_header: NO_HEADER,
        network_header: NO_HEADER,
        transport_header: NO_HEADER,
        device: 0,
        vlan_tci: 0,
        paint: 0,
        packet_type: PacketType::Host,
        user: [0; USER_ANNO_SIZE],
    };

    /// Destination IP address annotation (Click's `dst_ip_anno`), set by
    /// routing elements and read by ARP.
    #[inline]
    pub fn dst_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.dst_ip)
    }

    /// Sets the destination IP address annotation.
    #[inline]
    pub fn set_dst_ip(&mut self, ip: Ipv4Addr) {
        self.dst_ip = ip.octets();
    }

    /// Paint annotation (Click's `PAINT_ANNO`).
    #[inline]
    pub fn paint(&self) -> u8 {
        self.paint
    }

    /// Sets the paint annotation.
    #[inline]
    pub fn set_paint(&mut self, paint: u8) {
        self.paint = paint;
    }

    /// Timestamp annotation.
    #[inline]
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// Sets the timestamp annotation.
    #[inline]
    pub fn set_timestamp(&mut self, ts: Timestamp) {
        self.timestamp = ts;
    }

    /// Input device index annotation.
    #[inline]
    pub fn device(&self) -> u16 {
        self.device
    }

    /// Sets the input device index annotation.
    #[inline]
    pub fn set_device(&mut self, dev: u16) {
        self.device = dev;
    }

    /// Packet type annotation.
    #[inline]
    pub fn packet_type(&self) -> PacketType {
        self.packet_type
    }

    /// Sets the packet type annotation.
    #[inline]
    pub fn set_packet_type(&mut self, t: PacketType) {
        self.packet_type = t;
    }

    /// VLAN TCI annotation (Click's `VLAN_TCI_ANNO`, host order).
    #[inline]
    pub fn vlan_tci(&self) -> u16 {
        self.vlan_tci
    }

    /// Sets the VLAN TCI annotation.
    #[inline]
    pub fn set_vlan_tci(&mut self, tci: u16) {
        self.vlan_tci = tci;
    }

    /// The user annotation area.
    #[inline]
    pub fn user(&self) -> &[u8; USER_ANNO_SIZE] {
        &self.user
    }

    /// The user annotation area, mutable.
    #[inline]
    pub fn user_mut(&mut self) -> &mut [u8; USER_ANNO_SIZE] {
        &mut self.user
    }

    /// The byte at `offset` of the user area. Panics if out of range.
    #[inline]
    pub fn u8(&self, offset: usize) -> u8 {
        self.user[offset]
    }

    /// Sets the byte at `offset` of the user area. Panics if out of range.
    #[inline]
    pub fn set_u8(&mut self, offset: usize, v: u8) {
        self.user[offset] = v;
    }

    /// The native-endian `u16` at `offset` of the user area. Panics if out
    /// of range.
    #[inline]
    pub fn u16(&self, offset: usize) -> u16 {
        u16::from_ne_bytes(self.user[offset..offset + 2].try_into().unwrap())
    }

    /// Sets the native-endian `u16` at `offset`. Panics if out of range.
    #[inline]
    pub fn set_u16(&mut self, offset: usize, v: u16) {
        self.user[offset..offset + 2].copy_from_slice(&v.to_ne_bytes());
    }

    /// The native-endian `u32` at `offset` of the user area. Panics if out
    /// of range.
    #[inline]
    pub fn u32(&self, offset: usize) -> u32 {
        u32::from_ne_bytes(self.user[offset..offset + 4].try_into().unwrap())
    }

    /// Sets the native-endian `u32` at `offset`. Panics if out of range.
    #[inline]
    pub fn set_u32(&mut self, offset: usize, v: u32) {
        self.user[offset..offset + 4].copy_from_slice(&v.to_ne_bytes());
    }

    /// The native-endian `u64` at `offset` of the user area. Panics if out
    /// of range.
    #[inline]
    pub fn u64(&self, offset: usize) -> u64 {
        u64::from_ne_bytes(self.user[offset..offset + 8].try_into().unwrap())
    }

    /// Sets the native-endian `u64` at `offset`. Panics if out of range.
    #[inline]
    pub fn set_u64(&mut self, offset: usize, v: u64) {
        self.user[offset..offset + 8].copy_from_slice(&v.to_ne_bytes());
    }

    /// Moves the header offsets by `delta` after the data moved within or
    /// between buffers; headers that land outside `valid` are cleared.
    pub(super) fn rebase_headers(&mut self, delta: isize, valid: std::ops::Range<usize>) {
        for h in [
            &mut self.mac_header,
            &mut self.network_header,
            &mut self.transport_header,
        ] {
            if *h != NO_HEADER {
                let moved = *h as isize + delta;
                *h = if moved >= valid.start as isize && moved <= valid.end as isize {
                    moved as u16
                } else {
                    NO_HEADER
                };
            }
        }
    }
}

impl fmt::Debug for Anno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Anno")
            .field("timestamp", &self.timestamp)
            .field("dst_ip", &self.dst_ip())
            .field("paint", &self.paint)
            .field("device", &self.device)
            .field("packet_type", &self.packet_type)
            .field("vlan_tci", &self.vlan_tci)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_area_roundtrip() {
        let mut a = Anno::DEFAULT;
        a.set_u8(0, 7);
        a.set_u16(2, 0xbeef);
        a.set_u32(4, 0xdead_beef);
        a.set_u64(32, u64::MAX - 1);
        assert_eq!(a.u8(0), 7);
        assert_eq!(a.u16(2), 0xbeef);
        assert_eq!(a.u32(4), 0xdead_beef);
        assert_eq!(a.u64(32), u64::MAX - 1);
    }

    #[test]
    #[should_panic]
    fn user_area_out_of_range_panics() {
        Anno::DEFAULT.u64(USER_ANNO_SIZE - 4);
    }

    #[test]
    fn timestamp_conversions() {
        let t = Timestamp::from(Duration::new(3, 5));
        assert_eq!(t.as_nanos(), 3_000_000_005);
        assert_eq!(format!("{t}"), "3.000000005");
        assert!(Timestamp::now().is_set());
        assert!(!Timestamp::ZERO.is_set());
    }

    #[test]
    fn rebase_clears_out_of_range() {
        let mut a = Anno::DEFAULT;
        a.mac_header = 10;
        a.network_header = 24;
        a.rebase_headers(-12, 5..100);
        assert_eq!(a.mac_header, NO_HEADER);
        assert_eq!(a.network_header, 12);
        assert_eq!(a.transport_header, NO_HEADER);
    }
}
