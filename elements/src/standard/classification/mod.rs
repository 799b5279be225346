//! Packet classification: the compiler behind Classifier, IPClassifier and
//! IPFilter.
//!
//! A classifier's configuration is a list of rules, each an output and a
//! boolean expression over word tests ([`Atom`]: a masked 4-byte word of
//! the packet compared with a value). The element parses its patterns into
//! expressions in an [`Arena`] (Classifier's `offset/value%mask` clauses,
//! IPFilter's tcpdump-like language), then [`Program::compile`] turns the
//! whole list into one decision graph at configure time. At run time a
//! packet walks the graph from its root: each step reads one word, checks
//! that the bytes it needs are present, and goes where the word's value
//! says, through a binary test or a multi-way table ([`Program::classify`]).
//!
//! [`Program::interpret`] evaluates the same rules directly, one after the
//! other: it is the definition the graph must agree with, and the property
//! tests compare the two on random rules and packets.
//!
//! Short packets: a test whose bytes are not all present takes its
//! *short* value (normally false), never reads beyond the packet, and
//! never panics; `!` at the pattern level turns a failed short test into a
//! success, as in Click, while the negations inside a primitive (`!=`,
//! `ip unfrag`) keep a too-short packet failing the primitive.

mod expr;
mod program;

pub use expr::{
    needed, Arena, Atom, ExprId, FxHasher, FxMap, Node, Region, View, MAX_DEPTH, NREGIONS,
};
pub use program::{Program, Rule, DROP};

use click_engine::Packet;

impl<'a> View<'a> {
    /// A view of an IP packet for IPFilter's tests: the MAC, network and
    /// transport regions start at the packet's header annotations (which
    /// may lie in the headroom) and end with its data. An unset header
    /// leaves its region empty, so tests on it fail as on a short packet.
    #[inline]
    pub fn of_ip_packet(p: &'a Packet) -> View<'a> {
        let head = p.headroom() as i64;
        let end = head + p.len() as i64;
        let region = |off: Option<isize>| -> (i32, i32) {
            match off {
                Some(o) => {
                    let start = head + o as i64;
                    (start as i32, (end - start) as i32)
                }
                None => (0, -1),
            }
        };
        View {
            buf: p.buffer(),
            regions: [
                (head as i32, p.len() as i32),
                region(p.mac_header_offset()),
                region(p.network_header_offset()),
                region(p.transport_header_offset()),
            ],
        }
    }
}
