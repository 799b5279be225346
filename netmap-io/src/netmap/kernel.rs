//! The kernel side of netmap behind a trait: the real one (`/dev/netmap`,
//! `ioctl`s), or the emulation in [`emu`](super::emu) for tests where no
//! netmap module can load.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;

use click_engine::packet::RegionId;
use click_engine::Interest;

use super::abi::{nmreq, NIOCREGIF, NIOCRXSYNC, NIOCTXSYNC};

/// A direction: which rings a sync moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Transmit rings.
    Tx,
    /// Receive rings.
    Rx,
}

/// What the backend asks of netmap's kernel side.
pub trait Kernel: Send + Sync {
    /// `NIOCREGIF`: registers the port `req` names on a new descriptor,
    /// fills in the reply fields of `req` (`nr_offset`, `nr_memsize`, the
    /// ring and slot counts, `nr_arg2` the memory region, `nr_arg3` the
    /// extra buffers given) and maps the port's memory.
    fn register(&self, req: &mut nmreq) -> io::Result<Box<dyn Handle>>;

    /// The [`RegionId`] of memory region `mem_id` of this kernel: the same
    /// for every port of the region, different from any other memory.
    fn region(&self, mem_id: u16) -> RegionId;

    /// A word on which kernel this is, for `describe`.
    fn name(&self) -> &'static str;
}

/// A registered port: its descriptor and memory.
pub trait Handle: Send + Sync {
    /// The descriptor to wait on.
    fn fd(&self) -> RawFd;

    /// The port's memory region, as mapped in this process.
    fn memory(&self) -> (NonNull<u8>, usize);

    /// `NIOCTXSYNC` / `NIOCRXSYNC` on the rings the registration bound.
    fn sync(&self, dir: Dir) -> io::Result<()>;

    /// What to wait on [`fd`](Self::fd) for room in the TX rings.
    fn tx_interest(&self) -> Interest;
}

/// The real kernel: `/dev/netmap`.
#[derive(Clone, Copy, Debug, Default)]
pub struct DevNetmap;

/// The path of netmap's control device.
pub const DEV_NETMAP: &CStr = c"/dev/netmap";

/// The RegionId of the real kernel's region `mem_id`: a tag above any user
/// address (AF_XDP uses its UMEM's address), and the kernel's own number
/// for the region, shared by every port of it whatever the mapping.
const REAL_REGION_TAG: u64 = 0x6e6d_0000_0000_0000;

impl Kernel for DevNetmap {
    fn register(&self, req: &mut nmreq) -> io::Result<Box<dyn Handle>> {
        // SAFETY: a constant NUL-terminated path.
        let fd = unsafe { libc::open(DEV_NETMAP.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: just opened, ours alone.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: NIOCREGIF takes a struct nmreq of this size (checked in
        // abi.rs), which `req` is, live and writable.
        let r = unsafe { libc::ioctl(fd.as_raw_fd(), NIOCREGIF as _, req as *mut nmreq) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let len = req.nr_memsize as usize;
        if len == 0 {
            return Err(io::Error::other(
                "the kernel reported an empty memory region",
            ));
        }
        // SAFETY: a fresh shared mapping of the descriptor's memory; no
        // existing memory is touched. Not populated: a region is hundreds
        // of megabytes, faulted in as used.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Box::new(RealHandle {
            mem: NonNull::new(p.cast()).expect("mmap returned null"),
            len,
            fd,
        }))
    }

    fn region(&self, mem_id: u16) -> RegionId {
        RegionId(REAL_REGION_TAG | mem_id as u64)
    }

    fn name(&self) -> &'static str {
        "netmap"
    }
}

struct RealHandle {
    mem: NonNull<u8>,
    len: usize,
    fd: OwnedFd,
}

// SAFETY: the mapping is plain shared memory whose use the ring protocol
// orders; the descriptor is a file.
unsafe impl Send for RealHandle {}
// SAFETY: as above.
unsafe impl Sync for RealHandle {}

impl Handle for RealHandle {
    fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn memory(&self) -> (NonNull<u8>, usize) {
        (self.mem, self.len)
    }

    fn sync(&self, dir: Dir) -> io::Result<()> {
        let req = match dir {
            Dir::Tx => NIOCTXSYNC,
            Dir::Rx => NIOCRXSYNC,
        };
        // SAFETY: the sync ioctls take no argument.
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), req as _) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(e);
            }
        }
        Ok(())
    }

    fn tx_interest(&self) -> Interest {
        Interest::WRITE
    }
}

impl Drop for RealHandle {
    fn drop(&mut self) {
        // SAFETY: our own mapping of this length; the port that used it
        // is gone (its owner kept it alive while buffers were out).
        unsafe { libc::munmap(self.mem.as_ptr().cast(), self.len) };
    }
}
