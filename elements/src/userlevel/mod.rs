//! Elements for a router running as a user-level process: the control
//! socket (Click's `elements/userlevel`).

mod controlsocket;

pub use controlsocket::ControlSocket;

use click_engine::Registry;

pub(crate) fn register(r: &mut Registry) {
    r.add::<ControlSocket>();
}
