//! AF_XDP: a socket per (device, queue) with its UMEM, fill, completion,
//! receive and transmit rings, over the kernel's ring ABI through libc,
//! and the XDP program that steers the queue's frames to it (`bpf.rs`):
//! no C library, no build-time dependency. docs/ARCHITECTURE.md says why
//! this rather than xsk-rs, xdpilone or aya.

pub mod bpf;
mod xsk;

pub use bpf::XdpMode;
pub use xsk::{XskRx, XskTx};
