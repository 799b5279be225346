//! AF_PACKET: a TPACKET_V2 receive ring and batched transmit, the method
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
    pub const TPACKET_V2: i32 = 1;
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

    /// `struct tpacket_req` (TPACKET_V2 rings).
    #[repr(C)]
    #[derive(Default)]
    pub struct TpacketReq {
        pub block_size: u32,
        pub block_nr: u32,
        pub frame_size: u32,
        pub frame_nr: u32,
    }

    /// `struct tpacket_stats`.
    #[repr(C)]
    #[derive(Default, Clone, Copy)]
    pub struct TpacketStats {
        pub packets: u32,
        pub drops: u32,
    }

    // struct tpacket3_hdr (the TX ring's frames).
    pub const H_SNAPLEN: usize = 12;
    pub const H_LEN: usize = 16;
    pub const H_STATUS: usize = 20;

    // struct tpacket2_hdr (the RX ring's frames).
    pub const H2_STATUS: usize = 0;
    pub const H2_LEN: usize = 4;
    pub const H2_SNAPLEN: usize = 8;
    pub const H2_MAC: usize = 12;
    pub const H2_SEC: usize = 16;
    pub const H2_NSEC: usize = 20;
    pub const H2_VLAN_TCI: usize = 24;
    /// `TPACKET_ALIGN(sizeof(struct tpacket2_hdr))`: the `sockaddr_ll`.
    pub const H2_SLL: usize = 32;
    /// `TPACKET2_HDRLEN`: the header and the `sockaddr_ll`.
    pub const TPACKET2_HDRLEN: usize = H2_SLL + 20;
    /// `sll_pkttype` in the `sockaddr_ll`.
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
