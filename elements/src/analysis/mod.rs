//! Elements for trace analysis (Click's `elements/analysis`): timestamps
//! moved, measured and filtered, and streams merged by time.

mod adjusttimestamp;
mod settimestampdelta;
mod timefilter;
mod timesortedsched;

pub use adjusttimestamp::AdjustTimestamp;
pub use settimestampdelta::SetTimestampDelta;
pub use timefilter::TimeFilter;
pub use timesortedsched::TimeSortedSched;

use click_engine::args::{format_seconds, FromArg};
use click_engine::packet::Timestamp;
use click_engine::Registry;

pub(crate) fn register(r: &mut Registry) {
    r.add::<TimeSortedSched>()
        .add::<SetTimestampDelta>()
        .add::<AdjustTimestamp>()
        .add::<TimeFilter>();
}

/// A time that may be negative (Click's `TimestampArg(true)`): seconds
/// with an optional sign (`-1`, `+1.5`, `10ms`), in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SignedTime(pub(crate) i64);

impl FromArg for SignedTime {
    const EXPECTED: &'static str = "time in seconds";

    fn from_arg(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let d = std::time::Duration::from_arg(rest)?;
        let ns = i64::try_from(d.as_nanos()).map_err(|_| "out of range".to_string())?;
        Ok(SignedTime(if negative { -ns } else { ns }))
    }
}

impl SignedTime {
    /// Click's way: `-0.5`, `1.25`.
    pub(crate) fn unparse(self) -> String {
        let d = std::time::Duration::from_nanos(self.0.unsigned_abs());
        let sign = if self.0 < 0 { "-" } else { "" };
        format!("{sign}{}", format_seconds(d))
    }
}

/// A timestamp as Click prints it (`1.500000`, `-0.900000`).
pub(crate) fn unparse_timestamp(ns: i64) -> String {
    let mut s = String::new();
    crate::standard::push_timestamp(&mut s, Timestamp::from_signed_nanos(ns));
    s
}
