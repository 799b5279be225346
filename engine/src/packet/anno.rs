//! Packet annotations: Click's per-packet metadata, kept in one 64-byte block
//! (one cache line) that a clone copies with a single `memcpy`.
//!
//! The block holds the timestamp, the packet type, the three header
//! offsets and Click's 48-byte annotation area, with Click's layout
//! (`include/click/packet_anno.hh`, user level, 64-bit host). Named
//! annotations are typed views of bytes of the area, and several share
//! bytes as in Click, since no packet needs them all at once:
//!
//! | annotation | bytes | accessor | byte order |
//! |---|---|---|---|
//! | `DST_IP` | 0-3 | [`Anno::dst_ip`] | network |
//! | `DST_IP6` | 0-15 | [`Anno::dst_ip6`] | network |
//! | `PAINT` | 16 | [`Anno::paint`] | |
//! | `WIFI_EXTRA` | 16-39 | bytes only | |
//! | `ICMP_PARAMPROB` | 17 | [`Anno::icmp_paramprob`] | |
//! | `FIX_IP_SRC` | 19 | [`Anno::fix_ip_src`] | |
//! | `VLAN_TCI` (`VLAN`) | 20-21 | [`Anno::vlan_tci`] | host |
//! | `AGGREGATE` | 20-23 | [`Anno::aggregate`] | host |
//! | `FWD_RATE` | 20-23 | [`Anno::fwd_rate`] | host |
//! | `MISC_IP` | 20-23 | [`Anno::misc_ip`] | network |
//! | `EXTRA_PACKETS` | 24-27 | [`Anno::extra_packets`] | host |
//! | `REV_RATE` | 24-27 | [`Anno::rev_rate`] | host |
//! | `SEND_ERR` | 26 | [`Anno::send_err`] | |
//! | `GRID_ROUTE_CB` | 27 | [`Anno::grid_route_cb`] | |
//! | `EXTRA_LENGTH` (`IPREASSEMBLER`) | 28-31 | [`Anno::extra_length`] | host |
//! | `FIRST_TIMESTAMP` | 32-39 | [`Anno::first_timestamp`] | host |
//! | `PACKET_NUMBER`, `IPSEC_SPI` | 32-35 | [`Anno::packet_number`], [`Anno::ipsec_spi`] | host |
//! | `SEQUENCE_NUMBER` | 36-39 | [`Anno::sequence_number`] | host |
//! | `PERFCTR` (`IPSEC_SA_DATA_REFERENCE`) | 40-47 | [`Anno::perfctr`] | host |
//!
//! So painting `VLAN_TCI` changes the low-addressed half of `AGGREGATE`,
//! exactly as in Click. Multi-byte numbers are stored in host byte order,
//! as Click stores them; IP addresses in network order (their octets in
//! order). `FIRST_TIMESTAMP` holds our [`Timestamp`] (nanoseconds since the
//! epoch, a host-order `u64`) where Click keeps its own `Timestamp`.
//!
//! Configurations name annotations or give byte offsets (`Paint(1, 16)`,
//! `PaintSwitch(ANNO PAINT)`, `SetAnnoByte(19, 1)`): elements read the
//! argument as a [`click_lang::args::AnnoArg`], checked against the area,
//! and use the byte-offset accessors ([`Anno::u8`], [`Anno::set_u32`],
//! [`Anno::bytes`], ...), which take any offset and size and answer
//! `None`/`Err` rather than panic.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Size in bytes of the annotation area (Click's `Packet::anno_size`).
pub const ANNO_SIZE: usize = click_lang::args::ANNO_SIZE;

/// Header offsets are stored as `u16` offsets from the start of the buffer;
/// this value means "not set".
pub(super) const NO_HEADER: u16 = u16::MAX;

/// A packet timestamp: nanoseconds since the Unix epoch. `0` means "not set".
/// Times before the epoch, which Click's signed timestamps allow, are kept
/// as two's complement ([`from_signed_nanos`](Self::from_signed_nanos)).
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

    /// A timestamp from signed nanoseconds since the Unix epoch: Click's
    /// timestamps are signed, and AdjustTimestamp or SetTimestampDelta
    /// can move one before the epoch. A negative one is kept as its two's
    /// complement (a time past the year 2262 otherwise), so everything
    /// that reads timestamps as unsigned sees times after the epoch as
    /// before.
    #[inline]
    pub const fn from_signed_nanos(ns: i64) -> Self {
        Timestamp(ns as u64)
    }

    /// Signed nanoseconds since the Unix epoch: negative for a timestamp
    /// made by [`from_signed_nanos`](Self::from_signed_nanos) before the
    /// epoch.
    #[inline]
    pub const fn as_signed_nanos(self) -> i64 {
        self.0 as i64
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

impl PacketType {
    /// Click's name for the type (`HOST`, `BROADCAST`, ...).
    pub fn name(self) -> &'static str {
        match self {
            PacketType::Host => "HOST",
            PacketType::Broadcast => "BROADCAST",
            PacketType::Multicast => "MULTICAST",
            PacketType::OtherHost => "OTHERHOST",
            PacketType::Outgoing => "OUTGOING",
            PacketType::Loopback => "LOOPBACK",
            PacketType::FastRoute => "FASTROUTE",
        }
    }

    /// The type Click calls `name` (upper case).
    pub fn from_name(name: &str) -> Option<Self> {
        [
            PacketType::Host,
            PacketType::Broadcast,
            PacketType::Multicast,
            PacketType::OtherHost,
            PacketType::Outgoing,
            PacketType::Loopback,
            PacketType::FastRoute,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A byte-offset access outside the annotation area: `len` bytes at
/// `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnnoRangeError {
    /// The offset asked for.
    pub offset: usize,
    /// The number of bytes asked for.
    pub len: usize,
}

impl fmt::Display for AnnoRangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} annotation bytes at offset {} are outside the {ANNO_SIZE}-byte area",
            self.len, self.offset
        )
    }
}

impl std::error::Error for AnnoRangeError {}

/// The range `offset..offset + len` if it lies inside the area.
#[inline]
fn span(offset: usize, len: usize) -> Result<std::ops::Range<usize>, AnnoRangeError> {
    match offset.checked_add(len) {
        Some(end) if end <= ANNO_SIZE => Ok(offset..end),
        _ => Err(AnnoRangeError { offset, len }),
    }
}

/// The annotation block of a packet (64 bytes, one cache line).
///
/// Clones copy it (Click semantics); a fresh packet starts with
/// [`Anno::DEFAULT`] (all zero, headers unset). Header offsets live here too
/// but are managed by the [`Packet`](super::Packet) header methods, since
/// they are relative to the packet's buffer. See the module documentation
/// for the layout of the annotation area.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Anno {
    timestamp: Timestamp,
    area: [u8; ANNO_SIZE],
    pub(super) mac_header: u16,
    pub(super) network_header: u16,
    pub(super) transport_header: u16,
    packet_type: PacketType,
}

const _: () = assert!(std::mem::size_of::<Anno>() == 64);

impl Default for Anno {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Typed accessors for a named annotation at a fixed place in the area:
/// `name`/`set_name`, of a type made from and to `N` bytes.
macro_rules! named {
    ($(#[$doc:meta])* $get:ident, $set:ident, $offset:expr, $ty:ty, $n:expr,
     $from:expr, $to:expr) => {
        $(#[$doc])*
        #[inline]
        pub fn $get(&self) -> $ty {
            let from: fn([u8; $n]) -> $ty = $from;
            from(self.field::<{ $offset }, { $n }>())
        }

        #[doc = concat!("Sets [`", stringify!($get), "`](Anno::", stringify!($get), ").")]
        #[inline]
        pub fn $set(&mut self, v: $ty) {
            let to: fn($ty) -> [u8; $n] = $to;
            self.set_field::<{ $offset }, { $n }>(to(v));
        }
    };
}

impl Anno {
    /// The annotations of a fresh packet.
    pub const DEFAULT: Anno = Anno {
        timestamp: Timestamp::ZERO,
        area: [0; ANNO_SIZE],
        mac_header: NO_HEADER,
        network_header: NO_HEADER,
        transport_header: NO_HEADER,
        packet_type: PacketType::Host,
    };

    /// `N` bytes at `O`, a place the compiler checks is inside the area.
    #[inline(always)]
    fn field<const O: usize, const N: usize>(&self) -> [u8; N] {
        const { assert!(O + N <= ANNO_SIZE) };
        let mut out = [0; N];
        out.copy_from_slice(&self.area[O..O + N]);
        out
    }

    #[inline(always)]
    fn set_field<const O: usize, const N: usize>(&mut self, v: [u8; N]) {
        const { assert!(O + N <= ANNO_SIZE) };
        self.area[O..O + N].copy_from_slice(&v);
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

    named!(
        /// Destination IP address annotation (Click's `DST_IP`, bytes 0-3,
        /// network order), set by routing elements and read by ARP.
        dst_ip, set_dst_ip, 0, Ipv4Addr, 4, Ipv4Addr::from, |a| a.octets()
    );
    named!(
        /// Destination IPv6 address annotation (`DST_IP6`, bytes 0-15,
        /// network order; overlaps `DST_IP`).
        dst_ip6, set_dst_ip6, 0, Ipv6Addr, 16, Ipv6Addr::from, |a| a.octets()
    );
    named!(
        /// Paint annotation (`PAINT`, byte 16).
        paint, set_paint, 16, u8, 1, |b| b[0], |v| [v]
    );
    named!(
        /// ICMP parameter problem pointer (`ICMP_PARAMPROB`, byte 17).
        icmp_paramprob, set_icmp_paramprob, 17, u8, 1, |b| b[0], |v| [v]
    );
    named!(
        /// Fix-IP-source flag (`FIX_IP_SRC`, byte 19): nonzero asks
        /// FixIPSrc to rewrite the source address.
        fix_ip_src, set_fix_ip_src, 19, u8, 1, |b| b[0], |v| [v]
    );
    named!(
        /// VLAN TCI annotation (`VLAN_TCI`, bytes 20-21, host order; the
        /// low-addressed half of `AGGREGATE`).
        vlan_tci, set_vlan_tci, 20, u16, 2, u16::from_ne_bytes, u16::to_ne_bytes
    );
    named!(
        /// Aggregate number (`AGGREGATE`, bytes 20-23, host order).
        aggregate, set_aggregate, 20, u32, 4, u32::from_ne_bytes, u32::to_ne_bytes
    );
    named!(
        /// Forward rate (`FWD_RATE`, bytes 20-23, host order).
        fwd_rate, set_fwd_rate, 20, i32, 4, i32::from_ne_bytes, i32::to_ne_bytes
    );
    named!(
        /// Miscellaneous IP address (`MISC_IP`, bytes 20-23, network
        /// order).
        misc_ip, set_misc_ip, 20, Ipv4Addr, 4, Ipv4Addr::from, |a| a.octets()
    );
    named!(
        /// Extra packets (`EXTRA_PACKETS`, bytes 24-27, host order): how
        /// many more packets this one stands for.
        extra_packets, set_extra_packets, 24, u32, 4, u32::from_ne_bytes, u32::to_ne_bytes
    );
    named!(
        /// Reverse rate (`REV_RATE`, bytes 24-27, host order).
        rev_rate, set_rev_rate, 24, i32, 4, i32::from_ne_bytes, i32::to_ne_bytes
    );
    named!(
        /// Send error (`SEND_ERR`, byte 26).
        send_err, set_send_err, 26, u8, 1, |b| b[0], |v| [v]
    );
    named!(
        /// Grid route callback (`GRID_ROUTE_CB`, byte 27).
        grid_route_cb, set_grid_route_cb, 27, u8, 1, |b| b[0], |v| [v]
    );
    named!(
        /// Extra length (`EXTRA_LENGTH`, bytes 28-31, host order): bytes
        /// the packet stands for beyond its data.
        extra_length, set_extra_length, 28, u32, 4, u32::from_ne_bytes, u32::to_ne_bytes
    );
    named!(
        /// First timestamp (`FIRST_TIMESTAMP`, bytes 32-39: nanoseconds
        /// since the epoch, host order).
        first_timestamp, set_first_timestamp, 32, Timestamp, 8,
        |b| Timestamp::from_nanos(u64::from_ne_bytes(b)),
        |t| t.as_nanos().to_ne_bytes()
    );
    named!(
        /// Packet number (`PACKET_NUMBER`, bytes 32-35, host order).
        packet_number, set_packet_number, 32, u32, 4, u32::from_ne_bytes, u32::to_ne_bytes
    );
    named!(
        /// IPsec SPI (`IPSEC_SPI`, bytes 32-35, host order).
        ipsec_spi, set_ipsec_spi, 32, u32, 4, u32::from_ne_bytes, u32::to_ne_bytes
    );
    named!(
        /// Sequence number (`SEQUENCE_NUMBER`, bytes 36-39, host order).
        sequence_number, set_sequence_number, 36, u32, 4, u32::from_ne_bytes, u32::to_ne_bytes
    );
    named!(
        /// Performance counter (`PERFCTR`, bytes 40-47, host order).
        perfctr, set_perfctr, 40, u64, 8, u64::from_ne_bytes, u64::to_ne_bytes
    );

    /// The whole annotation area (Click's `anno_u8()`).
    #[inline]
    pub fn area(&self) -> &[u8; ANNO_SIZE] {
        &self.area
    }

    /// The whole annotation area, mutable.
    #[inline]
    pub fn area_mut(&mut self) -> &mut [u8; ANNO_SIZE] {
        &mut self.area
    }

    /// The `len` bytes at `offset`, or `None` if they are not all inside
    /// the area.
    #[inline]
    pub fn bytes(&self, offset: usize, len: usize) -> Option<&[u8]> {
        span(offset, len).ok().map(|r| &self.area[r])
    }

    /// The `len` bytes at `offset`, mutable.
    #[inline]
    pub fn bytes_mut(&mut self, offset: usize, len: usize) -> Result<&mut [u8], AnnoRangeError> {
        span(offset, len).map(|r| &mut self.area[r])
    }

    #[inline]
    fn read<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        let r = span(offset, N).ok()?;
        let mut out = [0; N];
        out.copy_from_slice(&self.area[r]);
        Some(out)
    }

    #[inline]
    fn write<const N: usize>(&mut self, offset: usize, v: [u8; N]) -> Result<(), AnnoRangeError> {
        let r = span(offset, N)?;
        self.area[r].copy_from_slice(&v);
        Ok(())
    }

    /// The byte at `offset` (Click's `anno_u8(offset)`); `None` past the
    /// area.
    #[inline]
    pub fn u8(&self, offset: usize) -> Option<u8> {
        self.area.get(offset).copied()
    }

    /// Sets the byte at `offset` (Click's `set_anno_u8`).
    #[inline]
    pub fn set_u8(&mut self, offset: usize, v: u8) -> Result<(), AnnoRangeError> {
        match self.area.get_mut(offset) {
            Some(b) => {
                *b = v;
                Ok(())
            }
            None => Err(AnnoRangeError { offset, len: 1 }),
        }
    }

    /// The host-order `u16` at `offset` (Click's `anno_u16`).
    #[inline]
    pub fn u16(&self, offset: usize) -> Option<u16> {
        self.read(offset).map(u16::from_ne_bytes)
    }

    /// Sets the host-order `u16` at `offset`.
    #[inline]
    pub fn set_u16(&mut self, offset: usize, v: u16) -> Result<(), AnnoRangeError> {
        self.write(offset, v.to_ne_bytes())
    }

    /// The host-order `u32` at `offset` (Click's `anno_u32`).
    #[inline]
    pub fn u32(&self, offset: usize) -> Option<u32> {
        self.read(offset).map(u32::from_ne_bytes)
    }

    /// Sets the host-order `u32` at `offset`.
    #[inline]
    pub fn set_u32(&mut self, offset: usize, v: u32) -> Result<(), AnnoRangeError> {
        self.write(offset, v.to_ne_bytes())
    }

    /// The host-order `u64` at `offset` (Click's `anno_u64`).
    #[inline]
    pub fn u64(&self, offset: usize) -> Option<u64> {
        self.read(offset).map(u64::from_ne_bytes)
    }

    /// Sets the host-order `u64` at `offset`.
    #[inline]
    pub fn set_u64(&mut self, offset: usize, v: u64) -> Result<(), AnnoRangeError> {
        self.write(offset, v.to_ne_bytes())
    }

    /// The IPv4 address at `offset`, network order (as SetIPAddress(ANNO
    /// ...) stores it).
    #[inline]
    pub fn ipv4(&self, offset: usize) -> Option<Ipv4Addr> {
        self.read(offset).map(Ipv4Addr::from)
    }

    /// Stores an IPv4 address at `offset`, network order.
    #[inline]
    pub fn set_ipv4(&mut self, offset: usize, ip: Ipv4Addr) -> Result<(), AnnoRangeError> {
        self.write(offset, ip.octets())
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
        struct Hex<'a>(&'a [u8]);
        impl fmt::Debug for Hex<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
        f.debug_struct("Anno")
            .field("timestamp", &self.timestamp)
            .field("packet_type", &self.packet_type)
            .field("dst_ip", &self.dst_ip())
            .field("paint", &self.paint())
            .field("area", &Hex(&self.area))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use click_lang::args::{builtin_annotation, ANNOTATIONS};

    #[test]
    fn byte_offsets_roundtrip() {
        let mut a = Anno::DEFAULT;
        a.set_u8(0, 7).unwrap();
        a.set_u16(2, 0xbeef).unwrap();
        a.set_u32(4, 0xdead_beef).unwrap();
        a.set_u64(40, u64::MAX - 1).unwrap();
        assert_eq!(a.u8(0), Some(7));
        assert_eq!(a.u16(2), Some(0xbeef));
        assert_eq!(a.u32(4), Some(0xdead_beef));
        assert_eq!(a.u64(40), Some(u64::MAX - 1));
        assert_eq!(a.perfctr(), u64::MAX - 1);
        assert_eq!(a.bytes(2, 2), Some(&0xbeefu16.to_ne_bytes()[..]));
        a.bytes_mut(44, 4).unwrap().fill(9);
        assert_eq!(a.u8(47), Some(9));
    }

    #[test]
    fn out_of_range_is_an_error_not_a_panic() {
        let mut a = Anno::DEFAULT;
        assert_eq!(a.u8(ANNO_SIZE), None);
        assert_eq!(a.u16(ANNO_SIZE - 1), None);
        assert_eq!(a.u32(45), None);
        assert_eq!(a.u64(41), None);
        assert_eq!(a.u64(usize::MAX), None);
        assert_eq!(a.bytes(usize::MAX, 2), None);
        assert_eq!(a.bytes(0, ANNO_SIZE + 1), None);
        assert_eq!(a.bytes(ANNO_SIZE, 0), Some(&[][..]));
        let e = a.set_u32(46, 1).unwrap_err();
        assert_eq!(e, AnnoRangeError { offset: 46, len: 4 });
        assert_eq!(
            e.to_string(),
            "4 annotation bytes at offset 46 are outside the 48-byte area"
        );
        assert!(a.set_u8(48, 1).is_err());
        assert!(a.set_u64(usize::MAX - 3, 1).is_err());
        assert!(a.bytes_mut(47, 2).is_err());
        assert!(a.set_ipv4(45, Ipv4Addr::LOCALHOST).is_err());
        assert_eq!(a, Anno::DEFAULT);
    }

    #[test]
    fn named_annotations_sit_where_click_puts_them() {
        let mut a = Anno::DEFAULT;
        a.set_dst_ip(Ipv4Addr::new(1, 2, 3, 4));
        assert_eq!(a.area()[..4], [1, 2, 3, 4]);
        assert_eq!(a.ipv4(0), Some(Ipv4Addr::new(1, 2, 3, 4)));
        a.set_paint(7);
        assert_eq!(a.u8(16), Some(7));
        a.set_icmp_paramprob(8);
        assert_eq!(a.u8(17), Some(8));
        a.set_fix_ip_src(1);
        assert_eq!(a.u8(19), Some(1));
        a.set_extra_length(1500);
        assert_eq!(a.u32(28), Some(1500));
        a.set_extra_packets(3);
        assert_eq!(a.u32(24), Some(3));
        a.set_sequence_number(99);
        assert_eq!(a.u32(36), Some(99));
        a.set_first_timestamp(Timestamp::from_nanos(5));
        assert_eq!(a.u64(32), Some(5));
        // Every accessor agrees with Click's name table (in lang).
        let at = |name: &str| builtin_annotation(name).unwrap();
        let mut b = Anno::DEFAULT;
        type Setter<'a> = &'a dyn Fn(&mut Anno);
        let probes: &[(&str, Setter)] = &[
            ("DST_IP", &|a| a.set_dst_ip(Ipv4Addr::BROADCAST)),
            ("DST_IP6", &|a| a.set_dst_ip6(Ipv6Addr::from(u128::MAX))),
            ("PAINT", &|a| a.set_paint(0xff)),
            ("ICMP_PARAMPROB", &|a| a.set_icmp_paramprob(0xff)),
            ("FIX_IP_SRC", &|a| a.set_fix_ip_src(0xff)),
            ("VLAN_TCI", &|a| a.set_vlan_tci(0xffff)),
            ("AGGREGATE", &|a| a.set_aggregate(u32::MAX)),
            ("FWD_RATE", &|a| a.set_fwd_rate(-1)),
            ("MISC_IP", &|a| a.set_misc_ip(Ipv4Addr::BROADCAST)),
            ("EXTRA_PACKETS", &|a| a.set_extra_packets(u32::MAX)),
            ("REV_RATE", &|a| a.set_rev_rate(-1)),
            ("GRID_ROUTE_CB", &|a| a.set_grid_route_cb(0xff)),
            ("EXTRA_LENGTH", &|a| a.set_extra_length(u32::MAX)),
            ("FIRST_TIMESTAMP", &|a| {
                a.set_first_timestamp(Timestamp::from_nanos(u64::MAX))
            }),
            ("PACKET_NUMBER", &|a| a.set_packet_number(u32::MAX)),
            ("IPSEC_SPI", &|a| a.set_ipsec_spi(u32::MAX)),
            ("SEQUENCE_NUMBER", &|a| a.set_sequence_number(u32::MAX)),
            ("PERFCTR", &|a| a.set_perfctr(u64::MAX)),
        ];
        for (name, set) in probes {
            b.area_mut().fill(0);
            set(&mut b);
            let info = at(name);
            let ones: Vec<usize> = (0..ANNO_SIZE).filter(|&i| b.area()[i] == 0xff).collect();
            assert_eq!(
                ones,
                (info.offset..info.offset + info.size).collect::<Vec<_>>(),
                "{name}"
            );
        }
        // SEND_ERR is Click's too, though its name table leaves it out.
        b.area_mut().fill(0);
        b.set_send_err(4);
        assert_eq!(b.u8(26), Some(4));
        assert!(ANNOTATIONS
            .iter()
            .all(|(_, i)| i.offset + i.size <= ANNO_SIZE));
    }

    #[test]
    fn overlapping_slots_share_bytes() {
        let mut a = Anno::DEFAULT;
        a.set_aggregate(0);
        a.set_vlan_tci(0x1234);
        // VLAN_TCI is AGGREGATE's low-addressed two bytes, host order.
        let mut bytes = [0u8; 4];
        bytes[..2].copy_from_slice(&0x1234u16.to_ne_bytes());
        assert_eq!(a.aggregate(), u32::from_ne_bytes(bytes));
        assert_eq!(a.misc_ip(), Ipv4Addr::from(bytes));
        a.set_aggregate(0xaabb_ccdd);
        assert_eq!(
            a.vlan_tci(),
            u16::from_ne_bytes(0xaabb_ccddu32.to_ne_bytes()[..2].try_into().unwrap())
        );
        assert_eq!(a.fwd_rate(), 0xaabb_ccddu32 as i32);
        // DST_IP is DST_IP6's first four bytes.
        a.set_dst_ip6("102:304::".parse().unwrap());
        assert_eq!(a.dst_ip(), Ipv4Addr::new(1, 2, 3, 4));
        // PACKET_NUMBER and IPSEC_SPI are FIRST_TIMESTAMP's first half.
        a.set_packet_number(77);
        assert_eq!(a.ipsec_spi(), 77);
        assert_eq!(
            a.first_timestamp().as_nanos().to_ne_bytes()[..4],
            77u32.to_ne_bytes()
        );
    }

    #[test]
    fn layout_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Anno>(), 64);
        assert_eq!(std::mem::align_of::<Anno>(), 8);
        assert_eq!(ANNO_SIZE, 48);
    }

    #[test]
    fn packet_type_names() {
        assert_eq!(
            PacketType::from_name("OTHERHOST"),
            Some(PacketType::OtherHost)
        );
        assert_eq!(PacketType::from_name("host"), None);
        assert_eq!(PacketType::Loopback.to_string(), "LOOPBACK");
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
