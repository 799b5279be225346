//! The device elements: FromDevice and PollDevice receive (one shared
//! core, [`source::Source`]), ToDevice transmits. KernelTun, KernelTap,
//! FromHost and ToHost reach the host's own stack through tun/tap devices
//! (their receiving side shared in [`tunread`]).

mod fromdevice;
mod host;
mod kerneltun;
mod polldevice;
mod source;
mod todevice;
mod tunread;

pub use fromdevice::FromDevice;
pub use host::{FromHost, ToHost};
pub use kerneltun::{KernelTap, KernelTun};
pub use polldevice::PollDevice;
pub use todevice::ToDevice;
