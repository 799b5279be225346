//! Classifier: sends packets to outputs by byte patterns.

use click_engine::args::Args;
use click_engine::packet::{Batch, BATCH_CAPACITY};
use click_engine::{
    ConfigureCtx, Ctx, Element, ElementClass, Handler, Packet, Port, Threads, PUSH,
};

use super::classification::{
    Arena, DataRegions, ExprId, OneTest, Program, Region, Regions, Rule, View, DROP,
};

/// `Classifier(PATTERN_1, ..., PATTERN_N)`: sends each packet to the
/// output of the first pattern it matches; a packet that matches none is
/// dropped.
///
/// A pattern is a list of clauses separated by spaces, all of which must
/// match. A clause is `OFFSET/VALUE` or `OFFSET/VALUE%MASK`: the packet's
/// bytes from OFFSET (decimal) on must equal VALUE (hex, an even number of
/// digits) in the bits set in MASK (hex, as many digits as VALUE); a `?`
/// digit in VALUE matches any nibble. `!` before a clause negates it. The
/// pattern `-` matches every packet. `Classifier(12/0806 20/0001,
/// 12/0800, -)` sends ARP requests to output 0, IP to output 1, the rest
/// to output 2.
///
/// The patterns are compiled at configure time into one decision graph
/// (see `classification`), so a packet costs a few word reads however many
/// patterns there are. A packet too short for a clause fails that clause
/// (and so matches its negation), as in Click; nothing is read beyond the
/// packet. Configuration errors name the pattern, the offending text and
/// its column. An output no packet can reach is warned about.
///
/// * Ports: 1 push input, N push outputs (one per pattern).
/// * Handlers: `program` (read): the compiled graph, one step a line
///   (`OFFSET/VALUE%MASK` and where each outcome goes); it is our graph,
///   not Click's decision tree, so it differs from Click's listing.
#[derive(Debug)]
pub struct Classifier {
    program: Program,
}

impl ElementClass for Classifier {
    const CLASS: &'static str = "Classifier";
    const PORT_COUNT: &'static str = "1/-";
    const PROCESSING: &'static str = PUSH;
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let patterns = one_pattern_per_output(args, ctx)?;
        let program = compile_patterns(&patterns)?;
        warn_unreachable(ctx.name, &program, ctx.noutputs());
        Ok(Classifier { program })
    }
}

/// The patterns of a classifier (Classifier, IPClassifier): one argument
/// per output port, as Click requires.
pub(crate) fn one_pattern_per_output(
    args: &mut Args,
    ctx: &ConfigureCtx,
) -> Result<Vec<String>, String> {
    let patterns = args.rest();
    if patterns.len() != ctx.noutputs() {
        return Err(format!(
            "need {} arguments, one per output port",
            ctx.noutputs()
        ));
    }
    Ok(patterns)
}

/// Warns about outputs that no packet can reach, as Click does.
pub(crate) fn warn_unreachable(name: &str, program: &Program, noutputs: usize) {
    for (i, used) in program.reachable_outputs(noutputs).into_iter().enumerate() {
        if !used {
            tracing::warn!("{name}: output {i} matches no packets");
        }
    }
}

/// Parses Classifier patterns (one per output) and compiles them.
pub fn compile_patterns<S: AsRef<str>>(patterns: &[S]) -> Result<Program, String> {
    let mut arena = Arena::new();
    let mut rules = Vec::with_capacity(patterns.len());
    let mut errors = Vec::new();
    for (slot, pattern) in patterns.iter().enumerate() {
        match parse_pattern(&mut arena, pattern.as_ref()) {
            Ok(expr) => rules.push(Rule {
                output: slot as u32,
                expr,
            }),
            Err(e) => errors.push(format!("pattern {slot}: {e}")),
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    Ok(Program::compile(arena, rules))
}

/// The largest offset a clause may name.
const MAX_OFFSET: u64 = 0x3fff_ffff;

/// Where a problem is: the rest of the word at `i` and its column.
fn at(s: &[u8], i: usize) -> String {
    if i >= s.len() {
        return "at the end".to_string();
    }
    if s[i].is_ascii_whitespace() {
        return format!("at a space, column {}", i + 1);
    }
    let end = s[i..]
        .iter()
        .position(|c| c.is_ascii_whitespace())
        .map_or(s.len(), |n| i + n);
    format!(
        "at '{}', column {}",
        String::from_utf8_lossy(&s[i..end]),
        i + 1
    )
}

fn hex_digit(c: u8) -> Option<(u8, u8)> {
    match c {
        b'?' => Some((0, 0)),
        _ => (c as char).to_digit(16).map(|v| (v as u8, 0xf)),
    }
}

/// Parses one pattern into an expression: Click's `Classifier::parse_program`
/// for one slot.
fn parse_pattern(arena: &mut Arena, text: &str) -> Result<ExprId, String> {
    let s = text.as_bytes();
    let mut i = 0;
    if text == "-" {
        return Ok(ExprId::TRUE);
    }
    let mut clauses = Vec::new();
    loop {
        while i < s.len() && s[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= s.len() {
            break;
        }
        let negated = s[i] == b'!';
        if negated {
            i += 1;
            while i < s.len() && s[i].is_ascii_whitespace() {
                i += 1;
            }
        }
        if i >= s.len() || !s[i].is_ascii_digit() {
            return Err(format!("expected a digit {}", at(s, i)));
        }
        let offset_at = i;
        let mut offset: u64 = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            offset = (offset * 10 + u64::from(s[i] - b'0')).min(MAX_OFFSET + 1);
            i += 1;
        }
        if offset > MAX_OFFSET {
            return Err(format!("offset too large {}", at(s, offset_at)));
        }
        if i >= s.len() || s[i] != b'/' {
            return Err(format!("expected '/' {}", at(s, i)));
        }
        i += 1;
        let value_at = i;
        while i < s.len() && hex_digit(s[i]).is_some() {
            i += 1;
        }
        let value = &s[value_at..i];
        let mut mask: Option<&[u8]> = None;
        let mut mask_at = i;
        if i < s.len() && s[i] == b'%' {
            i += 1;
            mask_at = i;
            while i < s.len() && hex_digit(s[i]).is_some() {
                i += 1;
            }
            mask = Some(&s[mask_at..i]);
        }
        if i < s.len() && !s[i].is_ascii_whitespace() {
            return Err(format!("expected a hex digit {}", at(s, i)));
        }
        if value.len() < 2 {
            return Err(format!(
                "value has less than 2 hex digits {}",
                at(s, value_at)
            ));
        }
        if !value.len().is_multiple_of(2) {
            return Err(format!(
                "value has odd number of hex digits {}",
                at(s, value_at)
            ));
        }
        if let Some(m) = mask {
            if m.len() != value.len() {
                let which = if m.len() > value.len() { "many" } else { "few" };
                return Err(format!(
                    "mask has too {which} hex digits {}",
                    at(s, mask_at)
                ));
            }
        }
        let clause = clause_expr(arena, offset as i32, value, mask);
        clauses.push(if negated { arena.not(clause) } else { clause });
    }
    // An empty pattern matches everything, as in Click.
    Ok(arena.and(&clauses))
}

/// The tests of one clause: the value's bytes, one word test per 4-byte
/// aligned word they touch.
fn clause_expr(arena: &mut Arena, offset: i32, value: &[u8], mask: Option<&[u8]>) -> ExprId {
    let mut words: Vec<(i32, u32, u32)> = Vec::new();
    for (k, pair) in value.chunks(2).enumerate() {
        let nib = |c: u8| hex_digit(c).unwrap_or((0, 0));
        let ((vh, mh), (vl, ml)) = (nib(pair[0]), nib(pair[1]));
        let (mut v, mut m) = ((vh << 4) | vl, (mh << 4) | ml);
        if let Some(mask) = mask {
            let ((xh, yh), (xl, yl)) = (nib(mask[2 * k]), nib(mask[2 * k + 1]));
            m &= ((xh << 4) | xl) & ((yh << 4) | yl);
        }
        v &= m;
        let pos = offset + k as i32;
        let word = pos - pos % 4;
        let shift = 8 * (3 - (pos % 4)) as u32;
        match words.last_mut() {
            Some(w) if w.0 == word => {
                w.1 |= u32::from(m) << shift;
                w.2 |= u32::from(v) << shift;
            }
            _ => words.push((word, u32::from(m) << shift, u32::from(v) << shift)),
        }
    }
    let tests: Vec<ExprId> = words
        .into_iter()
        .map(|(word, m, v)| arena.atom(Region::Data, word, m, v, false))
        .collect();
    arena.and(&tests)
}

impl Classifier {
    /// The compiled program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The output for `p` ([`DROP`](super::classification::DROP) if
    /// none), through the compiled graph.
    #[inline]
    pub fn classify(&self, p: &Packet) -> u32 {
        self.program.classify_in(&DataRegions(p.data()))
    }

    /// The output for `p` by evaluating the patterns one after the other:
    /// the reference the graph must agree with.
    pub fn interpret(&self, p: &Packet) -> u32 {
        self.program.interpret(&View::of_data(p.data()))
    }
}

/// The verdict of a batch slot for an output ([`DROP`] becomes a drop).
const DROP_VERDICT: u16 = u16::MAX;

#[inline(always)]
fn verdict(out: u32) -> u16 {
    if out >= u32::from(DROP_VERDICT) {
        DROP_VERDICT
    } else {
        out as u16
    }
}

/// Pushes a classified batch: whole when every packet goes one way,
/// else split by verdict keeping the packets' order.
#[inline(always)]
fn push_verdicts(batch: Batch, v: &[u16; BATCH_CAPACITY], ctx: &mut Ctx<'_>) {
    let n = batch.len();
    let first = v[0];
    if v[..n].iter().fold(0, |d, &x| d | (x ^ first)) == 0 {
        push_whole(first, batch, ctx);
    } else {
        ctx.push_by_verdict(batch, &v[..n], DROP_VERDICT);
    }
}

/// Pushes a whole batch whose packets share one verdict: to that
/// output, or counted as dropped.
#[inline(always)]
fn push_whole(verdict: u16, batch: Batch, ctx: &mut Ctx<'_>) {
    if verdict == DROP_VERDICT {
        ctx.count_drops(batch.len());
    } else {
        ctx.push(verdict as Port, batch);
    }
}

/// Pushes a whole batch to `out` (or drops it).
#[inline]
pub(crate) fn push_all(out: u32, batch: Batch, ctx: &mut Ctx<'_>) {
    if out == DROP || out >= u32::from(DROP_VERDICT) {
        ctx.count_drops(batch.len());
    } else {
        ctx.push(out as Port, batch);
    }
}

/// Classifies a batch with `f`, then pushes it whole or by verdict: the
/// batch loop of the classifiers.
#[inline(always)]
pub(crate) fn classify_batch(batch: Batch, ctx: &mut Ctx<'_>, f: impl Fn(&Packet) -> u32) {
    if batch.is_empty() {
        return;
    }
    let mut v = [0u16; BATCH_CAPACITY];
    for (p, slot) in batch.iter().zip(v.iter_mut()) {
        *slot = verdict(f(p));
    }
    push_verdicts(batch, &v, ctx);
}

/// [`classify_batch`] for a program of one test: each packet's outcome
/// (0: the word equals the value, 1: it does not, 2: too short) goes
/// into `o`, a byte a packet, and [`push_classified`] turns outcomes into
/// verdicts once per batch, so the loop is a word read, a compare and a
/// byte store per packet. (With the verdict picked in the loop, its two
/// values took two registers, and IPClassifier's loop reloaded the
/// batch's address from the stack every packet.) Packets whose word is
/// not whole in its region (short ones) are marked in a mask and
/// classified after the loop ([`classify_rest`]), so that the loop calls
/// nothing and keeps its values in registers (with the call in it, one
/// of them went to the stack: a load a packet).
#[inline(always)]
pub(crate) fn classify_batch_one<'p, R: Regions + 'p>(
    batch: &'p Batch,
    test: &OneTest,
    regions: impl Fn(&'p Packet) -> R + Copy,
    o: &mut [u8; BATCH_CAPACITY],
) {
    let mut rest = 0u32;
    for (i, (p, slot)) in batch.iter().zip(o.iter_mut()).enumerate() {
        match test.whole_outcome(&regions(p)) {
            Some(x) => *slot = x as u8,
            None => rest |= 1 << i,
        }
    }
    if rest != 0 {
        classify_rest(batch, test, regions, o, rest);
    }
}

/// The packets of `rest` (a bit per packet of `batch`) that
/// [`classify_batch_one`] left: their outcomes as [`OneTest::outcome`]
/// decides them, the partial word read included.
#[cold]
#[inline(never)]
fn classify_rest<'p, R: Regions + 'p>(
    batch: &'p Batch,
    test: &OneTest,
    regions: impl Fn(&'p Packet) -> R,
    o: &mut [u8; BATCH_CAPACITY],
    mut rest: u32,
) {
    while rest != 0 {
        let i = rest.trailing_zeros() as usize;
        rest &= rest - 1;
        o[i] = test.outcome(&regions(&batch[i])) as u8;
    }
}

/// Pushes a batch whose outcomes [`classify_batch_one`] gave: whole when
/// they are all one (one look-up of the verdict), else by verdict.
#[inline(always)]
pub(crate) fn push_classified(
    batch: Batch,
    test: &OneTest,
    o: &[u8; BATCH_CAPACITY],
    ctx: &mut Ctx<'_>,
) {
    let n = batch.len();
    if n == 0 {
        return;
    }
    let first = o[0];
    if o[..n].iter().fold(0, |d, &x| d | (x ^ first)) == 0 {
        return push_whole(test.verdicts[usize::from(first & 3)], batch, ctx);
    }
    push_mixed(batch, test, o, ctx);
}

/// [`push_classified`] for a batch of more than one outcome: by verdict
/// (outcomes apart may still share one). Out of line: mixed batches are
/// the rarer, and split the batch anyway.
#[inline(never)]
fn push_mixed(batch: Batch, test: &OneTest, o: &[u8; BATCH_CAPACITY], ctx: &mut Ctx<'_>) {
    let mut v = [0u16; BATCH_CAPACITY];
    for (slot, &x) in v.iter_mut().zip(o) {
        *slot = test.verdicts[usize::from(x & 3)];
    }
    push_verdicts(batch, &v, ctx);
}

impl Element for Classifier {
    #[inline]
    fn push(&mut self, _port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        if let Some(out) = self.program.constant_output() {
            return push_all(out, batch, ctx);
        }
        if let Some(test) = self.program.one_test() {
            let mut o = [0u8; BATCH_CAPACITY];
            classify_batch_one(&batch, test, |p| DataRegions(p.data()), &mut o);
            return push_classified(batch, test, &o, ctx);
        }
        let program = &self.program;
        classify_batch(batch, ctx, |p| program.classify_in(&DataRegions(p.data())));
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("program")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "program").then(|| self.program.unparse())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(p: &Program, data: &[u8]) -> u32 {
        let c = p.classify(&View::of_data(data));
        assert_eq!(c, p.interpret(&View::of_data(data)), "{}", p.unparse());
        c
    }

    #[test]
    fn click_example() {
        let p = compile_patterns(&["12/0806 20/0001", "12/0806 20/0002", "12/0800", "-"]).unwrap();
        let mut arp = [0u8; 42];
        arp[12..14].copy_from_slice(&[8, 6]);
        arp[20..22].copy_from_slice(&[0, 1]);
        assert_eq!(out(&p, &arp), 0);
        arp[21] = 2;
        assert_eq!(out(&p, &arp), 1);
        arp[21] = 3;
        assert_eq!(out(&p, &arp), 3);
        arp[13] = 0;
        assert_eq!(out(&p, &arp), 2);
        assert_eq!(out(&p, &arp[..13]), 3);
        assert_eq!(out(&p, &[]), 3);
    }

    #[test]
    fn wildcards_masks_negation_and_unaligned_offsets() {
        let p = compile_patterns(&["1/01", "3/0?0f%ff0f", "!0/45", "-"]).unwrap();
        assert_eq!(out(&p, &[0x45, 1]), 0);
        assert_eq!(out(&p, &[0x45, 0, 0, 0x07, 0x3f]), 1);
        assert_eq!(out(&p, &[0x45, 0, 0, 0x11, 0x3f]), 3);
        assert_eq!(out(&p, &[0x46, 0, 0, 0x11, 0x3f]), 2);
        // too short for 0/45: the clause fails, so its negation matches
        assert_eq!(out(&p, &[]), 2);
    }

    #[test]
    fn errors_name_the_text_and_column() {
        let e = compile_patterns(&["12/0800", "12/08x0"]).unwrap_err();
        assert_eq!(e, "pattern 1: expected a hex digit at 'x0', column 6");
        let e = compile_patterns(&["x"]).unwrap_err();
        assert_eq!(e, "pattern 0: expected a digit at 'x', column 1");
        let e = compile_patterns(&["12/080"]).unwrap_err();
        assert!(
            e.contains("odd number of hex digits at '080', column 4"),
            "{e}"
        );
        let e = compile_patterns(&["12/0800%ff"]).unwrap_err();
        assert!(
            e.contains("mask has too few hex digits at 'ff', column 9"),
            "{e}"
        );
        let e = compile_patterns(&["12 0800"]).unwrap_err();
        assert_eq!(e, "pattern 0: expected '/' at a space, column 3");
        assert!(compile_patterns(&["99999999999/00"]).is_err());
    }

    #[test]
    fn one_test_verdicts_are_the_outputs_as_verdicts() {
        for patterns in [
            &["12/0800", "-"][..],
            &["12/0800"],
            &["!12/0800", "-"],
            &["-", "12/0800"],
        ] {
            let p = compile_patterns(patterns).unwrap();
            if let Some(t) = p.one_test() {
                for (o, &v) in t.outputs.iter().zip(&t.verdicts) {
                    assert_eq!(verdict(*o), v, "{patterns:?}");
                }
                assert_eq!(t.verdicts[3], DROP_VERDICT);
            }
        }
        assert!(compile_patterns(&["12/0800", "-"])
            .unwrap()
            .one_test()
            .is_some());
    }

    #[test]
    fn empty_and_dash_match_everything() {
        let p = compile_patterns(&["-"]).unwrap();
        assert_eq!(p.constant_output(), Some(0));
        let p = compile_patterns(&["", "-"]).unwrap();
        assert_eq!(p.constant_output(), Some(0));
        let p = compile_patterns::<&str>(&[]).unwrap();
        assert_eq!(p.constant_output(), Some(DROP));
    }
}
