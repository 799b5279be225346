//! RatedSplitter and BandwidthRatedSplitter: split a packet stream by a
//! rate of packets, or of bytes.

use click_engine::args::Args;
use click_engine::{Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, Port, PUSH};

use super::tokenbucket::{TokenBucket, Unit};

/// `RatedSplitter(RATE, *keywords* BURST_DURATION, BURST_SIZE)`: sends up
/// to RATE packets per second to output 0 and the others to output 1
/// (dropped if it is not connected), paced by the same token bucket as
/// RatedUnqueue (capacity BURST_SIZE, or RATE × BURST_DURATION, default
/// 20 ms; at least 1; it starts full). Packets keep their order on each
/// output.
///
/// * Ports: 1 push input, 1 or 2 push outputs.
/// * Handlers: `rate` (read/write).
pub struct RatedSplitter {
    unit: Unit,
    rate: u64,
    burst: u32,
    bucket: TokenBucket,
}

impl RatedSplitter {
    fn configure_in(unit: Unit, args: &mut Args) -> Result<Self, String> {
        let (rate, burst) = unit.read_rate(args)?;
        Ok(RatedSplitter {
            unit,
            rate,
            burst,
            bucket: Self::bucket(rate, burst),
        })
    }

    fn bucket(rate: u64, burst: u32) -> TokenBucket {
        TokenBucket::new(rate.min(u64::from(u32::MAX)) as u32, burst)
    }
}

impl ElementClass for RatedSplitter {
    const CLASS: &'static str = "RatedSplitter";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        RatedSplitter::configure_in(Unit::Packets, args)
    }
}

impl Element for RatedSplitter {
    fn push(&mut self, _port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        // The packets of a batch arrive together: one refill for all.
        self.bucket.refill(ctx.now());
        let (bucket, unit) = (&mut self.bucket, self.unit);
        let mut outs = [Batch::new(), Batch::new()];
        batch.split_by(&mut outs, |p| {
            if bucket.contains(unit.threshold()) {
                bucket.remove(unit.cost(p.len()));
                Some(0)
            } else {
                Some(1)
            }
        });
        let [within, over] = outs;
        if !within.is_empty() {
            ctx.push(0, within);
        }
        if !over.is_empty() {
            ctx.push(1, over);
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("rate")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "rate").then(|| self.rate.to_string())
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "rate" => {
                self.rate = self.unit.parse_rate(value)?;
                self.bucket = Self::bucket(self.rate, self.burst);
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}

/// `BandwidthRatedSplitter(RATE, *keywords* BURST_DURATION, BURST_BYTES)`:
/// RatedSplitter with RATE a bandwidth (`200Bps`, `1Mbps`): a packet goes
/// to output 0 when the byte bucket holds 131072 bytes, and takes its
/// length out; the others go to output 1, as Click's does.
///
/// * Ports: 1 push input, 1 or 2 push outputs.
/// * Handlers: `rate` (read/write, bytes per second).
pub struct BandwidthRatedSplitter(RatedSplitter);

impl ElementClass for BandwidthRatedSplitter {
    const CLASS: &'static str = "BandwidthRatedSplitter";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        RatedSplitter::configure_in(Unit::Bytes, args).map(BandwidthRatedSplitter)
    }
}

forward_element!(BandwidthRatedSplitter);
