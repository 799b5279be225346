//! Click's token bucket (`TokenBucketX<TokenBucketJiffyParameters>`),
//! emulated exactly: rate limiters built on it (RatedUnqueue) then pace
//! packets as Click's do, down to the rounding.
//!
//! Tokens are kept as a 32-bit fraction of the capacity: one token is
//! `scale = u32::MAX / capacity` units, and each tick (a jiffy, 1 ms) adds
//! `per_tick = rate * scale / 1000` units, rounded down. The rounding is
//! visible: at 100 tokens per second with a capacity of 1, ten ticks add a
//! little less than a token, so a token takes 11 ms (Click's
//! RatedUnqueue-01 test counts 909 or 910 packets in 10 s, not 1000).

use std::time::{Duration, Instant};

use click_engine::args::Args;

/// Ticks per second (Click's CLICK_HZ at user level: jiffies are ms).
const TICKS_PER_SECOND: u64 = 1000;
const TICK: Duration = Duration::from_millis(1);

/// Click's default burst duration.
const DEFAULT_BURST_DURATION: Duration = Duration::from_millis(20);

/// The arguments Click's rated elements share: `RATE` (mandatory, tokens
/// per second), and the bucket's capacity as `BURST_SIZE` (or `BURST`)
/// tokens or `BURST_DURATION` of RATE (default 20 ms), at least 1.
/// Returns (rate, capacity).
pub(crate) fn read_rate(args: &mut Args) -> Result<(u64, u32), String> {
    let rate: u64 = args.read_mp("RATE")?;
    let size: Option<u64> = args.read("BURST_SIZE")?.or(args.read("BURST")?);
    Ok((rate, read_burst(args, rate, size)?))
}

/// Bytes a bandwidth bucket must hold before a packet may go (Click's
/// `tb_bandwidth_thresh`): it lets a packet of any size through once the
/// bucket has this much, and takes its length out after.
pub(crate) const BANDWIDTH_THRESHOLD: u32 = 131_072;

/// The arguments of Click's bandwidth-rated elements: `RATE` as a
/// bandwidth (`200Bps`, `1Mbps`), and the capacity in bytes as
/// `BURST_BYTES` or `BURST_DURATION` of RATE, plus `BANDWIDTH_THRESHOLD`.
/// Returns (bytes per second, capacity in bytes).
pub(crate) fn read_bandwidth(args: &mut Args) -> Result<(u64, u32), String> {
    let rate: click_engine::args::Bandwidth = args.read_mp("RATE")?;
    let size: Option<u64> = args.read("BURST_BYTES")?;
    let burst = read_burst(args, rate.0, size)?;
    Ok((rate.0, burst.saturating_add(BANDWIDTH_THRESHOLD)))
}

/// The capacity: `size`, or `BURST_DURATION` (default 20 ms) of `rate`
/// in whole milliseconds, at least 1, as Click computes it.
fn read_burst(args: &mut Args, rate: u64, size: Option<u64>) -> Result<u32, String> {
    let duration: Option<Duration> = args.read("BURST_DURATION")?;
    let burst = match (duration, size) {
        (Some(_), Some(_)) => {
            return Err("BURST_DURATION and BURST_SIZE are mutually exclusive".into())
        }
        (_, Some(size)) => size,
        (d, None) => {
            let ms = d.unwrap_or(DEFAULT_BURST_DURATION).as_millis() as u64;
            rate.saturating_mul(ms) / 1000
        }
    };
    Ok(burst.clamp(1, u64::from(u32::MAX)) as u32)
}

/// What one token pays for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    /// A packet (RatedUnqueue, RatedSplitter).
    Packets,
    /// A byte (BandwidthRatedUnqueue, BandwidthRatedSplitter): a packet
    /// goes when the bucket holds `BANDWIDTH_THRESHOLD` bytes and then
    /// takes its length out, as in Click.
    Bytes,
}

impl Unit {
    /// Tokens the bucket must hold before a packet may go.
    pub fn threshold(self) -> u32 {
        match self {
            Unit::Packets => 1,
            Unit::Bytes => BANDWIDTH_THRESHOLD,
        }
    }

    /// Tokens a packet of `len` bytes takes out.
    pub fn cost(self, len: usize) -> u32 {
        match self {
            Unit::Packets => 1,
            Unit::Bytes => len.min(u32::MAX as usize) as u32,
        }
    }

    /// RATE and the capacity, as each unit reads them.
    pub fn read_rate(self, args: &mut Args) -> Result<(u64, u32), String> {
        match self {
            Unit::Packets => read_rate(args),
            Unit::Bytes => read_bandwidth(args),
        }
    }

    /// A RATE written to a `rate` handler.
    pub fn parse_rate(self, value: &str) -> Result<u64, String> {
        match self {
            Unit::Packets => Ok(Args::new(value).read_mp("RATE")?),
            Unit::Bytes => Ok(Args::new(value)
                .read_mp::<click_engine::args::Bandwidth>("RATE")?
                .0),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct TokenBucket {
    /// Units of one token.
    scale: u32,
    /// Units added per tick; 0 for a bucket that never fills.
    per_tick: u32,
    /// Units held (`u32::MAX` is full).
    units: u32,
    /// The tick of the last refill, counted from `origin`.
    tick: u64,
    origin: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens (at least enough for one tick's
    /// worth) refilled with `rate` tokens per second.
    pub fn new(rate: u32, capacity: u32) -> TokenBucket {
        let min_capacity = if rate == 0 {
            1
        } else {
            (rate - 1) / TICKS_PER_SECOND as u32 + 1
        };
        let scale = u32::MAX / capacity.max(min_capacity);
        let per_tick = (u64::from(rate) * u64::from(scale) / TICKS_PER_SECOND) as u32;
        TokenBucket {
            scale,
            per_tick: if rate == 0 { 0 } else { per_tick.max(1) },
            units: u32::MAX,
            tick: 0,
            origin: None,
        }
    }

    fn ticks_at(&mut self, now: Instant) -> u64 {
        let origin = *self.origin.get_or_insert(now);
        (now.saturating_duration_since(origin).as_nanos() / TICK.as_nanos()) as u64
    }

    /// Adds the tokens of the ticks since the last refill.
    pub fn refill(&mut self, now: Instant) {
        let tick = self.ticks_at(now);
        let added = (tick - self.tick.min(tick)).saturating_mul(u64::from(self.per_tick));
        self.units = (u64::from(self.units) + added).min(u64::from(u32::MAX)) as u32;
        self.tick = tick;
    }

    /// Whole tokens held.
    pub fn tokens(&self) -> u32 {
        self.units / self.scale
    }

    /// Removes `n` tokens (at most those held).
    pub fn remove(&mut self, n: u32) {
        let units = u64::from(n) * u64::from(self.scale);
        self.units = self
            .units
            .saturating_sub(units.min(u64::from(u32::MAX)) as u32);
    }

    /// Whether the bucket holds `n` tokens (never, if `n` is above its
    /// capacity).
    pub fn contains(&self, n: u32) -> bool {
        u64::from(n) * u64::from(self.scale) <= u64::from(self.units)
    }

    /// How long until the bucket holds one token.
    #[cfg(test)]
    pub fn time_until_one(&self) -> Option<Duration> {
        self.time_until_contains(1)
    }

    /// How long until the bucket holds `n` tokens, in whole ticks; `None`
    /// if it never will (no refill, or `n` above the capacity).
    pub fn time_until_contains(&self, n: u32) -> Option<Duration> {
        let needed = u64::from(n) * u64::from(self.scale);
        if needed <= u64::from(self.units) {
            return Some(Duration::ZERO);
        }
        if self.per_tick == 0 || needed > u64::from(u32::MAX) {
            return None;
        }
        let ticks = (needed - u64::from(self.units)).div_ceil(u64::from(self.per_tick));
        Some(TICK * ticks as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Emits a token whenever one is there, waiting as Click does
    /// otherwise; returns how many in `seconds`.
    fn tokens_in(mut b: TokenBucket, seconds: u64) -> u32 {
        let start = Instant::now();
        let end = start + Duration::from_secs(seconds);
        let mut now = start;
        let mut n = 0;
        while now < end {
            b.refill(now);
            if b.tokens() >= 1 {
                b.remove(1);
                n += 1;
            } else {
                now += b.time_until_one().expect("fills");
            }
        }
        n
    }

    #[test]
    fn rounding_matches_click() {
        // RatedUnqueue-01: RATE 100 with BURST_SIZE 1 gives a token every
        // 11 ms; RATE 2 with a capacity of 1 or 50 every 501 ms.
        assert_eq!(tokens_in(TokenBucket::new(100, 1), 10), 1 + 10_000 / 11);
        assert_eq!(tokens_in(TokenBucket::new(2, 1), 10), 20);
        assert_eq!(tokens_in(TokenBucket::new(2, 50), 10), 69);
    }

    #[test]
    fn a_full_bucket_holds_its_capacity_and_no_more() {
        let mut b = TokenBucket::new(1000, 20);
        let t = Instant::now();
        b.refill(t);
        assert_eq!(b.tokens(), 20);
        b.refill(t + Duration::from_secs(5));
        assert_eq!(b.tokens(), 20);
        b.remove(20);
        assert_eq!(b.tokens(), 0);
        assert_eq!(b.time_until_one(), Some(Duration::from_millis(1)));
    }

    #[test]
    fn zero_rate_never_fills() {
        let mut b = TokenBucket::new(0, 1);
        b.remove(1);
        assert_eq!(b.time_until_one(), None);
    }
}
