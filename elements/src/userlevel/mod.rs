//! Elements for a router running as a user-level process: the control
//! socket and packet traces (Click's `elements/userlevel`, and the trace
//! readers and writers of `elements/analysis`).

mod controlsocket;
mod fromdump;
mod fromipsumdump;
mod ipsumdump;
mod todump;
mod toipsumdump;
mod trace;

pub use controlsocket::ControlSocket;
pub use fromdump::FromDump;
pub use fromipsumdump::FromIPSummaryDump;
pub use todump::ToDump;
pub use toipsumdump::ToIPSummaryDump;

use click_engine::Registry;

pub(crate) fn register(r: &mut Registry) {
    r.add::<ControlSocket>().add::<FromDump>().add::<ToDump>();
    r.add::<FromIPSummaryDump>().add::<ToIPSummaryDump>();
}
