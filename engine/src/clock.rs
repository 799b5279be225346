//! The router's clock: real time, or Click's simulated time (`--simtime`).
//!
//! Every time an element sees goes through the engine (`Ctx::now`,
//! `Ctx::schedule_after`, `Ctx::timestamp`), so a run can use a virtual
//! clock: in simulated mode time stands still while tasks run (it moves by
//! one microsecond per scheduling round that ran a task, as Click's
//! simulated `Timestamp::now()` ticks on each reading), and when no task is
//! runnable it jumps straight to the next timer instead of sleeping. A run
//! with only timers then finishes at once in real time.
//!
//! The monotonic type stays [`Instant`]: a simulated instant is the real
//! instant at which the run began plus the virtual time elapsed, so
//! elements do their arithmetic on `Instant`s in both modes.
//!
//! With several scheduler threads, virtual time jumps only when no thread
//! has anything to run ([`IdleThreads`]): the last thread to go idle makes
//! the jump for all, or ends the run when no thread has a timer left.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::packet::Timestamp;

/// Click's default start of simulated time: 1000000000 seconds after the
/// epoch (`click --simtime` without a value).
pub const DEFAULT_SIMTIME_START: Timestamp = Timestamp::from_nanos(1_000_000_000 * 1_000_000_000);

/// Which clock a router runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClockMode {
    /// The machine's clocks.
    #[default]
    Real,
    /// Virtual time starting at the given wall-clock time.
    Simulated(Timestamp),
}

/// How far virtual time moves in a round that ran tasks (Click's simulated
/// clock ticks by one microsecond per reading).
pub(crate) const SIM_TICK: Duration = Duration::from_micros(1);

/// The clock of one running router, shared by its threads.
#[derive(Debug)]
pub(crate) struct Clock {
    sim: Option<SimClock>,
    /// Real time runs faster or slower than the machine's (Click's global
    /// `timewarp` handler) once `warped` is set.
    warped: AtomicBool,
    warp: Mutex<Warp>,
}

/// A handle on the router's clock for an element to keep: it reads the
/// time where no context is at hand (a read handler, whose answer may
/// depend on the time, such as an ARP table's ages). Cloning it is cheap.
#[derive(Debug, Clone)]
pub struct ClockHandle(pub(crate) Arc<Clock>);

impl ClockHandle {
    /// A real-time clock of its own, for elements and tests that run
    /// outside a router.
    pub fn real() -> ClockHandle {
        ClockHandle(Arc::new(Clock::new(ClockMode::Real)))
    }

    /// The current time, as [`Ctx::now`](crate::Ctx::now) reads it.
    pub fn now(&self) -> Instant {
        self.0.now()
    }

    /// The wall-clock time now (real, or the virtual one).
    pub fn timestamp(&self) -> Timestamp {
        self.0.timestamp()
    }
}

/// Warped real time: `warped_at + (real now - real_at) * speed`.
#[derive(Debug, Clone, Copy)]
struct Warp {
    real_at: Instant,
    warped_at: Instant,
    speed: f64,
}

impl Warp {
    fn now(&self) -> Instant {
        self.warped_at + (Instant::now() - self.real_at).mul_f64(self.speed)
    }
}

#[derive(Debug)]
struct SimClock {
    /// The real instant standing for the start of virtual time.
    base: Instant,
    /// The wall-clock time at the start of virtual time.
    start: Timestamp,
    /// Virtual nanoseconds elapsed since `base`; every scheduler thread
    /// moves it forward (never back: `fetch_add`, `fetch_max`).
    elapsed: AtomicU64,
}

impl Clock {
    pub fn new(mode: ClockMode) -> Self {
        let now = Instant::now();
        Clock {
            warped: AtomicBool::new(false),
            warp: Mutex::new(Warp {
                real_at: now,
                warped_at: now,
                speed: 1.0,
            }),
            sim: match mode {
                ClockMode::Real => None,
                ClockMode::Simulated(start) => Some(SimClock {
                    base: Instant::now(),
                    start,
                    elapsed: AtomicU64::new(0),
                }),
            },
        }
    }

    /// Whether time is simulated.
    #[inline]
    pub fn simulated(&self) -> bool {
        self.sim.is_some()
    }

    /// The current time: real (warped if asked), or the virtual time
    /// reached.
    #[inline]
    pub fn now(&self) -> Instant {
        match &self.sim {
            None if self.warped.load(Ordering::Relaxed) => self.warp().now(),
            None => Instant::now(),
            Some(s) => s.base + Duration::from_nanos(s.elapsed.load(Ordering::Relaxed)),
        }
    }

    /// `delay` from now, for timers. A delay past what an `Instant` holds
    /// (a configuration's `wait 1e19`) is about a thousand years: never,
    /// in practice, rather than an overflow. Simulated time counts
    /// nanoseconds in 64 bits (584 years): a timer past that fires at its
    /// end, rather than never while the clock runs to it forever.
    pub fn after(&self, delay: Duration) -> Instant {
        let now = self.now();
        let delay = match &self.sim {
            Some(s) => {
                let left = u64::MAX - s.elapsed.load(Ordering::Relaxed);
                delay.min(Duration::from_nanos(left))
            }
            None => delay,
        };
        now.checked_add(delay)
            .unwrap_or_else(|| now + Duration::from_secs(1 << 35))
    }

    /// The wall-clock time at monotonic instant `at` (which should be
    /// close to [`Clock::now`]).
    pub fn timestamp_at(&self, at: Instant) -> Timestamp {
        match &self.sim {
            None => {
                let real = Instant::now();
                let ts = Timestamp::now();
                if at >= real {
                    Timestamp::from(ts.as_duration() + (at - real))
                } else {
                    Timestamp::from(ts.as_duration().saturating_sub(real - at))
                }
            }
            Some(s) => {
                Timestamp::from(s.start.as_duration() + at.saturating_duration_since(s.base))
            }
        }
    }

    /// The current wall-clock time: real, or the virtual one.
    #[inline]
    pub fn timestamp(&self) -> Timestamp {
        match &self.sim {
            None if self.warped.load(Ordering::Relaxed) => self.timestamp_at(self.now()),
            None => Timestamp::now(),
            Some(s) => Timestamp::from(
                s.start.as_duration() + Duration::from_nanos(s.elapsed.load(Ordering::Relaxed)),
            ),
        }
    }

    /// The real delay until the clock reads `at` (for parking).
    pub fn real_delay(&self, at: Instant) -> Duration {
        if self.warped.load(Ordering::Relaxed) {
            let w = self.warp();
            at.saturating_duration_since(w.now()).div_f64(w.speed)
        } else {
            at.saturating_duration_since(Instant::now())
        }
    }

    /// Click's `timewarp` handler: `simulation`, or the speed of time.
    pub fn timewarp(&self) -> String {
        if self.simulated() {
            "simulation".into()
        } else {
            format!("{}", self.warp().speed)
        }
    }

    /// Click's `write timewarp FACTOR`: real time runs `factor` times as
    /// fast from now on. Simulated time cannot be warped.
    pub fn set_timewarp(&self, factor: f64) -> Result<(), String> {
        if self.simulated() {
            return Err("no write handler 'timewarp' under simulated time".into());
        }
        if !(factor > 0.0 && factor.is_finite()) {
            return Err("timefactor must be > 0".into());
        }
        let mut w = self.warp.lock().unwrap_or_else(|e| e.into_inner());
        let warped_at = w.now();
        *w = Warp {
            real_at: Instant::now(),
            warped_at,
            speed: factor,
        };
        self.warped.store(true, Ordering::Relaxed);
        Ok(())
    }

    fn warp(&self) -> Warp {
        *self.warp.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Simulated time: moves the clock forward to `at` (never back).
    pub fn advance_to(&self, at: Instant) {
        if let Some(s) = &self.sim {
            let ns =
                u64::try_from(at.saturating_duration_since(s.base).as_nanos()).unwrap_or(u64::MAX);
            s.elapsed.fetch_max(ns, Ordering::Relaxed);
        }
    }

    /// Simulated time: moves the clock forward by `d`.
    pub fn advance_by(&self, d: Duration) {
        if let Some(s) = &self.sim {
            s.elapsed.fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
        }
    }
}

/// Simulated time with several scheduler threads: who is idle, and the
/// next timer of each idle thread.
#[derive(Debug)]
pub(crate) struct IdleThreads {
    state: Mutex<IdleState>,
    changed: Condvar,
}

#[derive(Debug)]
struct IdleState {
    idle: usize,
    next: Vec<Option<Instant>>,
    /// Counts the jumps, so that a waiting thread sees one happen.
    jumps: u64,
    over: bool,
}

impl IdleThreads {
    pub fn new(threads: usize) -> Self {
        IdleThreads {
            state: Mutex::new(IdleState {
                idle: 0,
                next: vec![None; threads],
                jumps: 0,
                over: false,
            }),
            changed: Condvar::new(),
        }
    }

    /// Thread `t` has nothing to run, and its next timer is due at `next`.
    /// The last thread to go idle moves `clock` to the earliest timer of
    /// all, unless `woken_elsewhere` says an idle thread has a wake
    /// pending; with no timer left the run is over. Others wait until that happens
    /// or until `ready` says they have work again (a wake from another
    /// thread, a handler call, a timer that time has reached), checked
    /// every 100 µs. Returns whether the run is over.
    pub fn wait(
        &self,
        t: usize,
        next: Option<Instant>,
        clock: &Clock,
        mut ready: impl FnMut() -> bool,
        woken_elsewhere: impl Fn() -> bool,
    ) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.over {
            return true;
        }
        s.next[t] = next;
        s.idle += 1;
        if s.idle == s.next.len() && woken_elsewhere() {
            // Another thread counted idle has been given work (this one
            // woke its task just before going idle): time must not jump
            // before it runs.
            s.idle -= 1;
            return false;
        }
        if s.idle == s.next.len() {
            match s.next.iter().flatten().min() {
                Some(&at) => clock.advance_to(at),
                None => s.over = true,
            }
            s.idle = 0;
            s.jumps += 1;
            self.changed.notify_all();
            return s.over;
        }
        let jumps = s.jumps;
        loop {
            let (guard, _) = self
                .changed
                .wait_timeout(s, Duration::from_micros(100))
                .unwrap_or_else(|e| e.into_inner());
            s = guard;
            if s.jumps != jumps {
                return s.over;
            }
            if ready() {
                s.idle -= 1;
                return false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_clock_moves_only_when_told() {
        let c = Clock::new(ClockMode::Simulated(DEFAULT_SIMTIME_START));
        let t0 = c.now();
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(c.now(), t0);
        assert_eq!(c.timestamp(), DEFAULT_SIMTIME_START);
        c.advance_to(t0 + Duration::from_millis(1500));
        assert_eq!(c.now(), t0 + Duration::from_millis(1500));
        c.advance_to(t0); // never back
        assert_eq!(c.now() - t0, Duration::from_millis(1500));
        assert_eq!(
            c.timestamp().as_nanos(),
            DEFAULT_SIMTIME_START.as_nanos() + 1_500_000_000
        );
        assert_eq!(c.timestamp_at(c.now()), c.timestamp());
        assert_eq!(c.timewarp(), "simulation");
        assert!(c.set_timewarp(2.0).is_err());
    }

    #[test]
    fn warped_real_time_runs_faster() {
        let c = Clock::new(ClockMode::Real);
        assert_eq!(c.timewarp(), "1");
        c.set_timewarp(10.0).unwrap();
        assert_eq!(c.timewarp(), "10");
        let (t0, r0) = (c.now(), Instant::now());
        std::thread::sleep(Duration::from_millis(20));
        let (dt, dr) = (c.now() - t0, r0.elapsed());
        assert!(dt >= dr.mul_f64(9.0), "{dt:?} vs {dr:?}");
        let d = c.real_delay(c.now() + Duration::from_secs(1));
        assert!(d <= Duration::from_millis(100), "{d:?}");
    }
}
