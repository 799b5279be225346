//! Elements for a router running as a user-level process: the control
//! socket and packet traces (Click's `elements/userlevel`, and the trace
//! readers and writers of `elements/analysis`).

mod controlsocket;
mod fromdump;
mod todump;
mod trace;

pub use controlsocket::ControlSocket;
pub use fromdump::FromDump;
pub use todump::ToDump;

use click_engine::Registry;

pub(crate) fn register(r: &mut Registry) {
    r.add::<ControlSocket>().add::<FromDump>().add::<ToDump>();
}
