//! IP elements.

pub mod lookup;

use click_engine::Registry;

/// Adds the IP elements to `r`.
pub(crate) fn register(r: &mut Registry) {
    let _ = r;
}
