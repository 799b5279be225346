//! SetTimestampDelta: replaces timestamps with their distance from a
//! reference.

use click_engine::args::Args;
use click_engine::packet::Timestamp;
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port,
};

use super::unparse_timestamp;

/// What a timestamp is measured from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reference {
    /// The first set timestamp seen (RANGE).
    First,
    /// Now: the timestamp becomes its age (NOW).
    Now,
    /// The packet's own first-timestamp annotation (FIRST).
    FirstAnno,
}

/// `SetTimestampDelta([*keywords* TYPE])`: replaces each set (non-zero)
/// timestamp with a difference. TYPE `RANGE` (the default) measures it
/// from the first set timestamp this element saw; `NOW` replaces it with
/// the time elapsed since it (now minus the timestamp); `FIRST` measures
/// it from the packet's first-timestamp annotation. Unset timestamps are
/// left alone. A result before zero stays negative, as in Click.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `first` (read: the reference of RANGE, `0.000000` before
///   the first packet); `reset` (write: the next set timestamp becomes
///   the reference).
pub struct SetTimestampDelta {
    reference: Reference,
    /// RANGE's reference, 0 until a set timestamp arrives.
    first: i64,
}

impl ElementClass for SetTimestampDelta {
    const CLASS: &'static str = "SetTimestampDelta";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let kind: String = args.read("TYPE")?.unwrap_or_else(|| "RANGE".into());
        let reference = match kind.as_str() {
            "RANGE" => Reference::First,
            "NOW" => Reference::Now,
            "FIRST" => Reference::FirstAnno,
            _ => return Err("bad TYPE".into()),
        };
        Ok(SetTimestampDelta {
            reference,
            first: 0,
        })
    }
}

impl PacketElement for SetTimestampDelta {
    #[inline]
    fn process(&mut self, packet: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let ts = packet.anno().timestamp().as_signed_nanos();
        if ts == 0 {
            return Some(0);
        }
        let delta = match self.reference {
            Reference::First => {
                if self.first == 0 {
                    self.first = ts;
                }
                ts.wrapping_sub(self.first)
            }
            Reference::Now => ctx.timestamp().as_signed_nanos().wrapping_sub(ts),
            Reference::FirstAnno => {
                ts.wrapping_sub(packet.anno().first_timestamp().as_signed_nanos())
            }
        };
        packet
            .anno_mut()
            .set_timestamp(Timestamp::from_signed_nanos(delta));
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("first"), Handler::write("reset")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "first").then(|| unparse_timestamp(self.first))
    }

    fn write_handler(
        &mut self,
        name: &str,
        _value: &str,
        _ctx: &mut Ctx<'_>,
    ) -> Result<(), String> {
        match name {
            "reset" => self.first = 0,
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
