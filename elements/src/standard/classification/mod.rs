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
    load, needed, Arena, Atom, ExprId, FxHasher, FxMap, Node, Region, Regions, View, ABSENT,
    MAX_DEPTH, NREGIONS,
};
pub use program::{OneTest, Program, Rule, DROP};

use click_engine::Packet;

/// A packet's data as the only region (Classifier).
#[derive(Clone, Copy, Debug)]
pub struct DataRegions<'a>(pub &'a [u8]);

impl Regions for DataRegions<'_> {
    #[inline(always)]
    fn buf(&self) -> &[u8] {
        self.0
    }

    #[inline(always)]
    fn region(&self, _r: u8) -> (i32, i32) {
        (0, self.0.len() as i32)
    }

    #[inline(always)]
    fn word(&self, _r: u8, off: usize) -> Option<&[u8]> {
        self.0.get(off..off + 4)
    }
}

/// An IP packet's regions for IPFilter's tests: the MAC, network and
/// transport regions start at the packet's header annotations (which may
/// lie in the headroom) and end with its data. An unset header leaves its
/// region absent (start `i32::MIN`, length -1), so tests on it fail as on
/// a short packet.
#[derive(Clone, Copy)]
pub struct IpRegions<'a> {
    packet: &'a Packet,
}

impl<'a> IpRegions<'a> {
    /// The regions of `p` (nothing is looked up until a step asks).
    #[inline(always)]
    pub fn of(p: &'a Packet) -> IpRegions<'a> {
        IpRegions { packet: p }
    }
}

impl Regions for IpRegions<'_> {
    #[inline(always)]
    fn buf(&self) -> &[u8] {
        // up to the end of the data: every region ends there
        let end = self.packet.headroom() + self.packet.len();
        &self.packet.buffer()[..end]
    }

    #[inline(always)]
    fn region(&self, r: u8) -> (i32, i32) {
        let p = self.packet;
        let off = match r {
            1 => p.mac_header_offset(),
            2 => p.network_header_offset(),
            3 => p.transport_header_offset(),
            _ => Some(0),
        };
        match off {
            Some(o) => {
                let head = p.headroom() as i64;
                let start = head + o as i64;
                (start as i32, (head + p.len() as i64 - start) as i32)
            }
            // absent: no byte of it, and no whole word either
            None => ABSENT,
        }
    }

    #[inline(always)]
    fn regions(&self, used: u8) -> [(i32, i32); NREGIONS] {
        let p = self.packet;
        let head = p.headroom() as i64;
        let end = head + p.len() as i64;
        let at = |off: Option<isize>| match off {
            Some(o) => ((head + o as i64) as i32, (end - head - o as i64) as i32),
            None => ABSENT,
        };
        let mut out = [(head as i32, (end - head) as i32), ABSENT, ABSENT, ABSENT];
        if used & 2 != 0 {
            out[1] = at(p.mac_header_offset());
        }
        if used & 4 != 0 {
            out[2] = at(p.network_header_offset());
        }
        if used & 8 != 0 {
            out[3] = at(p.transport_header_offset());
        }
        out
    }

    #[inline(always)]
    fn word(&self, r: u8, off: usize) -> Option<&[u8]> {
        region_word(self.packet, r, off)
    }
}

/// The four bytes at `off` in region `r` of `p` (1: MAC header, 2:
/// network header, 3: transport header, else the data), if they are
/// there. Inlined where `r` is a constant, the match goes away.
/// A header's word is read with one compare of its end with the data's
/// ([`Packet::network_header_bytes`] and the like), not by slicing the
/// header and then the word.
#[inline(always)]
fn region_word(p: &Packet, r: u8, off: usize) -> Option<&[u8]> {
    if r == 0 || r > 3 {
        return p.data().get(off..off.checked_add(4)?);
    }
    let off = u32::try_from(off).ok()?;
    let word: &[u8; 4] = match r {
        1 => p.mac_header_bytes(off)?,
        2 => p.network_header_bytes(off)?,
        _ => p.transport_header_bytes(off)?,
    };
    Some(word)
}

/// [`IpRegions`] with the region fixed in the type: a batch loop that
/// reads one region (a one-test IPClassifier) looks it up without a
/// match per packet. The region argument of its methods is ignored.
#[derive(Clone, Copy)]
pub struct IpRegion<'a, const R: u8>(pub &'a Packet);

impl<const R: u8> Regions for IpRegion<'_, R> {
    #[inline(always)]
    fn buf(&self) -> &[u8] {
        let p = self.0;
        &p.buffer()[..p.headroom() + p.len()]
    }

    #[inline(always)]
    fn region(&self, _r: u8) -> (i32, i32) {
        IpRegions::of(self.0).region(R)
    }

    #[inline(always)]
    fn word(&self, _r: u8, off: usize) -> Option<&[u8]> {
        region_word(self.0, R, off)
    }
}

impl<'a> View<'a> {
    /// The view of an IP packet's regions (see [`IpRegions`]).
    pub fn of_ip_packet(p: &'a Packet) -> View<'a> {
        let r = IpRegions::of(p);
        View {
            buf: &p.buffer()[..p.headroom() + p.len()],
            regions: [r.region(0), r.region(1), r.region(2), r.region(3)],
        }
    }
}
