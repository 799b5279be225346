//! Rules compiled into one decision graph, and the matcher that walks it.
//!
//! # How the graph is built
//!
//! A *state* is the ordered list of rules not yet decided, each rule's
//! expression simplified by what the path to the state has learnt. If the
//! first rule's expression is `true`, the state is a leaf: that rule's
//! output. Otherwise the compiler picks one of the first rule's tests (a
//! word and its mask `M`: the packet must go through it anyway), the one
//! whose word the most remaining rules test, and branches on the value of
//! `word & M`, *many ways at once*: one branch per value that any
//! remaining rule compares that word with (under mask `M`, or a finer mask
//! that contains `M`), a default branch for every other value, and a short
//! branch for packets lacking the bytes. In each branch every test that the
//! branch settles becomes a constant, in every rule: a rule that became
//! false disappears, and the next state is looked up in a memo first, so
//! equal states share one node and the graph is a DAG.
//!
//! So a thousand rules on a thousand source addresses cost one multi-way
//! step (a binary search over a sorted table) rather than a thousand
//! tests: the work per packet follows the depth of the graph, not the
//! number of rules. The decision-tree idea is Click's (`classification.cc`
//! builds a binary tree of word tests and optimises it); the multi-way
//! steps and the construction by symbolic evaluation are ours.
//!
//! # Bounds
//!
//! A pathological rule set could make the graph grow exponentially. Each
//! attempt has a budget of nodes, work and depth; when a set of rules
//! exceeds it, the set is split in two halves compiled separately, the
//! first half's "no rule matched" leading to the second half's root (first
//! match wins, so the halves keep their order). A single rule that still
//! exceeds the budget is evaluated by the reference interpreter at run
//! time. Compilation therefore always terminates in bounded memory.

use std::fmt::Write as _;

use super::expr::{load, Arena, Atom, ExprId, FxMap, Region, Regions, View, NREGIONS};

/// The output of a packet that no rule takes (or that a `drop` rule took).
pub const DROP: u32 = 0x7fff_ffff;

/// Marks a target as an output rather than a step.
const LEAF: u32 = 0x8000_0000;

/// One rule: when `expr` holds, the packet goes to `output` ([`DROP`]:
/// dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// The output port, or [`DROP`].
    pub output: u32,
    /// The condition.
    pub expr: ExprId,
}

const KIND_TEST: u8 = 0;
const KIND_SWITCH: u8 = 1;
const KIND_INTERP: u8 = 2;

/// One step of the compiled graph.
#[derive(Clone, Copy, Debug)]
struct Step {
    region: u8,
    kind: u8,
    offset: i32,
    /// Bytes the mask selects, `[lo, hi)` from the region's start.
    lo: i32,
    hi: i32,
    mask: u32,
    /// Test: the value; switch: first index into `keys`; interpreted: the
    /// index into `interp`.
    value: u32,
    /// Switch: number of keys.
    count: u32,
    /// Test: where equal words go.
    yes: u32,
    /// Test: where other words go; switch: where words not in the table go.
    no: u32,
    /// Where packets lacking the selected bytes go.
    short: u32,
}

/// A step during construction.
#[derive(Clone, Debug)]
struct BStep {
    atom: Atom,
    keys: Vec<(u32, u32)>,
    default: u32,
    short: u32,
    interp: Option<usize>,
}

/// Rules compiled into a decision graph (see the module documentation).
#[derive(Clone, Debug)]
pub struct Program {
    steps: Box<[Step]>,
    keys: Box<[u32]>,
    targets: Box<[u32]>,
    root: u32,
    /// Rule lists evaluated by the interpreter (what no graph could hold
    /// within its budget), with where to go when none matches.
    interp: Vec<(Vec<Rule>, u32)>,
    arena: Arena,
    rules: Vec<Rule>,
    /// The program's only step, when it has one test step.
    single: Option<OneTest>,
    /// The regions the steps read (bit per region).
    regions_used: u8,
    /// Whether to look the regions up once per packet rather than at each
    /// step (graphs of more than a few steps).
    eager: bool,
}

/// The attempt went over its budget.
#[derive(Debug)]
struct TooBig;

struct Builder {
    arena: Arena,
    steps: Vec<BStep>,
    interp: Vec<(Vec<Rule>, u32)>,
    memo: FxMap<Box<[Rule]>, u32>,
    /// The substitution memo, reused (cleared) from branch to branch.
    memo_subst: FxMap<ExprId, ExprId>,
    step_limit: usize,
    work: usize,
    work_limit: usize,
}

/// Graphs with more steps than this look a packet's regions up once, not
/// at each step.
const EAGER_STEPS: usize = 4;

/// Rule entries one attempt may process before its rule list is split.
const WORK_LIMIT: usize = 4_000_000;

/// Deepest path an attempt may build (a deeper one splits the rules).
const MAX_BUILD_DEPTH: u32 = 400;

impl Builder {
    /// The target of the state `rules` (simplified by the caller's
    /// substitutions), building it if new.
    fn build(&mut self, mut rules: Vec<Rule>, fallthrough: u32, depth: u32) -> Result<u32, TooBig> {
        rules.retain(|r| r.expr != ExprId::FALSE);
        if let Some(i) = rules.iter().position(|r| r.expr == ExprId::TRUE) {
            if i == 0 {
                return Ok(LEAF | rules[0].output);
            }
            rules.truncate(i + 1);
        }
        let Some(first) = rules.first() else {
            return Ok(fallthrough);
        };
        let key: Box<[Rule]> = rules.clone().into_boxed_slice();
        if let Some(&t) = self.memo.get(&key) {
            return Ok(t);
        }
        if depth > MAX_BUILD_DEPTH || self.steps.len() >= self.step_limit {
            return Err(TooBig);
        }

        // One of the first rule's tests decides the word and the mask (so
        // that every step decides something of the first rule): the one
        // whose word the most rules test, so that one step sorts out as
        // many rules as it can and the branches replicate little; the
        // first in the rule's order among equals.
        let first_atoms = self.arena.atoms(first.expr);
        let mut best = (0usize, first_atoms[0]);
        if first_atoms.len() > 1 && rules.len() > 1 {
            for &id in first_atoms {
                let b = self.arena.atom_at(id).expect("atoms lists atom nodes");
                let n = rules
                    .iter()
                    .filter(|r| self.arena.may_test(r.expr, b.region, b.offset))
                    .count();
                if n > best.0 {
                    best = (n, id);
                }
            }
        }
        let a = *self.arena.atom_at(best.1).expect("atoms lists atom nodes");
        let word = a.word();
        let m = a.mask;
        let (lo, hi) = a.needed();

        // Every value some rule compares that word with under M (or a finer
        // mask containing M, for tests that cannot be short-true); and, per
        // rule, how its tests of the word depend on the value: rules that
        // test the word only under M (the common case) change in a value's
        // branch only if they compare with that value.
        let mut values: Vec<u32> = Vec::new();
        let mut by_value: Vec<(u32, usize)> = Vec::new();
        let mut involved: Vec<usize> = Vec::new();
        let mut complex: Vec<usize> = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if !self.arena.may_test(r.expr, word.0, word.1) {
                continue;
            }
            let mut tests = false;
            let mut exact_only = true;
            for &id in self.arena.atoms(r.expr) {
                let b = self.arena.atom_at(id).expect("atom");
                if b.word() != word {
                    continue;
                }
                tests = true;
                if b.mask == m || (b.mask & m == m && !b.short) {
                    values.push(b.value & m);
                }
                if b.mask == m {
                    by_value.push((b.value, i));
                } else {
                    exact_only = false;
                }
            }
            if tests {
                involved.push(i);
                if !exact_only {
                    complex.push(i);
                }
            }
        }
        values.sort_unstable();
        values.dedup();
        by_value.sort_unstable();

        // The short branch: M's bytes are missing.
        let short_rules = self.substituted(&rules, &involved, word, &|b: &Atom| {
            let (blo, bhi) = b.needed();
            (b.mask == m || (blo <= lo && bhi >= hi)).then_some(b.short)
        });
        let short = self.branch(short_rules, fallthrough, depth)?;
        // The default branch: M's bytes are present, the word is none of
        // `values`.
        let default_rules = self.substituted(&rules, &involved, word, &|b: &Atom| {
            (b.mask == m || (b.mask & m == m && !b.short)).then_some(false)
        });
        let default = self.branch(default_rules.clone(), fallthrough, depth)?;
        // A value's branch: the default branch's rules, but for those that
        // compare the word with that value (or test it otherwise).
        let mut keys = Vec::with_capacity(values.len());
        let mut redo: Vec<usize> = Vec::new();
        let mut at = 0;
        for &v in &values {
            redo.clear();
            while at < by_value.len() && by_value[at].0 < v {
                at += 1;
            }
            while at < by_value.len() && by_value[at].0 == v {
                redo.push(by_value[at].1);
                at += 1;
            }
            redo.extend_from_slice(&complex);
            redo.sort_unstable();
            redo.dedup();
            let mut next = default_rules.clone();
            let decide = |b: &Atom| {
                if b.mask & !m == 0 {
                    Some(v & b.mask == b.value)
                } else {
                    let common = b.mask & m;
                    (!b.short && b.value & common != v & common).then_some(false)
                }
            };
            self.memo_subst.clear();
            for &i in &redo {
                next[i].expr =
                    self.arena
                        .substitute(rules[i].expr, word, &decide, &mut self.memo_subst);
            }
            let t = self.branch(next, fallthrough, depth)?;
            if t != default {
                keys.push((v, t));
            }
        }

        let t = if keys.is_empty() && short == default {
            default
        } else {
            self.steps.push(BStep {
                atom: a,
                keys,
                default,
                short,
                interp: None,
            });
            (self.steps.len() - 1) as u32
        };
        self.memo.insert(key, t);
        Ok(t)
    }

    /// `rules` with the tests of `word` that `decide` settles replaced by
    /// constants, in the rules listed in `involved` (the others do not
    /// test the word).
    fn substituted(
        &mut self,
        rules: &[Rule],
        involved: &[usize],
        word: (Region, i32),
        decide: &impl Fn(&Atom) -> Option<bool>,
    ) -> Vec<Rule> {
        let mut next = rules.to_vec();
        self.memo_subst.clear();
        for &i in involved {
            next[i].expr = self
                .arena
                .substitute(rules[i].expr, word, decide, &mut self.memo_subst);
        }
        next
    }

    /// The target of the state `next`, counting the work.
    fn branch(&mut self, next: Vec<Rule>, fallthrough: u32, depth: u32) -> Result<u32, TooBig> {
        self.work += next.len();
        if self.work > self.work_limit {
            return Err(TooBig);
        }
        self.build(next, fallthrough, depth + 1)
    }

    /// Compiles `rules` so that packets none of them takes go to
    /// `fallthrough`, splitting the list when it is too big for one graph.
    fn chunk(&mut self, rules: &[Rule], fallthrough: u32) -> u32 {
        let mark = self.steps.len();
        let atoms: usize = rules.iter().map(|r| self.arena.atoms(r.expr).len()).sum();
        self.memo.clear();
        self.work = 0;
        self.step_limit = mark + 4096 + 16 * atoms;
        // Rule entries the attempt may process (each a copy, perhaps a
        // substitution, a hash): about a second's worth, so that a rule
        // list whose graph would replicate too much is split early.
        self.work_limit = WORK_LIMIT;
        match self.build(rules.to_vec(), fallthrough, 0) {
            Ok(t) => t,
            Err(TooBig) => {
                self.steps.truncate(mark);
                self.memo.clear();
                if rules.len() <= 1 {
                    self.interp.push((rules.to_vec(), fallthrough));
                    self.steps.push(BStep {
                        atom: Atom {
                            region: Region::Data,
                            offset: 0,
                            mask: 0,
                            value: 0,
                            short: false,
                        },
                        keys: Vec::new(),
                        default: fallthrough,
                        short: fallthrough,
                        interp: Some(self.interp.len() - 1),
                    });
                    (self.steps.len() - 1) as u32
                } else {
                    let mid = rules.len() / 2;
                    let rest = self.chunk(&rules[mid..], fallthrough);
                    self.chunk(&rules[..mid], rest)
                }
            }
        }
    }
}

/// Regions looked up once for a walk of several steps.
struct Looked<'a> {
    buf: &'a [u8],
    regs: &'a [(i32, i32); NREGIONS],
}

impl Regions for Looked<'_> {
    #[inline(always)]
    fn buf(&self) -> &[u8] {
        self.buf
    }

    #[inline(always)]
    fn region(&self, r: u8) -> (i32, i32) {
        self.regs[(r & 3) as usize]
    }
}

/// The masked word step `s` reads, or `None` when the packet lacks a
/// byte the mask selects. The common case, a whole word inside the region,
/// is one bounds check.
#[inline(always)]
fn read<R: Regions>(r: &R, s: &Step) -> Option<u32> {
    if s.offset >= 0 {
        let off = s.offset as usize;
        if let Some(b) = r.word(s.region, off) {
            return Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & s.mask);
        }
    }
    let (start, len) = r.region(s.region);
    read_partial(r.buf(), s, start, len)
}

/// [`read`] when the word is not wholly inside the region: the bytes the
/// mask selects may still be.
#[cold]
#[inline(never)]
fn read_partial(buf: &[u8], s: &Step, start: i32, len: i32) -> Option<u32> {
    if s.lo < 0 || s.hi > len {
        None
    } else {
        Some(load(buf, start, s.offset) & s.mask)
    }
}

/// A program of one test step (the common `Classifier(12/0800, -)`,
/// `IPClassifier(udp, -)`), taken apart for a batch loop: the outcome of
/// a packet is an index into [`OneTest::outputs`], which an element maps
/// to its verdicts once per batch rather than once per packet.
#[derive(Clone, Copy, Debug)]
pub struct OneTest {
    step: Step,
    /// The step's offset when it is not negative; else one no region
    /// reaches, so that the word read fails and the partial read decides.
    /// 32 bits wide: `off + 4` then cannot overflow a `usize`, and the
    /// compiler knows it, so the word read needs no overflow test (one in
    /// IPClassifier's batch loop, where it was not hoisted).
    off: u32,
    /// The outputs ([`DROP`] included) of the three outcomes: the word
    /// equals the value, it does not, the packet lacks the bytes.
    pub outputs: [u32; 3],
    /// The same as batch verdicts (an output from `u16::MAX` on, [`DROP`]
    /// included, is `u16::MAX`: a drop), with a fourth, a drop, so that an
    /// outcome masked with 3 indexes it.
    pub verdicts: [u16; 4],
}

impl OneTest {
    fn new(step: Step) -> OneTest {
        // the only step: every target is an output
        let outputs = [step.yes & !LEAF, step.no & !LEAF, step.short & !LEAF];
        let v = |out: u32| u16::try_from(out).unwrap_or(u16::MAX);
        OneTest {
            step,
            off: u32::try_from(step.offset).unwrap_or(u32::MAX),
            outputs,
            verdicts: [v(outputs[0]), v(outputs[1]), v(outputs[2]), u16::MAX],
        }
    }

    /// The region the test reads (a [`Region`](super::Region) as `u8`).
    pub fn region(&self) -> u8 {
        self.step.region
    }

    /// The outcome for a packet whose word lies whole in its region: 0
    /// (equal) or 1 (not equal); `None` when it does not (the packet is
    /// short, or the test reads before its region), for
    /// [`outcome`](Self::outcome) to decide. The batch loops call this one
    /// and leave the others for after the loop: with no call in it, the
    /// loop keeps its values in registers.
    #[inline(always)]
    pub fn whole_outcome<R: Regions>(&self, r: &R) -> Option<usize> {
        let s = &self.step;
        let b = r.word(s.region, self.off as usize)?;
        let w = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & s.mask;
        Some(usize::from(w != s.value))
    }

    /// The outcome for a packet whose regions `r` gives: 0 (equal), 1
    /// (not equal) or 2 (too short), as [`Program::classify_in`] decides.
    #[inline(always)]
    pub fn outcome<R: Regions>(&self, r: &R) -> usize {
        if let Some(o) = self.whole_outcome(r) {
            return o;
        }
        let s = &self.step;
        let (start, len) = r.region(s.region);
        match read_partial(r.buf(), s, start, len) {
            Some(w) => usize::from(w != s.value),
            None => 2,
        }
    }
}

impl Program {
    /// Compiles `rules` (expressions in `arena`), first match wins;
    /// packets no rule takes are dropped.
    pub fn compile(arena: Arena, rules: Vec<Rule>) -> Program {
        let mut b = Builder {
            arena,
            steps: Vec::new(),
            interp: Vec::new(),
            memo: FxMap::default(),
            memo_subst: FxMap::default(),
            step_limit: 0,
            work: 0,
            work_limit: 0,
        };
        let root = b.chunk(&rules, LEAF | DROP);
        let Builder {
            arena,
            steps,
            interp,
            ..
        } = b;
        Program::lay_out(arena, rules, steps, interp, root)
    }

    /// Numbers the reachable steps from the root, breadth first, and packs
    /// them for the matcher.
    fn lay_out(
        arena: Arena,
        rules: Vec<Rule>,
        steps: Vec<BStep>,
        mut interp: Vec<(Vec<Rule>, u32)>,
        root: u32,
    ) -> Program {
        let mut order: Vec<u32> = Vec::new();
        let mut number: Vec<u32> = vec![u32::MAX; steps.len()];
        let mut queue = std::collections::VecDeque::new();
        let mut visit =
            |t: u32, order: &mut Vec<u32>, queue: &mut std::collections::VecDeque<u32>| {
                if t & LEAF == 0 && number[t as usize] == u32::MAX {
                    number[t as usize] = order.len() as u32;
                    order.push(t);
                    queue.push_back(t);
                }
            };
        visit(root, &mut order, &mut queue);
        while let Some(s) = queue.pop_front() {
            let st = &steps[s as usize];
            for &(_, t) in &st.keys {
                visit(t, &mut order, &mut queue);
            }
            visit(st.default, &mut order, &mut queue);
            visit(st.short, &mut order, &mut queue);
            if let Some(i) = st.interp {
                visit(interp[i].1, &mut order, &mut queue);
            }
        }
        let map = |t: u32| if t & LEAF != 0 { t } else { number[t as usize] };
        let mut packed = Vec::with_capacity(order.len());
        let mut keys = Vec::new();
        let mut targets = Vec::new();
        for &s in &order {
            let st = &steps[s as usize];
            let a = &st.atom;
            let (lo, hi) = a.needed();
            let mut step = Step {
                region: a.region as u8,
                kind: KIND_TEST,
                offset: a.offset,
                lo,
                hi,
                mask: a.mask,
                value: 0,
                count: 0,
                yes: map(st.default),
                no: map(st.default),
                short: map(st.short),
            };
            if let Some(i) = st.interp {
                interp[i].1 = map(interp[i].1);
                step.kind = KIND_INTERP;
                step.value = i as u32;
                step.lo = 0;
                step.hi = i32::MIN;
            } else if st.keys.len() == 1 {
                step.value = st.keys[0].0;
                step.yes = map(st.keys[0].1);
            } else if !st.keys.is_empty() {
                step.kind = KIND_SWITCH;
                step.value = keys.len() as u32;
                step.count = st.keys.len() as u32;
                for &(v, t) in &st.keys {
                    keys.push(v);
                    targets.push(map(t));
                }
            }
            packed.push(step);
        }
        let regions_used = packed.iter().fold(0u8, |m, s| m | (1 << (s.region & 3)));
        let eager = packed.len() > EAGER_STEPS;
        let single = match packed.as_slice() {
            [only] if only.kind == KIND_TEST => Some(OneTest::new(*only)),
            _ => None,
        };
        Program {
            single,
            regions_used,
            eager,
            steps: packed.into_boxed_slice(),
            keys: keys.into_boxed_slice(),
            targets: targets.into_boxed_slice(),
            root: map(root),
            interp,
            arena,
            rules,
        }
    }

    /// The output for the packet `view` shows ([`DROP`] if none).
    #[inline]
    pub fn classify(&self, view: &View<'_>) -> u32 {
        self.classify_in(view)
    }

    /// The output for a packet whose regions `r` gives ([`DROP`] if
    /// none): the matcher, inlined into each element's batch loop. A
    /// region is looked up only when a step reads it; a program of one
    /// test (the common `Classifier(12/0800, -)`, `IPClassifier(udp, -)`)
    /// takes a straight path.
    #[inline(always)]
    pub fn classify_in<R: Regions>(&self, r: &R) -> u32 {
        if let Some(t) = &self.single {
            return t.outputs[t.outcome(r)];
        }
        if self.eager {
            // A graph of many steps: look the regions it reads up once.
            let regs = r.regions(self.regions_used);
            return self.walk(&Looked {
                buf: r.buf(),
                regs: &regs,
            });
        }
        self.walk(r)
    }

    /// Walks the graph from the root to an output.
    #[inline(always)]
    fn walk<R: Regions>(&self, r: &R) -> u32 {
        let mut t = self.root;
        while t & LEAF == 0 {
            let s = &self.steps[t as usize];
            t = match (read(r, s), s.kind) {
                (None, _) => s.short,
                (Some(w), KIND_TEST) => {
                    if w == s.value {
                        s.yes
                    } else {
                        s.no
                    }
                }
                (Some(w), KIND_SWITCH) => self.switch(s, w),
                _ => self.interpret_step(s.value as usize, &View::of_regions(r)),
            };
        }
        t & !LEAF
    }

    /// Where word `w` goes at switch step `s`.
    #[inline]
    fn switch(&self, s: &Step, w: u32) -> u32 {
        let start = s.value as usize;
        let end = start + s.count as usize;
        let keys = &self.keys[start..end];
        let found = if keys.len() <= 8 {
            keys.iter().position(|&k| k == w)
        } else {
            keys.binary_search(&w).ok()
        };
        match found {
            Some(i) => self.targets[start + i],
            None => s.no,
        }
    }

    #[cold]
    fn interpret_step(&self, i: usize, view: &View<'_>) -> u32 {
        let (rules, fallthrough) = &self.interp[i];
        rules
            .iter()
            .find(|r| self.arena.eval(r.expr, view))
            .map_or(*fallthrough, |r| LEAF | r.output)
    }

    /// The output the rules give by plain evaluation, first match wins:
    /// the reference the compiled graph must agree with.
    pub fn interpret(&self, view: &View<'_>) -> u32 {
        self.rules
            .iter()
            .find(|r| self.arena.eval(r.expr, view))
            .map_or(DROP, |r| r.output)
    }

    /// The program's one test, if it is a program of one test step.
    #[inline]
    pub fn one_test(&self) -> Option<&OneTest> {
        self.single.as_ref()
    }

    /// The output every packet gets, if the program ignores the packets.
    #[inline]
    pub fn constant_output(&self) -> Option<u32> {
        (self.root & LEAF != 0).then_some(self.root & !LEAF)
    }

    /// Number of steps in the graph.
    pub fn nsteps(&self) -> usize {
        self.steps.len()
    }

    /// The rules, as compiled.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The arena holding the rules' expressions.
    pub fn arena(&self) -> &Arena {
        &self.arena
    }

    /// Whether the program reads any test in `region`.
    pub fn uses_region(&self, region: Region) -> bool {
        self.steps
            .iter()
            .any(|s| s.kind == KIND_INTERP || s.region == region as u8)
    }

    /// Which outputs below `noutputs` some packet can reach.
    pub fn reachable_outputs(&self, noutputs: usize) -> Vec<bool> {
        let mut used = vec![false; noutputs];
        let mut mark = |t: u32| {
            if t & LEAF != 0 {
                if let Some(u) = used.get_mut((t & !LEAF) as usize) {
                    *u = true;
                }
            }
        };
        mark(self.root);
        for s in self.steps.iter() {
            mark(s.yes);
            mark(s.no);
            mark(s.short);
        }
        for &t in self.targets.iter() {
            mark(t);
        }
        for (rules, fallthrough) in &self.interp {
            mark(*fallthrough);
            for r in rules {
                mark(LEAF | r.output);
            }
        }
        used
    }

    /// The graph in a readable form: one line per step, `OFFSET/VALUE%MASK`
    /// as in Click's `program` handler (with the region for IP rules), then
    /// where each outcome goes: `step N`, an output `[N]`, or `[X]` (drop).
    pub fn unparse(&self) -> String {
        let mut s = String::new();
        let target = |t: u32| -> String {
            if t & LEAF == 0 {
                format!("step {t}")
            } else if t & !LEAF == DROP {
                "[X]".to_string()
            } else {
                format!("[{}]", t & !LEAF)
            }
        };
        for (i, st) in self.steps.iter().enumerate() {
            let region = match st.region {
                1 => "mac ",
                2 => "net ",
                3 => "transp ",
                _ => "",
            };
            let _ = write!(s, "{i:2} ");
            match st.kind {
                KIND_INTERP => {
                    let (rules, fallthrough) = &self.interp[st.value as usize];
                    s.push_str("interpreted:");
                    for r in rules {
                        let _ = write!(
                            s,
                            "  {}->{}",
                            self.arena.unparse(r.expr),
                            target(LEAF | r.output)
                        );
                    }
                    let _ = write!(s, "  else->{}", target(*fallthrough));
                }
                KIND_SWITCH => {
                    let _ = write!(s, "{region}{:3}%{:08x}", st.offset, st.mask);
                    let start = st.value as usize;
                    for k in start..start + st.count as usize {
                        let _ = write!(s, "  {:08x}->{}", self.keys[k], target(self.targets[k]));
                    }
                    let _ = write!(s, "  else->{}", target(st.no));
                    if st.short != st.no {
                        let _ = write!(s, "  short->{}", target(st.short));
                    }
                }
                _ => {
                    let _ = write!(
                        s,
                        "{region}{:3}/{:08x}%{:08x}  yes->{}  no->{}",
                        st.offset,
                        st.value,
                        st.mask,
                        target(st.yes),
                        target(st.no)
                    );
                    if st.short != st.no {
                        let _ = write!(s, "  short->{}", target(st.short));
                    }
                }
            }
            s.push('\n');
        }
        if self.steps.is_empty() {
            let _ = writeln!(s, "all->{}", target(self.root));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_rule(a: &mut Arena, offset: i32, mask: u32, value: u32) -> ExprId {
        a.atom(Region::Data, offset, mask, value, false)
    }

    #[test]
    fn one_test() {
        let mut a = Arena::new();
        let ip = data_rule(&mut a, 12, 0xffff_0000, 0x0800_0000);
        let rules = vec![
            Rule {
                output: 0,
                expr: ip,
            },
            Rule {
                output: 1,
                expr: ExprId::TRUE,
            },
        ];
        let p = Program::compile(a, rules);
        assert_eq!(p.nsteps(), 1, "{}", p.unparse());
        let mut pkt = [0u8; 60];
        assert_eq!(p.classify(&View::of_data(&pkt)), 1);
        pkt[12] = 8;
        assert_eq!(p.classify(&View::of_data(&pkt)), 0);
        assert_eq!(p.classify(&View::of_data(&pkt[..13])), 1);
        assert_eq!(p.unparse(), " 0  12/08000000%ffff0000  yes->[0]  no->[1]\n");
    }

    #[test]
    fn many_values_make_one_switch() {
        let mut a = Arena::new();
        let mut rules = Vec::new();
        for i in 0..100u32 {
            let e = data_rule(&mut a, 0, 0xffff_ffff, 0x0a00_0000 + i);
            rules.push(Rule {
                output: i % 3,
                expr: e,
            });
        }
        let p = Program::compile(a, rules);
        assert_eq!(p.nsteps(), 1, "{}", p.unparse());
        for i in 0..120u32 {
            let pkt = (0x0a00_0000 + i).to_be_bytes();
            let want = if i < 100 { i % 3 } else { DROP };
            assert_eq!(p.classify(&View::of_data(&pkt)), want);
            assert_eq!(p.interpret(&View::of_data(&pkt)), want);
        }
    }

    #[test]
    fn empty_and_constant_programs() {
        let p = Program::compile(Arena::new(), Vec::new());
        assert_eq!(p.constant_output(), Some(DROP));
        assert_eq!(p.unparse(), "all->[X]\n");
        let p = Program::compile(
            Arena::new(),
            vec![Rule {
                output: 0,
                expr: ExprId::TRUE,
            }],
        );
        assert_eq!(p.classify(&View::of_data(&[])), 0);
    }

    #[test]
    fn rule_lists_too_big_for_one_graph_are_split() {
        // Three words, rules cycling through them: every branch of one
        // word's switch keeps the rules of the others, so one graph for
        // them all would replicate far beyond the budget.
        let mut a = Arena::new();
        let mut rules = Vec::new();
        for i in 0..3000u32 {
            let off = 4 * (i % 3) as i32;
            let e = data_rule(&mut a, off, 0xffff_ffff, i);
            rules.push(Rule {
                output: i % 7,
                expr: e,
            });
        }
        let started = std::time::Instant::now();
        let p = Program::compile(a, rules);
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
        for i in (0..3000u32).step_by(7) {
            let mut pkt = [0xffu8; 12];
            let off = 4 * (i % 3) as usize;
            pkt[off..off + 4].copy_from_slice(&i.to_be_bytes());
            assert_eq!(p.classify(&View::of_data(&pkt)), i % 7);
            assert_eq!(
                p.classify(&View::of_data(&pkt)),
                p.interpret(&View::of_data(&pkt))
            );
        }
    }

    #[test]
    fn a_blown_budget_still_classifies() {
        // Rules alternating between two words: each branch of the first
        // word's switch keeps every rule of the second word.
        let mut a = Arena::new();
        let mut rules = Vec::new();
        for i in 0..400u32 {
            let off = if i % 2 == 0 { 0 } else { 4 };
            let e = data_rule(&mut a, off, 0xffff_ffff, i);
            rules.push(Rule { output: i, expr: e });
        }
        let p = Program::compile(a, rules);
        for i in 0..400u32 {
            let mut pkt = [0xffu8; 8];
            let off = if i % 2 == 0 { 0 } else { 4 };
            pkt[off..off + 4].copy_from_slice(&i.to_be_bytes());
            assert_eq!(
                p.classify(&View::of_data(&pkt)),
                p.interpret(&View::of_data(&pkt))
            );
            assert_eq!(p.classify(&View::of_data(&pkt)), i);
        }
    }
}
