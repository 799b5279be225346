//! The rewriters: Click's NAT family (`IPRewriter`, `TCPRewriter`,
//! `UDPRewriter` from Click's `elements/tcpudp`, `IPAddrRewriter`,
//! `IPAddrPairRewriter`, `IPRewriterPatterns` and `RoundRobinIPMapper`
//! from `elements/ip`, `ICMPPingRewriter` and `ICMPRewriter` from
//! `elements/icmp`). They share one core (`core.rs`): input specs and
//! patterns (`pattern.rs`), flow records and checksum deltas
//! (`flow.rs`), the flow table (`table.rs`), and the handlers
//! (`handlers.rs`). What rewriters share with other elements by name:
//! their flows, read by ICMPRewriter (`icmp.rs`); named patterns
//! (`named.rs`); mappers (`mapper.rs`); a capacity (`capacity.rs`).

mod capacity;
mod core;
mod elements;
mod flow;
mod handlers;
mod icmp;
mod mapper;
mod named;
mod pattern;
mod table;

pub use elements::{
    ICMPPingRewriter, IPAddrPairRewriter, IPAddrRewriter, IPRewriter, TCPRewriter, UDPRewriter,
};
pub use icmp::ICMPRewriter;
pub use mapper::RoundRobinIPMapper;
pub use named::IPRewriterPatterns;

use click_engine::Registry;

pub(crate) fn register(r: &mut Registry) {
    r.add::<IPRewriter>()
        .add::<TCPRewriter>()
        .add::<UDPRewriter>()
        .add::<IPAddrRewriter>()
        .add::<IPAddrPairRewriter>()
        .add::<ICMPPingRewriter>()
        .add::<ICMPRewriter>()
        .add::<IPRewriterPatterns>()
        .add::<RoundRobinIPMapper>();
}
