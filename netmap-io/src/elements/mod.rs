//! The device elements: FromDevice and PollDevice receive (one shared
//! core, [`source::Source`]), ToDevice transmits.

mod fromdevice;
mod polldevice;
mod source;
mod todevice;

pub use fromdevice::FromDevice;
pub use polldevice::PollDevice;
pub use todevice::ToDevice;
