//! netmap: a port's rings in memory shared with the kernel.
//!
//! * [`abi`]: netmap_sys 0.1.4's structures with our own helpers where
//!   its are wrong (the API version, ring space, buffer index, the RX ring
//!   past several host rings, the fields its padding hides).
//! * [`PortName`]: the names `nm_open` takes (`netmap:eth0`,
//!   `netmap:eth0-2`, `netmap:eth0^`, `vale0:p`, `netmap:x{1`).

pub mod abi;
mod name;

pub use name::{has_netmap_prefix, PortName};
