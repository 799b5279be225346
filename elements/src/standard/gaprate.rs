//! Click's `GapRate`: paces events at RATE per second against the
//! wall clock, emulated to Click's integer arithmetic so that elements
//! built on it (Shaper) pace as Click's do.
//!
//! It counts the events of the current second (`sec_count`) and allows one
//! more whenever the fraction of the second gone by, times the rate, has
//! caught up with it (`need >= sec_count`). A new second takes the rate
//! off the count.

use click_engine::packet::Timestamp;

/// Microseconds are shifted by this many bits for the gap's precision.
const UGAP_SHIFT: u32 = 12;
/// The highest rate: one event per 2^-12 µs.
pub const MAX_RATE: u32 = 1_000_000 << UGAP_SHIFT;

#[derive(Debug, Clone)]
pub struct GapRate {
    rate: u32,
    /// `MAX_RATE / rate`: the gap between events, in µs << UGAP_SHIFT.
    ugap: u32,
    sec_count: i64,
    /// The current second; `None` after a reset.
    sec: Option<u64>,
}

fn sec_usec(now: Timestamp) -> (u64, u32) {
    let ns = now.as_nanos();
    (ns / 1_000_000_000, (ns % 1_000_000_000 / 1000) as u32)
}

impl GapRate {
    pub fn new(rate: u32) -> GapRate {
        let mut g = GapRate {
            rate: 0,
            ugap: 0,
            sec_count: 0,
            sec: None,
        };
        g.set_rate_only(rate.min(MAX_RATE));
        g
    }

    fn set_rate_only(&mut self, rate: u32) {
        self.rate = rate;
        // Rate 0: a gap longer than any second, so nothing is ever due
        // (but the one event right after a reset).
        self.ugap = MAX_RATE.checked_div(rate).unwrap_or(MAX_RATE + 1);
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Changes the rate, keeping the current second's count in step with
    /// the new rate (Click's `set_rate`).
    pub fn set_rate(&mut self, rate: u32, now: Timestamp) {
        let rate = rate.min(MAX_RATE);
        if rate != self.rate {
            self.set_rate_only(rate);
            if self.sec.is_some() && rate != 0 {
                let (_, usec) = sec_usec(now);
                self.sec_count = i64::from((usec << UGAP_SHIFT) / self.ugap);
            }
        }
    }

    /// Forgets the past: the next check starts a new count.
    pub fn reset(&mut self) {
        self.sec = None;
    }

    /// How many events are due now (0: none); Click's `need_update`
    /// answers whether this is above 0.
    pub fn due(&mut self, now: Timestamp) -> u64 {
        let (sec, usec) = sec_usec(now);
        let scaled = usec << UGAP_SHIFT;
        let need = scaled / self.ugap;
        match self.sec {
            None => {
                // Often one event right after a reset, as in Click.
                self.sec = Some(sec);
                let rounds_up = scaled - need * self.ugap > self.ugap / 2;
                self.sec_count = i64::from(need) + i64::from(rounds_up);
            }
            Some(s) if sec > s => {
                self.sec = Some(sec);
                if self.sec_count > 0 {
                    self.sec_count -= i64::from(self.rate);
                }
            }
            Some(_) => {}
        }
        u64::try_from(i64::from(need) - self.sec_count + 1).unwrap_or(0)
    }

    /// Counts `n` events done.
    pub fn update(&mut self, n: u64) {
        self.sec_count += n as i64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_ms(ms: u64) -> Timestamp {
        Timestamp::from_nanos(1_000_000_000_000_000_000 + ms * 1_000_000)
    }

    /// Events allowed when checking every millisecond for `ms` ms.
    fn events(rate: u32, ms: u64) -> u64 {
        let mut g = GapRate::new(rate);
        let mut n = 0;
        for t in 0..ms {
            if g.due(at_ms(t)) > 0 {
                g.update(1);
                n += 1;
            }
        }
        n
    }

    #[test]
    fn paces_at_the_rate_across_seconds() {
        assert_eq!(events(1000, 3000), 3000);
        assert!((1499..=1501).contains(&events(500, 3000)));
        assert!((249..=251).contains(&events(250, 1000)));
        assert!(events(0, 3000) <= 1);
    }

    #[test]
    fn behind_means_several_due() {
        let mut g = GapRate::new(1000);
        assert!(g.due(at_ms(0)) >= 1);
        g.update(1);
        assert_eq!(g.due(at_ms(10)), 10);
    }
}
