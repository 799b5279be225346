//! Ethernet elements: Click's `elements/ethernet`.

mod arp;
mod arpprint;
mod arpquerier;
mod arpresponder;
mod arptable;
mod etherencap;
mod storeetheraddress;
pub(crate) mod vlan;

pub use arpprint::ARPPrint;
pub use arpquerier::ARPQuerier;
pub use arpresponder::{ARPFaker, ARPResponder};
pub use arptable::{ARPTable, ArpTable, DEFAULT_ENTRY_BOUND, DEFAULT_PACKET_BOUND};
pub use etherencap::{EtherEncap, EtherRewrite};
pub use storeetheraddress::StoreEtherAddress;
pub use vlan::{SetVLANAnno, VLANDecap, VLANEncap};

use click_engine::Registry;

pub(crate) fn register(r: &mut Registry) {
    r.add::<ARPPrint>();
    r.add::<EtherEncap>()
        .add::<EtherRewrite>()
        .add::<StoreEtherAddress>();
    r.add::<ARPResponder>().add::<ARPFaker>();
    r.add::<ARPQuerier>().add::<ARPTable>();
    r.add::<VLANEncap>().add::<VLANDecap>().add::<SetVLANAnno>();
}
