//! The system calls the backends share, and errors that say what to do.

use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;

/// The interface index of `name`, or an error that says how to find one.
pub fn ifindex(name: &str) -> Result<u32, String> {
    let c = CString::new(name).map_err(|_| format!("bad device name '{name}'"))?;
    // SAFETY: `c` is a live NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        return Err(format!(
            "no network device '{name}' here (`ip link` lists them; a test's veth lives in its own namespace)"
        ));
    }
    Ok(index)
}

/// The device's MTU, if it can be read.
pub fn mtu(name: &str) -> Option<usize> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{name}/mtu")).ok()?;
    text.trim().parse().ok()
}

/// The number of receive queues the device has (1 if unknown).
pub fn rx_queues(name: &str) -> usize {
    std::fs::read_dir(format!("/sys/class/net/{name}/queues"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
                .count()
        })
        .unwrap_or(1)
        .max(1)
}

/// An error of `what` on `dev`, with what to do about the usual causes.
pub fn os_error(dev: &str, what: &str, err: io::Error) -> String {
    let hint = match err.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            " (needs root, or CAP_NET_RAW and CAP_NET_ADMIN, plus CAP_BPF for METHOD XDP: run as root)"
        }
        Some(libc::EAFNOSUPPORT) | Some(libc::ENOPROTOOPT) | Some(libc::ENOSYS) => {
            " (this kernel lacks it: use METHOD LINUX)"
        }
        Some(libc::ENODEV) | Some(libc::ENXIO) => " (the device went away or is down)",
        Some(libc::EBUSY) => " (another program or element uses it)",
        Some(libc::ENOMEM) => " (not enough locked memory: raise `ulimit -l`)",
        _ => "",
    };
    format!("{dev}: {what}: {err}{hint}")
}

/// A socket of `domain`/`kind`, non-blocking and close-on-exec.
pub fn socket(domain: i32, kind: i32, protocol: i32) -> io::Result<OwnedFd> {
    // SAFETY: no pointers; a non-negative result is a new descriptor.
    let fd = unsafe {
        libc::socket(
            domain,
            kind | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            protocol,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: just returned by socket(2), owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `setsockopt(fd, level, name, &value)`.
pub fn setsockopt<T>(fd: RawFd, level: i32, name: i32, value: &T) -> io::Result<()> {
    // SAFETY: `value` is a live T of the size passed.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `getsockopt(fd, level, name)` into a zeroed `T`; returns it and the
/// length the kernel wrote.
///
/// # Safety
/// `T` must be plain data that any bit pattern the kernel writes is valid
/// for (a C struct of integers).
pub unsafe fn getsockopt<T>(fd: RawFd, level: i32, name: i32) -> io::Result<(T, usize)> {
    // SAFETY: the caller's contract: zero is a valid T.
    let mut value: T = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is live and writable for `len` bytes.
    let r = unsafe { libc::getsockopt(fd, level, name, (&mut value as *mut T).cast(), &mut len) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok((value, len as usize))
    }
}

/// A shared memory mapping, unmapped when dropped.
#[derive(Debug)]
pub struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory; who reads and writes which part of
// it is the backends' protocol (ring indices with acquire/release), as for
// any memory shared with the kernel.
unsafe impl Send for Mmap {}
// SAFETY: as above.
unsafe impl Sync for Mmap {}

impl Mmap {
    /// Maps `len` bytes of `fd` at `offset`, shared, read and write.
    pub fn of_fd(fd: RawFd, len: usize, offset: u64) -> io::Result<Mmap> {
        Self::map(fd, len, offset, libc::MAP_SHARED | libc::MAP_POPULATE)
    }

    /// Maps `len` bytes of anonymous memory (an AF_XDP UMEM).
    pub fn anonymous(len: usize) -> io::Result<Mmap> {
        Self::map(
            -1,
            len,
            0,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
        )
    }

    /// Maps `len` bytes of anonymous memory, faulted in as it is used
    /// (an emulated netmap memory region).
    pub fn anonymous_lazy(len: usize) -> io::Result<Mmap> {
        Self::map(-1, len, 0, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS)
    }

    fn map(fd: RawFd, len: usize, offset: u64, flags: i32) -> io::Result<Mmap> {
        // SAFETY: a fresh mapping chosen by the kernel; no existing memory
        // is touched.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd,
                offset as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mmap {
            ptr: NonNull::new(p.cast()).expect("mmap returned null"),
            len,
        })
    }

    /// The start of the mapping.
    pub fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// Its length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty (never: mappings have a length).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The address `offset` bytes in (checked against the length).
    pub fn at(&self, offset: usize) -> *mut u8 {
        assert!(
            offset <= self.len,
            "offset {offset} past a mapping of {}",
            self.len
        );
        // SAFETY: inside the mapping (asserted).
        unsafe { self.ptr.as_ptr().add(offset) }
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: our own mapping, of this length; nothing uses it after
        // its owner drops it (owners keep it alive while buffers are out).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// The inode of this thread's network namespace: devices are named per
/// namespace, so shared sockets are looked up by (namespace, index).
pub fn netns_id() -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/thread-self/ns/net")
        .map(|m| m.ino())
        .unwrap_or(0)
}

/// Sets or clears promiscuous mode on `ifindex` through packet socket
/// `fd` (a membership, dropped with the socket, as Click's FromDevice does).
pub fn set_promisc(fd: RawFd, ifindex: u32) -> io::Result<()> {
    #[repr(C)]
    struct PacketMreq {
        mr_ifindex: i32,
        mr_type: u16,
        mr_alen: u16,
        mr_address: [u8; 8],
    }
    const PACKET_ADD_MEMBERSHIP: i32 = 1;
    const PACKET_MR_PROMISC: u16 = 1;
    let mr = PacketMreq {
        mr_ifindex: ifindex as i32,
        mr_type: PACKET_MR_PROMISC,
        mr_alen: 0,
        mr_address: [0; 8],
    };
    setsockopt(fd, libc::SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr)
}
