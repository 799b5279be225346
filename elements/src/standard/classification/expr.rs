//! The meaning of a rule: a boolean expression over word tests.
//!
//! A word test ([`Atom`]) reads the 4-byte big-endian word at a byte offset
//! of one region of the packet (its data, or its MAC, network or transport
//! header), masks it and compares it with a value. When the packet lacks a
//! byte the mask needs, the test has a fixed value instead, its *short*
//! value (false unless a negation inside a primitive flipped it, as Click's
//! `negate_subtree(..., true)` does). Every test is therefore a function of
//! the packet, and a rule is plain boolean logic over tests: this module's
//! [`Arena::eval`] is the straightforward interpreter that the compiled
//! program must agree with.
//!
//! Expressions are hash-consed in an [`Arena`]: equal expressions share one
//! [`ExprId`], so the compiler can key its memo on rule lists cheaply. The
//! constructors simplify as they build (constants fold, nested `and`s and
//! `or`s flatten, double negations cancel).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// Where a test's offset counts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Region {
    /// The packet data (Classifier).
    Data = 0,
    /// The MAC header annotation (IPFilter's `ether host`).
    Mac = 1,
    /// The network header annotation (IPFilter's `ip ...`).
    Net = 2,
    /// The transport header annotation (IPFilter's ports, `tcp opt`, ...).
    Transp = 3,
}

/// Number of regions.
pub const NREGIONS: usize = 4;

impl Region {
    /// The short name used in program dumps.
    pub fn name(self) -> &'static str {
        match self {
            Region::Data => "",
            Region::Mac => "mac",
            Region::Net => "net",
            Region::Transp => "transp",
        }
    }
}

/// A word test: `(word at offset) & mask == value`, or `short` when the
/// packet lacks a byte that the mask selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Atom {
    /// The region the offset counts from.
    pub region: Region,
    /// Byte offset of the word's first byte from the region's start (may be
    /// negative: Click's MAC offsets start two bytes before the header).
    pub offset: i32,
    /// Which bits count, big-endian: `0xff00_0000` is the byte at `offset`.
    /// Never zero (a test of no bits is a constant).
    pub mask: u32,
    /// The value the masked word must have (`value & !mask == 0`).
    pub value: u32,
    /// The test's value when a selected byte is missing.
    pub short: bool,
}

impl Atom {
    /// The bytes the test needs, `[lo, hi)` from the region's start.
    #[inline]
    pub fn needed(&self) -> (i32, i32) {
        needed(self.offset, self.mask)
    }

    /// The word this test reads and the mask it applies: tests with equal
    /// keys are decided together.
    #[inline]
    pub fn word(&self) -> (Region, i32) {
        (self.region, self.offset)
    }
}

/// The bytes a `mask` at `offset` selects, `[lo, hi)`.
#[inline]
pub fn needed(offset: i32, mask: u32) -> (i32, i32) {
    let lead = (mask.leading_zeros() / 8).min(3) as i32;
    let trail = (mask.trailing_zeros() / 8).min(3) as i32;
    (offset + lead, offset + 4 - trail)
}

/// An expression in an [`Arena`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExprId(pub u32);

impl ExprId {
    /// The constant false.
    pub const FALSE: ExprId = ExprId(0);
    /// The constant true.
    pub const TRUE: ExprId = ExprId(1);

    /// Whether this is one of the two constants.
    #[inline]
    pub fn is_const(self) -> bool {
        self.0 < 2
    }

    fn index(self) -> usize {
        self.0 as usize
    }
}

/// One node of an expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// A constant.
    Const(bool),
    /// A word test.
    Atom(Atom),
    /// Negation.
    Not(ExprId),
    /// All of (at least two, none constant, none an `And`).
    And(Box<[ExprId]>),
    /// Any of (at least two, none constant, none an `Or`).
    Or(Box<[ExprId]>),
}

/// A small fast hasher for the compiler's tables (FxHash's multiply-rotate).
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i.into());
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i.into());
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    #[inline]
    fn add(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A `HashMap` with [`FxHasher`].
pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// What the arena remembers about each expression.
#[derive(Clone, Debug, Default)]
struct Info {
    /// A bloom filter of the words the expression tests (bit per word hash).
    words: u64,
    /// The distinct atoms in the expression, in evaluation order (left to
    /// right), as ids of `Atom` nodes.
    atoms: Box<[ExprId]>,
    /// Nesting depth (1 for atoms and constants).
    depth: u32,
}

/// Maximum nesting depth of an expression. The parsers refuse deeper
/// patterns, so the recursive walks here stay well inside a thread's stack.
pub const MAX_DEPTH: u32 = 600;

/// Hash-consed expressions.
#[derive(Clone, Debug)]
pub struct Arena {
    nodes: Vec<Node>,
    info: Vec<Info>,
    index: FxMap<Node, ExprId>,
}

impl Default for Arena {
    fn default() -> Self {
        Self::new()
    }
}

/// The bloom bit of a word.
#[inline]
fn word_bit(region: Region, offset: i32) -> u64 {
    let h = (offset as u32 as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((region as u64).wrapping_mul(0x632B_E59B_D9B4_E019));
    1u64 << (h >> 58)
}

impl Arena {
    /// An arena holding the two constants.
    pub fn new() -> Arena {
        let mut a = Arena {
            nodes: Vec::new(),
            info: Vec::new(),
            index: FxMap::default(),
        };
        a.intern(Node::Const(false));
        a.intern(Node::Const(true));
        a
    }

    /// The node of `e`.
    #[inline]
    pub fn node(&self, e: ExprId) -> &Node {
        &self.nodes[e.index()]
    }

    /// Number of distinct expressions.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the arena holds only the constants.
    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 2
    }

    /// The distinct atoms of `e`, left to right (ids of `Atom` nodes).
    #[inline]
    pub fn atoms(&self, e: ExprId) -> &[ExprId] {
        &self.info[e.index()].atoms
    }

    /// The atom of an `Atom` node.
    #[inline]
    pub fn atom_at(&self, e: ExprId) -> Option<&Atom> {
        match self.node(e) {
            Node::Atom(a) => Some(a),
            _ => None,
        }
    }

    /// Whether `e` may test the word at `(region, offset)` (no false
    /// negatives).
    #[inline]
    pub fn may_test(&self, e: ExprId, region: Region, offset: i32) -> bool {
        self.info[e.index()].words & word_bit(region, offset) != 0
    }

    /// The nesting depth of `e`.
    pub fn depth(&self, e: ExprId) -> u32 {
        self.info[e.index()].depth
    }

    fn intern(&mut self, node: Node) -> ExprId {
        if let Some(&id) = self.index.get(&node) {
            return id;
        }
        let info = match &node {
            Node::Const(_) => Info {
                depth: 1,
                ..Info::default()
            },
            Node::Atom(a) => Info {
                words: word_bit(a.region, a.offset),
                atoms: Box::new([ExprId(self.nodes.len() as u32)]),
                depth: 1,
            },
            Node::Not(x) => {
                let i = &self.info[x.index()];
                Info {
                    words: i.words,
                    atoms: i.atoms.clone(),
                    depth: i.depth + 1,
                }
            }
            Node::And(xs) | Node::Or(xs) => {
                let mut words = 0;
                let mut depth = 0;
                let mut atoms: Vec<ExprId> = Vec::new();
                let mut seen = FxMap::default();
                for x in xs.iter() {
                    let i = &self.info[x.index()];
                    words |= i.words;
                    depth = depth.max(i.depth);
                    for &a in i.atoms.iter() {
                        if seen.insert(a, ()).is_none() {
                            atoms.push(a);
                        }
                    }
                }
                Info {
                    words,
                    atoms: atoms.into_boxed_slice(),
                    depth: depth + 1,
                }
            }
        };
        let id = ExprId(self.nodes.len() as u32);
        self.nodes.push(node.clone());
        self.info.push(info);
        self.index.insert(node, id);
        id
    }

    /// A constant.
    pub fn constant(&mut self, b: bool) -> ExprId {
        if b {
            ExprId::TRUE
        } else {
            ExprId::FALSE
        }
    }

    /// A word test. A zero mask tests nothing: it is true. The value is
    /// masked; an offset too large for the byte ranges is an error of the
    /// caller (parsers limit offsets).
    pub fn atom(
        &mut self,
        region: Region,
        offset: i32,
        mask: u32,
        value: u32,
        short: bool,
    ) -> ExprId {
        if mask == 0 {
            return ExprId::TRUE;
        }
        self.intern(Node::Atom(Atom {
            region,
            offset,
            mask,
            value: value & mask,
            short,
        }))
    }

    /// An atom node from an [`Atom`] value.
    pub fn atom_of(&mut self, a: Atom) -> ExprId {
        self.atom(a.region, a.offset, a.mask, a.value, a.short)
    }

    /// `not e`.
    pub fn not(&mut self, e: ExprId) -> ExprId {
        match self.node(e) {
            Node::Const(b) => self.constant(!*b),
            Node::Not(x) => *x,
            _ => self.intern(Node::Not(e)),
        }
    }

    /// `all of xs` (true when empty).
    pub fn and(&mut self, xs: &[ExprId]) -> ExprId {
        self.junction(xs, true)
    }

    /// `any of xs` (false when empty).
    pub fn or(&mut self, xs: &[ExprId]) -> ExprId {
        self.junction(xs, false)
    }

    /// `and` (`conj`) or `or` (`!conj`) of `xs`, simplified.
    fn junction(&mut self, xs: &[ExprId], conj: bool) -> ExprId {
        // The neutral element (true for and) is dropped; the absorbing one
        // (false for and) wins.
        let (neutral, absorbing) = if conj {
            (ExprId::TRUE, ExprId::FALSE)
        } else {
            (ExprId::FALSE, ExprId::TRUE)
        };
        let mut out: Vec<ExprId> = Vec::with_capacity(xs.len());
        for &x in xs {
            if x == absorbing {
                return absorbing;
            }
            if x == neutral {
                continue;
            }
            match self.node(x) {
                Node::And(ys) if conj => out.extend(ys.iter().copied()),
                Node::Or(ys) if !conj => out.extend(ys.iter().copied()),
                _ => out.push(x),
            }
        }
        // Duplicates change nothing (every test is a function of the
        // packet): keep the first of each.
        if out.len() > 1 {
            let mut seen = FxMap::default();
            out.retain(|x| seen.insert(*x, ()).is_none());
        }
        match out.len() {
            0 => neutral,
            1 => out[0],
            _ => {
                let b = out.into_boxed_slice();
                self.intern(if conj { Node::And(b) } else { Node::Or(b) })
            }
        }
    }

    /// `c ? t : f`.
    pub fn ternary(&mut self, c: ExprId, t: ExprId, f: ExprId) -> ExprId {
        let yes = self.and(&[c, t]);
        let nc = self.not(c);
        let no = self.and(&[nc, f]);
        self.or(&[yes, no])
    }

    /// `e` with every test's short value flipped (Click's
    /// `negate_subtree(tree, true)` flips both the branches and the short
    /// outputs; this is the second half).
    pub fn flip_short(&mut self, e: ExprId) -> ExprId {
        let mut memo = FxMap::default();
        self.flip_rec(e, &mut memo)
    }

    fn flip_rec(&mut self, e: ExprId, memo: &mut FxMap<ExprId, ExprId>) -> ExprId {
        if let Some(&r) = memo.get(&e) {
            return r;
        }
        let r = match self.node(e).clone() {
            Node::Const(_) => e,
            Node::Atom(a) => self.atom_of(Atom {
                short: !a.short,
                ..a
            }),
            Node::Not(x) => {
                let y = self.flip_rec(x, memo);
                self.not(y)
            }
            Node::And(xs) => {
                let ys: Vec<ExprId> = xs.iter().map(|&x| self.flip_rec(x, memo)).collect();
                self.and(&ys)
            }
            Node::Or(xs) => {
                let ys: Vec<ExprId> = xs.iter().map(|&x| self.flip_rec(x, memo)).collect();
                self.or(&ys)
            }
        };
        memo.insert(e, r);
        r
    }

    /// `not (e with short values flipped)`: a negation inside a primitive,
    /// under which a packet too short for the primitive still fails it.
    pub fn negate_keeping_short(&mut self, e: ExprId) -> ExprId {
        let f = self.flip_short(e);
        self.not(f)
    }

    /// Evaluates `e` on a packet: the reference interpreter.
    pub fn eval(&self, e: ExprId, view: &View<'_>) -> bool {
        match self.node(e) {
            Node::Const(b) => *b,
            Node::Atom(a) => view.test(a),
            Node::Not(x) => !self.eval(*x, view),
            Node::And(xs) => xs.iter().all(|&x| self.eval(x, view)),
            Node::Or(xs) => xs.iter().any(|&x| self.eval(x, view)),
        }
    }

    /// Replaces the tests of `word` that `decide` settles by constants.
    /// `memo` caches results for this `decide` (one per branch).
    pub fn substitute(
        &mut self,
        e: ExprId,
        word: (Region, i32),
        decide: &impl Fn(&Atom) -> Option<bool>,
        memo: &mut FxMap<ExprId, ExprId>,
    ) -> ExprId {
        if e.is_const() || !self.may_test(e, word.0, word.1) {
            return e;
        }
        if let Some(&r) = memo.get(&e) {
            return r;
        }
        let r = match self.node(e).clone() {
            Node::Const(_) => e,
            Node::Atom(a) if a.word() == word => match decide(&a) {
                Some(b) => self.constant(b),
                None => e,
            },
            Node::Atom(_) => e,
            Node::Not(x) => {
                let y = self.substitute(x, word, decide, memo);
                self.not(y)
            }
            Node::And(xs) => {
                let mut ys = Vec::with_capacity(xs.len());
                for &x in xs.iter() {
                    let y = self.substitute(x, word, decide, memo);
                    if y == ExprId::FALSE {
                        ys.clear();
                        ys.push(y);
                        break;
                    }
                    ys.push(y);
                }
                self.and(&ys)
            }
            Node::Or(xs) => {
                let mut ys = Vec::with_capacity(xs.len());
                for &x in xs.iter() {
                    let y = self.substitute(x, word, decide, memo);
                    if y == ExprId::TRUE {
                        ys.clear();
                        ys.push(y);
                        break;
                    }
                    ys.push(y);
                }
                self.or(&ys)
            }
        };
        memo.insert(e, r);
        r
    }

    /// Writes `e` in a readable form (for `rules` handlers and test
    /// failures).
    pub fn unparse(&self, e: ExprId) -> String {
        let mut s = String::new();
        self.unparse_into(e, &mut s);
        s
    }

    fn unparse_into(&self, e: ExprId, s: &mut String) {
        use std::fmt::Write as _;
        match self.node(e) {
            Node::Const(b) => s.push_str(if *b { "true" } else { "false" }),
            Node::Atom(a) => {
                let _ = write!(
                    s,
                    "{}{}{}/{:08x}%{:08x}{}",
                    a.region.name(),
                    if a.region == Region::Data { "" } else { " " },
                    a.offset,
                    a.value,
                    a.mask,
                    if a.short { "(short:true)" } else { "" }
                );
            }
            Node::Not(x) => {
                s.push('!');
                self.unparse_into(*x, s);
            }
            Node::And(xs) | Node::Or(xs) => {
                let sep = if matches!(self.node(e), Node::And(_)) {
                    " && "
                } else {
                    " || "
                };
                s.push('(');
                for (i, &x) in xs.iter().enumerate() {
                    if i > 0 {
                        s.push_str(sep);
                    }
                    self.unparse_into(x, s);
                }
                s.push(')');
            }
        }
    }
}

/// A region the packet does not have.
pub const ABSENT: (i32, i32) = (i32::MIN, -1);

/// The bytes of a packet as the tests see them: one buffer and, per
/// region, where the region starts in it and how many bytes it has up to
/// the end of the packet data (negative or zero: none).
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    /// The bytes (the packet data for Classifier; for IPFilter the buffer
    /// from its start, since headers may lie in the headroom, to the end
    /// of the data). Every region ends where `buf` ends.
    pub buf: &'a [u8],
    /// `(start in buf, bytes available)` per region.
    pub regions: [(i32, i32); NREGIONS],
}

impl<'a> View<'a> {
    /// A view of plain data: the `Data` region is all of it.
    #[inline]
    pub fn of_data(data: &'a [u8]) -> View<'a> {
        let len = data.len().min(i32::MAX as usize) as i32;
        View {
            buf: data,
            regions: [(0, len), ABSENT, ABSENT, ABSENT],
        }
    }

    /// The result of `atom` on this packet.
    #[inline]
    pub fn test(&self, a: &Atom) -> bool {
        let (lo, hi) = a.needed();
        let (base, len) = self.regions[a.region as usize];
        if lo < 0 || hi > len {
            return a.short;
        }
        load(self.buf, base, a.offset) & a.mask == a.value
    }

    /// A view with every region of `r` looked up.
    pub fn of_regions<R: Regions>(r: &'a R) -> View<'a> {
        View {
            buf: r.buf(),
            regions: [r.region(0), r.region(1), r.region(2), r.region(3)],
        }
    }
}

/// Where a packet's bytes are, as the matcher asks for them: the buffer,
/// and each region's start in it and length (zero or less: absent),
/// looked up on demand. Every region ends where the buffer ends (at the
/// end of the packet data), which lets the matcher check a whole word
/// with one bounds check.
pub trait Regions {
    /// The bytes the regions lie in.
    fn buf(&self) -> &[u8];
    /// `(start in buf, bytes available)` of region `r` (a [`Region`] as
    /// `u8`).
    fn region(&self, r: u8) -> (i32, i32);

    /// The 4 bytes at `off` of region `r`, if the region has them all.
    #[inline(always)]
    fn word(&self, r: u8, off: usize) -> Option<&[u8]> {
        let (start, _) = self.region(r);
        if start < 0 {
            return None;
        }
        let pos = start as usize + off;
        self.buf().get(pos..pos + 4)
    }

    /// Every region whose bit is set in `used` ([`ABSENT`] for the
    /// others), looked up at once.
    #[inline(always)]
    fn regions(&self, used: u8) -> [(i32, i32); NREGIONS] {
        let mut out = [ABSENT; NREGIONS];
        for (i, o) in out.iter_mut().enumerate() {
            if used & (1 << i) != 0 {
                *o = self.region(i as u8);
            }
        }
        out
    }
}

impl Regions for View<'_> {
    #[inline(always)]
    fn buf(&self) -> &[u8] {
        self.buf
    }

    #[inline(always)]
    fn region(&self, r: u8) -> (i32, i32) {
        self.regions[(r & 3) as usize]
    }
}

/// The 4-byte big-endian word at `offset` of the region starting at
/// `base` in `buf`; bytes outside `buf` read as zero (the caller checked
/// that the bytes its mask selects are present).
#[inline(always)]
pub fn load(buf: &[u8], base: i32, offset: i32) -> u32 {
    let pos = base as i64 + offset as i64;
    if pos >= 0 {
        if let Some(b) = buf.get(pos as usize..pos as usize + 4) {
            return u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        }
    }
    load_slow(buf, pos)
}

#[cold]
#[inline(never)]
fn load_slow(buf: &[u8], pos: i64) -> u32 {
    let mut w = 0u32;
    for i in 0..4 {
        let p = pos + i;
        let byte = if p >= 0 {
            buf.get(p as usize).copied().unwrap_or(0)
        } else {
            0
        };
        w = (w << 8) | u32::from(byte);
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_simplify() {
        let mut a = Arena::new();
        let x = a.atom(Region::Data, 0, 0xff00_0000, 0x4500_0000, false);
        let y = a.atom(Region::Data, 4, 0xffff_0000, 0x0800_0000, false);
        assert_eq!(a.and(&[x, ExprId::TRUE]), x);
        assert_eq!(a.and(&[x, ExprId::FALSE]), ExprId::FALSE);
        assert_eq!(a.or(&[x, ExprId::TRUE]), ExprId::TRUE);
        assert_eq!(a.or(&[]), ExprId::FALSE);
        let nx = a.not(x);
        assert_eq!(a.not(nx), x);
        let xy = a.and(&[x, y]);
        let xyx = a.and(&[xy, x]);
        assert_eq!(xy, xyx);
        assert_eq!(a.atoms(xy).len(), 2);
        assert_eq!(a.atom(Region::Data, 0, 0, 5, false), ExprId::TRUE);
        // value is masked
        assert_eq!(a.atom(Region::Data, 0, 0xff00_0000, 0x45ff_ffff, false), x);
    }

    #[test]
    fn short_packets_use_the_short_value() {
        let mut a = Arena::new();
        let t = a.atom(Region::Data, 12, 0xffff_0000, 0x0800_0000, false);
        let data = [0u8; 13];
        assert!(!a.eval(t, &View::of_data(&data)));
        let nt = a.not(t);
        assert!(a.eval(nt, &View::of_data(&data)));
        let kept = a.negate_keeping_short(t);
        assert!(!a.eval(kept, &View::of_data(&data)));
        let mut full = [0u8; 14];
        full[12] = 8;
        assert!(a.eval(t, &View::of_data(&full)));
        assert!(!a.eval(kept, &View::of_data(&full)));
        // only the selected bytes must be present: 13/00 needs 14 bytes
        let b = a.atom(Region::Data, 12, 0x00ff_0000, 0, false);
        assert!(!a.eval(b, &View::of_data(&data)));
        assert!(a.eval(b, &View::of_data(&[0u8; 14])));
    }

    #[test]
    fn needed_bytes() {
        assert_eq!(needed(12, 0xffff_0000), (12, 14));
        assert_eq!(needed(12, 0x00ff_0000), (13, 14));
        assert_eq!(needed(-2, 0x0000_ffff), (0, 2));
        assert_eq!(needed(0, 0xffff_ffff), (0, 4));
    }
}
