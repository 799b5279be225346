//! The element library, written on click-engine's public API only, exactly
//! as a user's own element crate would be.
//!
//! [`registry`] returns a [`Registry`] holding every class here; add your
//! own classes to it before building a router.

mod analysis;
mod ethernet;
mod icmp;
mod ip;
mod standard;
mod tcpudp;
mod userlevel;

pub use analysis::*;
pub use ethernet::*;
pub use icmp::*;
pub use ip::*;
pub use standard::*;
pub use tcpudp::*;
pub use userlevel::*;

use click_engine::Registry;

/// A registry with every element class of this library.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    register_all(&mut r);
    r
}

/// Adds every element class of this library to `r`.
pub fn register_all(r: &mut Registry) {
    standard::register(r);
    ip::register(r);
    tcpudp::register(r);
    icmp::register(r);
    ethernet::register(r);
    userlevel::register(r);
    analysis::register(r);
}
