//! IP elements: Click's `elements/ip`.

mod getipaddress;
mod setipaddress;

pub use getipaddress::GetIPAddress;
pub use setipaddress::SetIPAddress;

use click_engine::Registry;

pub(crate) fn register(r: &mut Registry) {
    r.add::<GetIPAddress>().add::<SetIPAddress>();
}
