//! IP elements: Click's `elements/ip`.

mod getipaddress;
pub mod lookup;
mod setipaddress;

pub use getipaddress::GetIPAddress;
pub use lookup::{
    DirectIPLookup, LinearIPLookup, RadixIPLookup, RangeIPLookup, SetRandIPAddress, StaticIPLookup,
};
pub use setipaddress::SetIPAddress;

use click_engine::Registry;

pub(crate) fn register(r: &mut Registry) {
    r.add::<GetIPAddress>().add::<SetIPAddress>();
    lookup::register(r);
}
