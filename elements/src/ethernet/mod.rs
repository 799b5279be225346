//! Ethernet elements: Click's `elements/ethernet`.

mod arpprint;

pub use arpprint::ARPPrint;

use click_engine::Registry;

pub(crate) fn register(r: &mut Registry) {
    r.add::<ARPPrint>();
}
