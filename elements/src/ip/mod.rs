//! IP elements (Click's `elements/ip`): classification by IP patterns,
//! header checks and marks, route lookup, addresses, printing, and the
//! Ethernet elements around them.

mod checkicmpheader;
mod checkipheader;
mod checklength;
mod checktcpheader;
mod checkudpheader;
mod common;
mod ethermirror;
mod ethervlanencap;
pub(crate) mod forward;
mod getipaddress;
mod hostetherfilter;
mod ipfilter;
mod ipmirror;
mod ipprint;
pub mod lookup;
mod markipheader;
mod rewriter;
mod setipaddress;
mod stripethervlanheader;
mod stripipheader;
mod striptonetworkheader;
mod unstripipheader;

pub use checkicmpheader::CheckICMPHeader;
pub use checkipheader::{CheckIPHeader, CheckIPHeader2};
pub use checklength::CheckLength;
pub use checktcpheader::CheckTCPHeader;
pub use checkudpheader::CheckUDPHeader;
pub use common::internet_checksum;
pub use ethermirror::EtherMirror;
pub use ethervlanencap::EtherVLANEncap;
pub use forward::*;
pub use getipaddress::GetIPAddress;
pub use hostetherfilter::HostEtherFilter;
pub use ipfilter::{IPClassifier, IPFilter};
pub use ipmirror::IPMirror;
pub use ipprint::IPPrint;
pub(crate) use ipprint::{icmp_code_name, icmp_type_name, ip_proto_by_name};
pub use lookup::{
    DirectIPLookup, LinearIPLookup, RadixIPLookup, RangeIPLookup, SetRandIPAddress, StaticIPLookup,
};
pub use markipheader::MarkIPHeader;
pub use rewriter::{
    ICMPPingRewriter, ICMPRewriter, IPAddrPairRewriter, IPAddrRewriter, IPRewriter,
    IPRewriterPatterns, RoundRobinIPMapper, TCPRewriter, UDPRewriter,
};
pub use setipaddress::SetIPAddress;
pub use stripethervlanheader::StripEtherVLANHeader;
pub use stripipheader::StripIPHeader;
pub use striptonetworkheader::StripToNetworkHeader;
pub use unstripipheader::UnstripIPHeader;

use click_engine::Registry;

pub(crate) fn register(r: &mut Registry) {
    r.add::<GetIPAddress>().add::<SetIPAddress>();
    r.add::<IPPrint>();
    lookup::register(r);
    forward::register(r);
    r.add::<IPClassifier>().add::<IPFilter>();
    r.add::<CheckIPHeader>()
        .add::<CheckIPHeader2>()
        .add::<MarkIPHeader>();
    r.add::<CheckTCPHeader>()
        .add::<CheckUDPHeader>()
        .add::<CheckICMPHeader>();
    r.add::<CheckLength>();
    r.add::<StripIPHeader>()
        .add::<UnstripIPHeader>()
        .add::<StripToNetworkHeader>();
    r.add::<EtherMirror>()
        .add::<IPMirror>()
        .add::<HostEtherFilter>();
    r.add::<EtherVLANEncap>().add::<StripEtherVLANHeader>();
    rewriter::register(r);
}
