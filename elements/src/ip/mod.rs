//! IP elements: Click's `elements/ip`.

mod getipaddress;
mod ipprint;
pub mod lookup;
mod setipaddress;

pub use getipaddress::GetIPAddress;
pub use ipprint::IPPrint;
pub(crate) use ipprint::{icmp_code_name, icmp_type_name, ip_proto_by_name};
pub use lookup::{
    DirectIPLookup, LinearIPLookup, RadixIPLookup, RangeIPLookup, SetRandIPAddress, StaticIPLookup,
};
pub use setipaddress::SetIPAddress;

use click_engine::Registry;

pub(crate) fn register(r: &mut Registry) {
    r.add::<GetIPAddress>().add::<SetIPAddress>();
    r.add::<IPPrint>();
    lookup::register(r);
}
