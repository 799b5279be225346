//! IPv4 route lookup: Click's IPRouteTable elements (RadixIPLookup,
//! DirectIPLookup, RangeIPLookup, LinearIPLookup, StaticIPLookup) on one
//! longest-prefix-match structure, DIR-24-8 (see docs/ROUTE-LOOKUP.md).
//!
//! * [`Fib`] (`dir24.rs`): the forwarding table lookups read, lock-free,
//!   from any thread; [`Fib::lookup_batch`] looks up a batch at once.
//! * [`RouteTable`] (`table.rs`): the routes, the next hops they share,
//!   and the `Fib` kept in step with them, change by change.
//! * [`SharedTable`] (`shared.rs`): one table for an element's instances
//!   on several threads; writes applied once, retired memory reused only
//!   after every instance has moved on.
//! * `core.rs`: Click's IPRouteTable (configuration, handlers, push), and
//!   one file per element class; SetRandIPAddress gives lookups many
//!   destinations in tests and benchmarks.

mod core;
mod dir24;
mod directiplookup;
mod lineariplookup;
mod mem;
mod radixiplookup;
mod rangeiplookup;
mod route;
mod setrandipaddress;
mod shared;
mod staticiplookup;
mod table;
#[cfg(test)]
mod tests;

pub use dir24::{Fib, FibOptions, NextHop, Retired, DEFAULT_MAX_GROUPS, MAX_HOPS};
pub use directiplookup::DirectIPLookup;
pub use lineariplookup::LinearIPLookup;
pub use radixiplookup::RadixIPLookup;
pub use rangeiplookup::RangeIPLookup;
pub use route::{prefix_mask, Route, RouteError};
pub use setrandipaddress::SetRandIPAddress;
pub use shared::SharedTable;
pub use staticiplookup::StaticIPLookup;
pub use table::{Order, RouteTable, TableError, TableOptions};

use click_engine::Registry;

/// Adds the route lookup elements to `r`.
pub fn register(r: &mut Registry) {
    r.add::<RadixIPLookup>()
        .add::<DirectIPLookup>()
        .add::<RangeIPLookup>()
        .add::<LinearIPLookup>()
        .add::<StaticIPLookup>()
        .add::<SetRandIPAddress>();
}
