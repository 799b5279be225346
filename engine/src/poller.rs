//! Sleeping on file descriptors: each scheduler thread waits in one epoll
//! instance for the descriptors its elements watch (Click's `add_select`:
//! devices, sockets, tun) and for an eventfd that other threads write to
//! wake it, so an idle router sleeps until a descriptor is ready, a timer
//! is due or another thread has work for it, and burns no CPU.
//!
//! This file holds the system calls; everything it exports is safe.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// What a descriptor is watched for (Click's `SELECT_READ`/`SELECT_WRITE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interest {
    pub read: bool,
    pub write: bool,
    /// Report each change once (`EPOLLET`) rather than for as long as
    /// the descriptor stays ready: for descriptors that stay ready with
    /// nothing new to take ([`Interest::edge_triggered`]).
    pub edge: bool,
}

impl Interest {
    /// Readable (data to receive, a connection to accept).
    pub const READ: Interest = Interest {
        read: true,
        write: false,
        edge: false,
    };
    /// Writable (room to send).
    pub const WRITE: Interest = Interest {
        read: false,
        write: true,
        edge: false,
    };
    /// Either.
    pub const BOTH: Interest = Interest {
        read: true,
        write: true,
        edge: false,
    };

    /// The same interest, reported once per change of the descriptor
    /// (each arrival) instead of while it is ready. An AF_PACKET ring's
    /// socket, say, reads as ready while a packet holds the last frame it
    /// filled, with nothing new in it; watched level-triggered, it would
    /// wake its thread again and again. The element must then take what
    /// is there when woken (or stay scheduled until it has): no second
    /// report comes for what it leaves.
    pub const fn edge_triggered(self) -> Interest {
        Interest { edge: true, ..self }
    }

    fn events(self) -> u32 {
        let mut e = if self.edge { libc::EPOLLET as u32 } else { 0 };
        if self.read {
            e |= libc::EPOLLIN as u32;
        }
        if self.write {
            e |= libc::EPOLLOUT as u32;
        }
        e
    }
}

/// What a watched descriptor became.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Readiness {
    /// Readable, or closed by the peer (a read then says which).
    pub readable: bool,
    /// Writable.
    pub writable: bool,
    /// An error or hang-up on the descriptor.
    pub error: bool,
}

impl Readiness {
    fn from_events(e: u32) -> Readiness {
        let has = |flag: i32| e & flag as u32 != 0;
        Readiness {
            readable: has(libc::EPOLLIN) || has(libc::EPOLLRDHUP),
            writable: has(libc::EPOLLOUT),
            error: has(libc::EPOLLERR) || has(libc::EPOLLHUP),
        }
    }
}

/// The token of the thread's own wake-up eventfd.
const WAKE_TOKEN: u64 = u64::MAX;

/// Most events taken from the kernel per wait.
const EVENTS: usize = 64;

/// One thread's epoll instance.
#[derive(Debug)]
pub(crate) struct Poller {
    epoll: OwnedFd,
    /// Descriptors watched, besides the wake-up eventfd.
    watched: usize,
}

/// A wake-up eventfd: written by other threads, watched by one poller.
#[derive(Debug)]
pub(crate) struct WakeFd(OwnedFd);

impl WakeFd {
    pub fn new() -> io::Result<WakeFd> {
        // SAFETY: eventfd takes no pointers; a non-negative result is a
        // new descriptor that we then own.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by eventfd and is owned by nobody.
        Ok(WakeFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Makes the poller watching this eventfd return.
    pub fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our own descriptor. A
        // full counter (EAGAIN) already means "wake up"; nothing to do.
        unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Resets the eventfd after a wake-up.
    fn drain(&self) {
        let mut count: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64; the descriptor is
        // non-blocking, so an empty counter returns EAGAIN at once.
        unsafe { libc::read(self.0.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
    }
}

/// One ready descriptor, as the poller reports it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Event {
    pub fd: RawFd,
    pub ready: Readiness,
}

impl Poller {
    /// A poller that wakes when `wake` is signalled.
    pub fn new(wake: &WakeFd) -> io::Result<Poller> {
        // SAFETY: no pointers; a non-negative result is a new descriptor.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by epoll_create1, owned by nobody.
        let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
        let poller = Poller { epoll, watched: 0 };
        poller.ctl(
            libc::EPOLL_CTL_ADD,
            wake.0.as_raw_fd(),
            libc::EPOLLIN as u32,
            WAKE_TOKEN,
        )?;
        Ok(poller)
    }

    fn ctl(&self, op: i32, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: `ev` is a live epoll_event for the call's duration; the
        // kernel validates `fd`.
        let r = unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut ev) };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Watches `fd` for `interest` (replacing an earlier interest).
    pub fn watch(&mut self, fd: RawFd, interest: Interest) -> io::Result<()> {
        let token = u64::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        match self.ctl(libc::EPOLL_CTL_ADD, fd, interest.events(), token) {
            Ok(()) => {
                self.watched += 1;
                Ok(())
            }
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                self.ctl(libc::EPOLL_CTL_MOD, fd, interest.events(), token)
            }
            Err(e) => Err(e),
        }
    }

    /// Stops watching `fd`.
    pub fn unwatch(&mut self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)?;
        self.watched -= 1;
        Ok(())
    }

    /// Whether any descriptor besides the wake-up one is watched.
    pub fn watching(&self) -> bool {
        self.watched > 0
    }

    /// Waits until a descriptor is ready, the eventfd `wake` is signalled,
    /// or `timeout` passes (zero: just look), and appends the ready
    /// descriptors to `events`. Returns whether it was woken by `wake`.
    pub fn wait(
        &self,
        wake: &WakeFd,
        timeout: Duration,
        events: &mut Vec<Event>,
    ) -> io::Result<bool> {
        let mut raw = [libc::epoll_event { events: 0, u64: 0 }; EVENTS];
        let n = self.epoll_wait(&mut raw, timeout)?;
        let mut woken = false;
        for ev in &raw[..n] {
            let (token, bits) = (ev.u64, ev.events);
            if token == WAKE_TOKEN {
                wake.drain();
                woken = true;
            } else {
                events.push(Event {
                    fd: token as RawFd,
                    ready: Readiness::from_events(bits),
                });
            }
        }
        Ok(woken)
    }

    /// epoll_pwait2 (nanosecond timeouts, Linux 5.11), or epoll_wait with
    /// the timeout rounded up to a millisecond where the kernel lacks it.
    fn epoll_wait(&self, raw: &mut [libc::epoll_event], timeout: Duration) -> io::Result<usize> {
        let ts = libc::timespec {
            tv_sec: timeout.as_secs().min(i64::MAX as u64) as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: `raw` is a live, writable array of raw.len() events and
        // `ts` a live timespec; no signal mask is passed.
        let r = unsafe {
            libc::epoll_pwait2(
                self.epoll.as_raw_fd(),
                raw.as_mut_ptr(),
                raw.len() as i32,
                &ts,
                std::ptr::null(),
            )
        };
        if r >= 0 {
            return Ok(r as usize);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => Ok(0),
            Some(libc::ENOSYS) => {
                let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
                // SAFETY: as above, with a millisecond timeout.
                let r = unsafe {
                    libc::epoll_wait(
                        self.epoll.as_raw_fd(),
                        raw.as_mut_ptr(),
                        raw.len() as i32,
                        ms,
                    )
                };
                match r {
                    r if r >= 0 => Ok(r as usize),
                    _ if io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) => Ok(0),
                    _ => Err(io::Error::last_os_error()),
                }
            }
            _ => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn pipe() -> (OwnedFd, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: `fds` is a live array of two ints for pipe2 to fill.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both were just returned by pipe2 and are owned by nobody.
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
    }

    #[test]
    fn waits_for_a_descriptor_a_wake_or_the_timeout() {
        let wake = WakeFd::new().unwrap();
        let mut p = Poller::new(&wake).unwrap();
        let (r, w) = pipe();
        p.watch(r.as_raw_fd(), Interest::READ).unwrap();
        let mut ev = Vec::new();

        let t = Instant::now();
        assert!(!p.wait(&wake, Duration::from_millis(20), &mut ev).unwrap());
        assert!(ev.is_empty());
        assert!(
            t.elapsed() >= Duration::from_millis(19),
            "slept the timeout"
        );

        // SAFETY: writes one byte from a live buffer to our pipe.
        unsafe { libc::write(w.as_raw_fd(), b"x".as_ptr().cast(), 1) };
        assert!(!p.wait(&wake, Duration::from_secs(5), &mut ev).unwrap());
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].fd, r.as_raw_fd());
        assert!(ev[0].ready.readable);

        p.unwatch(r.as_raw_fd()).unwrap();
        ev.clear();
        wake.signal();
        assert!(p.wait(&wake, Duration::from_secs(5), &mut ev).unwrap());
        assert!(ev.is_empty());
        assert!(!p.wait(&wake, Duration::ZERO, &mut ev).unwrap(), "drained");
    }

    /// Level-triggered, a pipe with a byte unread is reported on every
    /// wait; edge-triggered, once, and again only when more arrives.
    #[test]
    fn an_edge_triggered_descriptor_is_reported_once_per_arrival() {
        let wake = WakeFd::new().unwrap();
        let write = |w: &OwnedFd| {
            // SAFETY: writes one byte from a live buffer to our pipe.
            assert_eq!(
                unsafe { libc::write(w.as_raw_fd(), b"x".as_ptr().cast(), 1) },
                1
            );
        };
        let reports = |p: &Poller| {
            let mut ev = Vec::new();
            p.wait(&wake, Duration::ZERO, &mut ev).unwrap();
            ev.len()
        };
        let (r, w) = pipe();
        let mut level = Poller::new(&wake).unwrap();
        level.watch(r.as_raw_fd(), Interest::READ).unwrap();
        write(&w);
        assert_eq!((reports(&level), reports(&level)), (1, 1));

        let (r, w) = pipe();
        let mut edge = Poller::new(&wake).unwrap();
        edge.watch(r.as_raw_fd(), Interest::READ.edge_triggered())
            .unwrap();
        write(&w);
        assert_eq!((reports(&edge), reports(&edge)), (1, 0));
        write(&w);
        assert_eq!((reports(&edge), reports(&edge)), (1, 0));
    }

    #[test]
    fn sub_millisecond_timeouts() {
        let wake = WakeFd::new().unwrap();
        let p = Poller::new(&wake).unwrap();
        let t = Instant::now();
        for _ in 0..10 {
            p.wait(&wake, Duration::from_micros(100), &mut Vec::new())
                .unwrap();
        }
        assert!(t.elapsed() < Duration::from_millis(9), "{:?}", t.elapsed());
    }
}
