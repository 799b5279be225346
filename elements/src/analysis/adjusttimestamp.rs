//! AdjustTimestamp: moves packets' timestamps by a fixed amount.

use click_engine::args::Args;
use click_engine::packet::Timestamp;
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port, Threads,
};

use super::SignedTime;

/// `AdjustTimestamp([TIME, *keywords* FIRST, ALL])`: adds TIME (seconds,
/// possibly negative: `-1`, `+0.5`; default 0) to each packet's timestamp
/// annotation, or with FIRST true to its first-timestamp annotation. An
/// unset (zero) timestamp is left alone unless ALL is true. A timestamp
/// moved before zero stays negative and prints with a minus sign, as in
/// Click.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `time` (read/write).
pub struct AdjustTimestamp {
    time: SignedTime,
    first: bool,
    all: bool,
}

impl ElementClass for AdjustTimestamp {
    const CLASS: &'static str = "AdjustTimestamp";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(AdjustTimestamp {
            time: args.read_p("TIME")?.unwrap_or_default(),
            first: args.read("FIRST")?.unwrap_or(false),
            all: args.read("ALL")?.unwrap_or(false),
        })
    }
}

impl PacketElement for AdjustTimestamp {
    #[inline]
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let anno = packet.anno_mut();
        let ts = if self.first {
            anno.first_timestamp()
        } else {
            anno.timestamp()
        };
        if ts.is_set() || self.all {
            let moved =
                Timestamp::from_signed_nanos(ts.as_signed_nanos().wrapping_add(self.time.0));
            if self.first {
                anno.set_first_timestamp(moved);
            } else {
                anno.set_timestamp(moved);
            }
        }
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("time")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "time").then(|| self.time.unparse())
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "time" => self.time = Args::new(value).read_mp("TIME")?,
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
