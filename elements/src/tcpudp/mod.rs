//! UDP and TCP elements: Click's `elements/tcpudp` (encapsulation and
//! checksums; the header checks are in `ip`).

mod setchecksum;
mod udpipencap;

pub use setchecksum::{SetTCPChecksum, SetUDPChecksum};
pub use udpipencap::UDPIPEncap;

use click_engine::Registry;

pub(crate) fn register(r: &mut Registry) {
    r.add::<UDPIPEncap>()
        .add::<SetTCPChecksum>()
        .add::<SetUDPChecksum>();
}
