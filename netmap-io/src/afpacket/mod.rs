//! AF_PACKET: a TPACKET_V3 receive ring and batched transmit, the method
//! that works on every Linux device (Click's `METHOD LINUX`).

mod rx;
mod tx;

pub use rx::PacketRx;
pub use tx::{PacketTx, TxMode};

/// Constants of `<linux/if_packet.h>` the libc crate does not export for
/// every target.
pub mod abi {
    pub const PACKET_RX_RING: i32 = 5;
    pub const PACKET_STATISTICS: i32 = 6;
    pub const PACKET_VERSION: i32 = 10;
    pub const PACKET_RESERVE: i32 = 12;
    pub const PACKET_TX_RING: i32 = 13;
    pub const PACKET_FANOUT: i32 = 18;
    pub const PACKET_QDISC_BYPASS: i32 = 20;
    pub const PACKET_IGNORE_OUTGOING: i32 = 23;
    pub const TPACKET_V3: i32 = 2;
    pub const PACKET_FANOUT_HASH: u32 = 0;
    pub const TP_STATUS_KERNEL: u32 = 0;
    pub const TP_STATUS_USER: u32 = 1;
    pub const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
    pub const TP_STATUS_SEND_REQUEST: u32 = 1;
    pub const TP_STATUS_SENDING: u32 = 2;
    pub const TP_STATUS_WRONG_FORMAT: u32 = 4;
    pub const ETH_P_ALL: u16 = 0x0003;
    /// `PACKET_OUTGOING`, in `sockaddr_ll.sll_pkttype`.
    pub const PACKET_OUTGOING: u8 = 4;

    /// `struct tpacket_req3`.
    #[repr(C)]
    #[derive(Default)]
    pub struct TpacketReq3 {
        pub block_size: u32,
        pub block_nr: u32,
        pub frame_size: u32,
        pub frame_nr: u32,
        pub retire_blk_tov: u32,
        pub sizeof_priv: u32,
        pub feature_req_word: u32,
    }

    /// `struct tpacket_stats_v3`.
    #[repr(C)]
    #[derive(Default, Clone, Copy)]
    pub struct TpacketStatsV3 {
        pub packets: u32,
        pub drops: u32,
        pub freeze_q_cnt: u32,
    }

    // struct tpacket_block_desc: version, offset_to_priv, then
    // tpacket_hdr_v1 from byte 8.
    pub const BD_STATUS: usize = 8;
    pub const BD_NUM_PKTS: usize = 12;
    pub const BD_FIRST: usize = 16;

    // struct tpacket3_hdr.
    pub const H_NEXT: usize = 0;
    pub const H_SEC: usize = 4;
    pub const H_NSEC: usize = 8;
    pub const H_SNAPLEN: usize = 12;
    pub const H_LEN: usize = 16;
    pub const H_STATUS: usize = 20;
    pub const H_MAC: usize = 24;
    pub const H_VLAN_TCI: usize = 32;
    /// `TPACKET_ALIGN(sizeof(struct tpacket3_hdr))`: the `sockaddr_ll`.
    pub const H_SLL: usize = 48;
    /// `sll_pkttype` in it.
    pub const SLL_PKTTYPE: usize = 10;
    /// `TPACKET3_HDRLEN - sizeof(struct sockaddr_ll)`: where a TX frame's
    /// data starts.
    pub const TX_DATA: usize = 48;

    /// A `sockaddr_ll` for bind(2).
    pub fn sockaddr_ll(ifindex: u32, protocol: u16) -> libc::sockaddr_ll {
        // SAFETY: plain C struct, zero is valid.
        let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sa.sll_family = libc::AF_PACKET as u16;
        sa.sll_protocol = protocol.to_be();
        sa.sll_ifindex = ifindex as i32;
        sa
    }

    /// Binds packet socket `fd` to `ifindex` for `protocol`.
    pub fn bind(fd: i32, ifindex: u32, protocol: u16) -> std::io::Result<()> {
        let sa = sockaddr_ll(ifindex, protocol);
        // SAFETY: `sa` is a live sockaddr_ll of the size passed.
        let r = unsafe {
            libc::bind(
                fd,
                (&sa as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if r < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

use std::sync::atomic::{AtomicU32, Ordering};

/// Reads the `u32` at `p` (memory the kernel writes too) with Acquire.
///
/// # Safety
/// `p` is 4-byte aligned and inside a live mapping.
pub(crate) unsafe fn load_acquire(p: *const u8) -> u32 {
    // SAFETY: the caller's contract; AtomicU32 has u32's layout.
    unsafe { (*p.cast::<AtomicU32>()).load(Ordering::Acquire) }
}

/// Writes the `u32` at `p` with Release.
///
/// # Safety
/// As [`load_acquire`].
pub(crate) unsafe fn store_release(p: *mut u8, v: u32) {
    // SAFETY: the caller's contract.
    unsafe { (*p.cast::<AtomicU32>()).store(v, Ordering::Release) }
}

/// Reads a plain `u32`/`u16` at `p` (ordered after an Acquire load).
///
/// # Safety
/// As [`load_acquire`], for the type's size and alignment.
pub(crate) unsafe fn read<T: Copy>(p: *const u8) -> T {
    // SAFETY: the caller's contract.
    unsafe { p.cast::<T>().read_volatile() }
}
