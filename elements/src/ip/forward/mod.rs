//! Forwarding: the elements of Click's IP router between the header
//! check and the output (TTL, options, fragments, encapsulation,
//! checksums), and the header arithmetic they share with the ICMP and
//! UDP/TCP elements (`hdr`).

mod decipttl;
mod dropbroadcasts;
mod fixipsrc;
pub(crate) mod hdr;
mod ipcombo;
mod ipencap;
mod ipfragmenter;
mod ipgwoptions;
mod ipreassembler;
mod markipce;
mod setipchecksum;
mod setipdscp;
mod storeipaddress;

pub use decipttl::DecIPTTL;
pub(crate) use dropbroadcasts::link_broadcast;
pub use dropbroadcasts::DropBroadcasts;
pub use fixipsrc::FixIPSrc;
pub use ipcombo::{IPInputCombo, IPOutputCombo};
pub use ipencap::IPEncap;
pub use ipfragmenter::IPFragmenter;
pub use ipgwoptions::IPGWOptions;
pub use ipreassembler::IPReassembler;
pub use markipce::MarkIPCE;
pub use setipchecksum::SetIPChecksum;
pub use setipdscp::SetIPDSCP;
pub use storeipaddress::StoreIPAddress;

use click_engine::Registry;

pub(crate) fn register(r: &mut Registry) {
    r.add::<DecIPTTL>()
        .add::<IPGWOptions>()
        .add::<FixIPSrc>()
        .add::<DropBroadcasts>()
        .add::<IPFragmenter>()
        .add::<IPReassembler>();
    r.add::<IPEncap>()
        .add::<SetIPChecksum>()
        .add::<SetIPDSCP>()
        .add::<MarkIPCE>()
        .add::<StoreIPAddress>();
    r.add::<IPInputCombo>().add::<IPOutputCombo>();
}
