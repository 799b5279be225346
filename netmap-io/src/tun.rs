//! Linux tun/tap devices: the way to the host's own network stack
//! (KernelTun, KernelTap, FromHost, ToHost).
//!
//! A [`Tun`] is a descriptor of `/dev/net/tun` attached to a tun (IP
//! packets) or tap (Ethernet frames) device with TUNSETIFF, non-blocking.
//! What the host sends to the device is read from the descriptor one frame
//! per `read`; what is written to it is received by the host's stack as if
//! it came in on the device. Each frame carries Linux's 4-byte packet
//! information header in front (flags, then the protocol, an ethertype),
//! as Click opens the device: [`Tun::recv`] and [`Tun::send`] read and
//! write it as a separate piece of a `readv`/`writev`, so a packet's bytes
//! go to and from its pool buffer with no copy and no push.
//!
//! The kernel has no batched read or write for a tun descriptor (it is
//! not a socket, so no `recvmmsg`/`sendmmsg`; `readv` fills one frame):
//! one system call per frame is the floor, and the elements make no more,
//! reading until `EAGAIN` and sleeping on the descriptor only then.
//!
//! The device is configured with the same `SIOCSIF*` ioctls Click uses
//! (address, netmask, MTU, Ethernet address, flags) and a default route
//! with `SIOCADDRT` (Click runs `route add default gw`), on a datagram
//! socket through libc: four small ioctls do not need a netlink crate
//! (docs/ARCHITECTURE.md, "Devices", says why).

use std::ffi::CStr;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// Length of the packet information header in front of each frame.
pub const PI_LEN: usize = 4;

/// The ethertypes of the packet information header.
pub const ETHERTYPE_IP: u16 = 0x0800;
pub const ETHERTYPE_IP6: u16 = 0x86dd;

/// A tun or tap device, open and attached. Closing it (dropping) deletes
/// the device, with its addresses and routes, as the kernel does for a
/// device that was not made persistent.
#[derive(Debug)]
pub struct Tun {
    fd: OwnedFd,
    name: String,
    tap: bool,
    /// A FromHost reads it (for ToHost's warning).
    reader: AtomicBool,
}

/// One frame [`Tun::recv`] read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// Bytes of the frame in the buffer (at most the buffer's length).
    pub len: usize,
    /// The protocol of the packet information header (an ethertype).
    pub proto: u16,
    /// The frame was longer than the buffer: its end is missing.
    pub truncated: bool,
}

impl Tun {
    /// Opens `/dev/net/tun` and attaches it to a tap (`tap`) or tun
    /// device named `name`, made if it does not exist (`""`: a name the
    /// kernel chooses, `tun0`, `tap1`, ...). The device is down and has no
    /// address until configured.
    pub fn open(name: &str, tap: bool) -> Result<Tun, String> {
        let path = c"/dev/net/tun";
        // SAFETY: a NUL-terminated path; a non-negative result is a new
        // descriptor.
        let fd = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            let err = io::Error::last_os_error();
            let hint = match err.raw_os_error() {
                Some(libc::ENOENT) | Some(libc::ENODEV) | Some(libc::ENXIO) => {
                    " (this kernel has no tun driver here: `modprobe tun`, or `mknod /dev/net/tun c 10 200`)"
                }
                Some(libc::EPERM) | Some(libc::EACCES) => " (needs root or CAP_NET_ADMIN)",
                _ => "",
            };
            return Err(format!("open /dev/net/tun: {err}{hint}"));
        }
        // SAFETY: just returned by open(2), owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut ifr = ifreq(name)?;
        ifr.ifr_ifru.ifru_flags =
            (if tap { libc::IFF_TAP } else { libc::IFF_TUN }) as libc::c_short;
        // SAFETY: TUNSETIFF reads and writes one ifreq, which is live.
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut ifr) } < 0 {
            let err = io::Error::last_os_error();
            let shown = if name.is_empty() {
                "a new device"
            } else {
                name
            };
            return Err(crate::sys::os_error(shown, "TUNSETIFF", err));
        }
        // SAFETY: the kernel wrote a NUL-terminated name into the array.
        let name = unsafe { CStr::from_ptr(ifr.ifr_name.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        Ok(Tun {
            fd,
            name,
            tap,
            reader: AtomicBool::new(false),
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it is a tap device (Ethernet frames) rather than a tun.
    pub fn is_tap(&self) -> bool {
        self.tap
    }

    /// Notes that an element reads the device's frames.
    pub fn mark_reader(&self) {
        self.reader.store(true, Ordering::Relaxed);
    }

    /// Whether an element reads the device's frames.
    pub fn has_reader(&self) -> bool {
        self.reader.load(Ordering::Relaxed)
    }

    /// The descriptor, to wait on for frames.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Reads the next frame the host sent to the device into `buf`.
    /// `Ok(None)`: nothing is waiting (`EAGAIN`). One system call.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        let mut pi = [0u8; PI_LEN];
        let iov = [
            libc::iovec {
                iov_base: pi.as_mut_ptr().cast(),
                iov_len: PI_LEN,
            },
            libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            },
        ];
        // SAFETY: both iovecs point to live, writable memory of the
        // lengths given, borrowed for the call.
        let n = unsafe { libc::readv(self.fd(), iov.as_ptr(), 2) };
        if n < 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(None),
                _ => Err(err),
            };
        }
        // The kernel returns the frame's whole length even when it copied
        // only what fit (and then sets TUN_PKT_STRIP).
        let whole = (n as usize).saturating_sub(PI_LEN);
        let flags = u16::from_ne_bytes([pi[0], pi[1]]);
        Ok(Some(Received {
            len: whole.min(buf.len()),
            proto: u16::from_be_bytes([pi[2], pi[3]]),
            truncated: (n as usize) < PI_LEN
                || whole > buf.len()
                || flags & libc::TUN_PKT_STRIP as u16 != 0,
        }))
    }

    /// Hands one frame (an IP packet on a tun, an Ethernet frame on a tap)
    /// with protocol `proto` to the host's stack. One system call.
    pub fn send(&self, proto: u16, data: &[u8]) -> io::Result<()> {
        let p = proto.to_be_bytes();
        let pi = [0, 0, p[0], p[1]];
        let iov = [
            libc::iovec {
                iov_base: pi.as_ptr() as *mut _,
                iov_len: PI_LEN,
            },
            libc::iovec {
                iov_base: data.as_ptr() as *mut _,
                iov_len: data.len(),
            },
        ];
        // SAFETY: both iovecs point to live memory of the lengths given;
        // writev only reads them.
        let n = unsafe { libc::writev(self.fd(), iov.as_ptr(), 2) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n as usize != PI_LEN + data.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short write"));
        }
        Ok(())
    }
}

/// The tap devices FromHost opened (and ToHost found), by namespace and
/// name, so that a ToHost writes on its FromHost's descriptor (a tap has
/// one reader) wherever the two run. Entries go when the last user drops
/// its `Arc`.
static HOST_TAPS: Mutex<Vec<(u64, String, Weak<Tun>)>> = Mutex::new(Vec::new());

/// The tap device `name` of this namespace shared by FromHost and ToHost:
/// the one an element of either class already opened, or a new one.
pub fn shared_tap(name: &str) -> Result<Arc<Tun>, String> {
    let ns = crate::sys::netns_id();
    let mut taps = HOST_TAPS.lock().unwrap_or_else(|e| e.into_inner());
    taps.retain(|(_, _, w)| w.strong_count() > 0);
    if let Some(t) = taps
        .iter()
        .find(|(n, d, _)| *n == ns && d == name)
        .and_then(|(_, _, w)| w.upgrade())
    {
        return Ok(t);
    }
    let tun = Arc::new(Tun::open(name, true)?);
    taps.push((ns, name.to_string(), Arc::downgrade(&tun)));
    Ok(tun)
}

/// An `ifreq` for device `name`, zeroed otherwise.
fn ifreq(name: &str) -> Result<libc::ifreq, String> {
    if name.len() >= libc::IFNAMSIZ || name.bytes().any(|b| b == 0 || b == b'/') {
        return Err(format!(
            "bad device name '{name}' (at most {} bytes, no '/')",
            libc::IFNAMSIZ - 1
        ));
    }
    // SAFETY: ifreq is plain C data; all zeroes is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    Ok(ifr)
}

/// A `sockaddr` holding the IPv4 address `addr` (a `sockaddr_in`).
fn sockaddr_of(addr: Ipv4Addr) -> libc::sockaddr {
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(addr.octets()),
        },
        sin_zero: [0; 8],
    };
    const _: () =
        assert!(std::mem::size_of::<libc::sockaddr_in>() == std::mem::size_of::<libc::sockaddr>());
    // SAFETY: both are 16-byte plain C structs (checked above); a
    // sockaddr_in is what the kernel reads from a sockaddr of AF_INET.
    unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sin) }
}

/// The device configuration Click's KernelTun and FromHost make: address
/// and netmask, Ethernet address, MTU, flags, a default route.
pub struct IfConfig {
    sock: OwnedFd,
    name: String,
}

impl IfConfig {
    /// Configures device `name` (of this thread's namespace).
    pub fn new(name: &str) -> Result<IfConfig, String> {
        ifreq(name)?;
        let sock = crate::sys::socket(libc::AF_INET, libc::SOCK_DGRAM, 0)
            .map_err(|e| format!("{name}: socket: {e}"))?;
        Ok(IfConfig {
            sock,
            name: name.to_string(),
        })
    }

    fn ioctl(
        &self,
        what: &str,
        request: libc::c_ulong,
        ifr: &mut libc::ifreq,
    ) -> Result<(), String> {
        // SAFETY: the SIOC[GS]IF* requests read and write one ifreq, which
        // is live for the call.
        if unsafe { libc::ioctl(self.sock.as_raw_fd(), request as _, ifr as *mut libc::ifreq) } < 0
        {
            return Err(crate::sys::os_error(
                &self.name,
                what,
                io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    fn req(&self) -> libc::ifreq {
        ifreq(&self.name).expect("checked in new")
    }

    /// Sets the IPv4 address, then the netmask (Linux resets the mask
    /// when the address changes, so in this order).
    pub fn set_ipv4(&self, addr: Ipv4Addr, mask: Ipv4Addr) -> Result<(), String> {
        let mut ifr = self.req();
        ifr.ifr_ifru.ifru_addr = sockaddr_of(addr);
        self.ioctl("SIOCSIFADDR", libc::SIOCSIFADDR, &mut ifr)?;
        let mut ifr = self.req();
        ifr.ifr_ifru.ifru_netmask = sockaddr_of(mask);
        self.ioctl("SIOCSIFNETMASK", libc::SIOCSIFNETMASK, &mut ifr)
    }

    /// Sets the Ethernet address (a tap's; a tun has none, and fails).
    pub fn set_ether(&self, mac: [u8; 6]) -> Result<(), String> {
        let mut ifr = self.req();
        // SAFETY: writing plain data into the union's sockaddr member.
        unsafe {
            ifr.ifr_ifru.ifru_hwaddr.sa_family = libc::ARPHRD_ETHER;
            for (d, s) in ifr.ifr_ifru.ifru_hwaddr.sa_data.iter_mut().zip(mac) {
                *d = s as libc::c_char;
            }
        }
        self.ioctl("SIOCSIFHWADDR", libc::SIOCSIFHWADDR, &mut ifr)
    }

    /// Sets the MTU.
    pub fn set_mtu(&self, mtu: usize) -> Result<(), String> {
        let mut ifr = self.req();
        ifr.ifr_ifru.ifru_mtu = i32::try_from(mtu).map_err(|_| "MTU out of range")?;
        self.ioctl("SIOCSIFMTU", libc::SIOCSIFMTU, &mut ifr)
    }

    /// Changes the interface flags: sets `set`, then clears `clear`.
    pub fn change_flags(&self, set: i32, clear: i32) -> Result<(), String> {
        let mut ifr = self.req();
        self.ioctl("SIOCGIFFLAGS", libc::SIOCGIFFLAGS, &mut ifr)?;
        // SAFETY: SIOCGIFFLAGS filled the union's flags member.
        let flags = i32::from(unsafe { ifr.ifr_ifru.ifru_flags });
        ifr.ifr_ifru.ifru_flags = ((flags | set) & !clear) as libc::c_short;
        self.ioctl("SIOCSIFFLAGS", libc::SIOCSIFFLAGS, &mut ifr)
    }

    /// Adds a default route through `gateway` (Click's `route -n add
    /// default gw GATEWAY`).
    pub fn add_default_route(&self, gateway: Ipv4Addr) -> Result<(), String> {
        // SAFETY: rtentry is plain C data (the pointer member null); all
        // zeroes is a valid value.
        let mut rt: libc::rtentry = unsafe { std::mem::zeroed() };
        rt.rt_dst = sockaddr_of(Ipv4Addr::UNSPECIFIED);
        rt.rt_genmask = sockaddr_of(Ipv4Addr::UNSPECIFIED);
        rt.rt_gateway = sockaddr_of(gateway);
        rt.rt_flags = libc::RTF_UP | libc::RTF_GATEWAY;
        // SAFETY: SIOCADDRT reads one rtentry, which is live; its rt_dev
        // is null (no device named).
        if unsafe { libc::ioctl(self.sock.as_raw_fd(), libc::SIOCADDRT as _, &mut rt) } < 0 {
            let err = io::Error::last_os_error();
            return Err(format!(
                "{}: adding a default route through {gateway}: {err}",
                self.name
            ));
        }
        Ok(())
    }
}
