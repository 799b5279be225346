//! netmap: a port's rings in memory shared with the kernel, moved with
//! one `NIOCRXSYNC`/`NIOCTXSYNC` per batch or fewer, buffers handed
//! between rings and packets by index.
//!
//! * [`abi`]: netmap_sys 0.1.4's structures with our own helpers where
//!   its are wrong (the API version, ring space, buffer index, the RX ring
//!   past several host rings, the fields its padding hides).
//! * [`PortName`]: the names `nm_open` takes (`netmap:eth0`,
//!   `netmap:eth0-2`, `netmap:eth0^`, `vale0:p`, `netmap:x{1`).
//! * [`Kernel`]: the kernel side: [`DevNetmap`] (`/dev/netmap`), or
//!   [`emu::EmuKernel`], an emulation with the same memory layout whose
//!   peers (pipes, a wire, a VALE-like switch) play txsync and rxsync,
//!   for tests anywhere.
//! * [`NetmapRx`], [`NetmapTx`]: the two halves, each its own
//!   registration (`NR_RX_RINGS_ONLY`, `NR_TX_RINGS_ONLY`) and descriptor,
//!   so each is driven by one thread.
//! * [`RawPort`]: the rings themselves, for test programs that send and
//!   check frames slot by slot (and read buffer indices).
//!
//! How a buffer travels (docs/ARCHITECTURE.md, "Devices"): received
//! slots become packets without a copy and get a spare buffer in their
//! place; a packet sent on a port of the same memory region swaps its
//! buffer into the TX slot, and the slot's old buffer goes home to the
//! receiving half as a spare; between regions the data is copied, and
//! counted.

pub mod abi;
pub mod emu;
mod kernel;
mod name;
mod port;
mod raw;
mod rx;
mod tx;

use std::sync::{Arc, Mutex};

pub use kernel::{DevNetmap, Dir, Handle, Kernel, DEV_NETMAP};
pub use name::{has_netmap_prefix, PortName};
pub use raw::RawPort;
pub use rx::{NetmapRx, SPARE_BUFFERS};
pub use tx::NetmapTx;

static KERNEL: Mutex<Option<Arc<dyn Kernel>>> = Mutex::new(None);

/// The kernel the device elements use: `/dev/netmap`, unless a test set
/// another with [`set_kernel`].
pub fn kernel() -> Arc<dyn Kernel> {
    KERNEL
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(|| Arc::new(DevNetmap))
        .clone()
}

/// Makes the device elements of this process use `k` (an
/// [`emu::EmuKernel`] in tests: `FromDevice(netmap:x}1)` then runs
/// anywhere).
pub fn set_kernel(k: Arc<dyn Kernel>) {
    *KERNEL.lock().unwrap_or_else(|e| e.into_inner()) = Some(k);
}

/// Whether a netmap kernel is there: `/dev/netmap` exists, or a test set
/// a kernel.
pub fn available() -> bool {
    KERNEL
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|k| k.name() != "netmap")
        || std::path::Path::new("/dev/netmap").exists()
}
