//! Test support: network namespaces of a test's own with veth pairs in
//! them, entered by the test's thread, and raw sockets to send and
//! receive frames at the far end. Tests that use it need root, `ip` and
//! `ethtool`, and fail loudly, never skip, when one is missing.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The ethertype of test frames (IEEE local experimental).
pub const TEST_ETHERTYPE: u16 = 0x88b5;

/// Panics, saying what to do, unless this process is root and has `ip`
/// and `ethtool`.
pub fn require_root_and_tools() {
    // SAFETY: no arguments.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "this test needs root (veth pairs, network namespaces, packet sockets): run it as root, as CI does"
    );
    for tool in ["ip", "ethtool"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(
            found,
            "this test needs `{tool}`: apt-get install iproute2 ethtool (.ci/run installs them)"
        );
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace of the test's own, deleted (with its devices) when
/// dropped, also when the test fails.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Makes a namespace with a unique name (`tag`, the process id and a
    /// counter), with IPv6 off so that no router solicitation or MLD frame
    /// disturbs the counts.
    pub fn new(tag: &str) -> Netns {
        require_root_and_tools();
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "nmio-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        run(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns { name };
        ns.exec_ok(&[
            "sh",
            "-c",
            "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6",
        ]);
        ns.exec_ok(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `argv` inside the namespace and asserts it succeeded.
    pub fn exec_ok(&self, argv: &[&str]) {
        run(Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(argv));
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Makes a veth pair `a`/`b` (with `queues` queues each), offloads off
    /// (or AF_PACKET and AF_XDP would see 64 KB GSO frames), both up.
    pub fn veth(&self, a: &str, b: &str, queues: u32) {
        let q = queues.to_string();
        self.exec_ok(&[
            "ip",
            "link",
            "add",
            a,
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
            "type",
            "veth",
            "peer",
            "name",
            b,
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
        ]);
        for dev in [a, b] {
            self.exec_ok(&[
                "ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx",
                "off",
            ]);
            self.exec_ok(&["ip", "link", "set", dev, "up"]);
        }
    }

    /// Moves the calling thread into the namespace (threads it starts
    /// afterwards are in it too).
    pub fn enter(&self) {
        let path = format!("/var/run/netns/{}", self.name);
        let f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        // SAFETY: a namespace descriptor we just opened.
        let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns: {}", io::Error::last_os_error());
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A test frame: broadcast destination, a fixed source, the test
/// ethertype, `seq` in the first four payload bytes, then a pattern, `len`
/// bytes in all (at least 64).
pub fn frame(seq: u32, len: usize) -> Vec<u8> {
    let len = len.max(64);
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    f.extend_from_slice(&TEST_ETHERTYPE.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    while f.len() < len {
        f.push((f.len() as u32 ^ seq) as u8);
    }
    f
}

/// The sequence number of a test frame.
pub fn seq_of(frame: &[u8]) -> Option<u32> {
    if frame.len() < 18 || frame[12..14] != TEST_ETHERTYPE.to_be_bytes() {
        return None;
    }
    Some(u32::from_be_bytes([
        frame[14], frame[15], frame[16], frame[17],
    ]))
}

/// A raw packet socket on one device of the calling thread's namespace,
/// for the test ethertype only.
#[derive(Debug)]
pub struct RawSocket {
    fd: OwnedFd,
}

impl RawSocket {
    /// Opens it on `device`.
    pub fn open(device: &str) -> RawSocket {
        let ifindex = crate::sys::ifindex(device).expect("test device");
        // SAFETY: no pointers; a non-negative result is a new descriptor.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                (TEST_ETHERTYPE.to_be()) as i32,
            )
        };
        assert!(fd >= 0, "packet socket: {}", io::Error::last_os_error());
        // SAFETY: just made, owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        crate::afpacket::abi::bind(fd.as_raw_fd(), ifindex, TEST_ETHERTYPE).expect("bind");
        let size: i32 = 16 << 20;
        let _ = crate::sys::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            &size,
        );
        RawSocket { fd }
    }

    /// Sends one frame.
    pub fn send(&self, frame: &[u8]) {
        // SAFETY: a live slice of the length passed.
        let r = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        assert_eq!(
            r as usize,
            frame.len(),
            "send: {}",
            io::Error::last_os_error()
        );
    }

    /// Sends a frame of any ethertype (the socket is bound to the test
    /// one, which only filters what it receives).
    pub fn send_raw(&self, frame: &[u8]) {
        self.send(frame)
    }

    /// Receives the next frame, or `None` after `timeout`.
    pub fn recv(&self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; 65536];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one live pollfd.
            unsafe { libc::poll(&mut pfd, 1, left.as_millis().max(1) as i32) };
            // SAFETY: a live buffer of the length passed.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n > 0 {
                buf.truncate(n as usize);
                return Some(buf);
            }
        }
    }

    /// Receives up to `n` frames, in order, stopping early when none comes
    /// for `quiet`: a test then compares what arrived with what it sent.
    pub fn recv_up_to(&self, n: usize, quiet: Duration) -> Vec<Vec<u8>> {
        let mut got = Vec::with_capacity(n);
        while got.len() < n {
            match self.recv(quiet) {
                Some(f) => got.push(f),
                None => break,
            }
        }
        got
    }
}
