//! IP elements.

pub mod lookup;

pub use lookup::{
    DirectIPLookup, LinearIPLookup, RadixIPLookup, RangeIPLookup, SetRandIPAddress, StaticIPLookup,
};

use click_engine::Registry;

/// Adds the IP elements to `r`.
pub(crate) fn register(r: &mut Registry) {
    lookup::register(r);
}
