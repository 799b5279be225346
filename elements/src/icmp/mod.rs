//! ICMP elements: Click's `elements/icmp` (errors, echo requests and
//! replies).

mod icmpencap;
mod icmperror;
mod icmppingresponder;
mod icmppingsource;

pub use icmpencap::{ICMPIPEncap, ICMPPingEncap};
pub use icmperror::ICMPError;
pub use icmppingresponder::ICMPPingResponder;
pub use icmppingsource::ICMPPingSource;

use click_engine::Registry;

pub(crate) fn register(r: &mut Registry) {
    r.add::<ICMPError>().add::<ICMPPingResponder>();
    r.add::<ICMPPingEncap>().add::<ICMPIPEncap>();
    r.add::<ICMPPingSource>()
        .alias::<ICMPPingSource>("ICMPSendPings");
}
