//! IP elements: classification by IP patterns, header checks and marks,
//! and the Ethernet elements around them.

mod ipfilter;

pub use ipfilter::{IPClassifier, IPFilter};

use click_engine::Registry;

pub(crate) fn register(r: &mut Registry) {
    r.add::<IPClassifier>().add::<IPFilter>();
}
