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

use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Virtual time starting at the given wall-clock time; runs on one
    /// scheduler thread.
    Simulated(Timestamp),
}

/// How far virtual time moves in a round that ran tasks (Click's simulated
/// clock ticks by one microsecond per reading).
pub(crate) const SIM_TICK: Duration = Duration::from_micros(1);

/// The clock of one running router, shared by its threads.
#[derive(Debug)]
pub(crate) struct Clock {
    sim: Option<SimClock>,
}

#[derive(Debug)]
struct SimClock {
    /// The real instant standing for the start of virtual time.
    base: Instant,
    /// The wall-clock time at the start of virtual time.
    start: Timestamp,
    /// Virtual nanoseconds elapsed since `base`. Only the (single)
    /// scheduler thread moves it; an atomic keeps `Shared` `Sync`.
    elapsed: AtomicU64,
}

impl Clock {
    pub fn new(mode: ClockMode) -> Self {
        Clock {
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

    /// The current time: real, or the virtual time reached.
    #[inline]
    pub fn now(&self) -> Instant {
        match &self.sim {
            None => Instant::now(),
            Some(s) => s.base + Duration::from_nanos(s.elapsed.load(Ordering::Relaxed)),
        }
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
            None => Timestamp::now(),
            Some(s) => Timestamp::from(
                s.start.as_duration() + Duration::from_nanos(s.elapsed.load(Ordering::Relaxed)),
            ),
        }
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
    }
}
