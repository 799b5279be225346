//! Clipboard: copies bytes from the packets of one path into those of
//! another.

use click_engine::args::Args;
use click_engine::{Batch, ConfigureCtx, Ctx, Element, ElementClass, Packet, Port};

/// `Clipboard(RANGE, ...)`, each RANGE `OFFSET/LENGTH`: a packet on input
/// 0 has those bytes copied to the clipboard and leaves unchanged on output
/// 0; a packet on input 1 has the clipboard's bytes written over the same
/// ranges and leaves on output 1. Each input/output pair works in push or
/// pull context. As in Click, a packet too short for the ranges is not
/// copied from or written to; until a packet has been copied, packets on
/// input 1 pass unchanged (Click writes undefined bytes there). A packet
/// that cannot be made writable (pool exhausted) is dropped and counted.
///
/// * Ports: 2 inputs, 2 outputs, agnostic; input *n* flows to output *n*.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct Clipboard {
    /// (offset, length) of each range.
    ranges: Vec<(usize, usize)>,
    /// The bytes of the ranges, one after the other.
    clipboard: Vec<u8>,
    /// Whether a packet has been copied yet.
    filled: bool,
    /// The shortest packet every range fits in.
    min_len: usize,
}

impl ElementClass for Clipboard {
    const CLASS: &'static str = "Clipboard";
    const PORT_COUNT: &'static str = "2/2";
    const FLOW_CODE: &'static str = "#/#";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let mut ranges = Vec::new();
        for arg in args.rest() {
            let range = arg
                .split_once('/')
                .and_then(|(o, n)| Some((o.trim().parse().ok()?, n.trim().parse().ok()?)));
            match range {
                Some(range) => ranges.push(range),
                None => return Err(format!("'{arg}': expected a range OFFSET/LENGTH")),
            }
        }
        if ranges.is_empty() {
            return Err("expected at least one range OFFSET/LENGTH".into());
        }
        let total = ranges.iter().map(|&(_, n)| n).sum();
        Ok(Clipboard {
            min_len: ranges.iter().map(|&(o, n)| o + n).max().unwrap_or(0),
            clipboard: vec![0; total],
            filled: false,
            ranges,
        })
    }
}

impl Clipboard {
    fn copy(&mut self, p: &Packet) {
        if p.len() < self.min_len {
            return;
        }
        let mut at = 0;
        for &(offset, n) in &self.ranges {
            self.clipboard[at..at + n].copy_from_slice(&p.data()[offset..offset + n]);
            at += n;
        }
        self.filled = true;
    }

    /// Writes the clipboard into `p`; false if `p` cannot be made writable.
    fn paste(&self, p: &mut Packet) -> bool {
        if !self.filled || p.len() < self.min_len {
            return true;
        }
        let Ok(data) = p.data_mut() else {
            return false;
        };
        let mut at = 0;
        for &(offset, n) in &self.ranges {
            data[offset..offset + n].copy_from_slice(&self.clipboard[at..at + n]);
            at += n;
        }
        true
    }

    /// Copies from (port 0) or pastes into (port 1) a batch.
    fn process(&mut self, port: Port, batch: &mut Batch, ctx: &mut Ctx<'_>) {
        if port == 0 {
            for p in batch.iter() {
                self.copy(p);
            }
        } else {
            let dropped = batch.retain(|p| self.paste(p));
            ctx.count_drops(dropped);
        }
    }
}

impl Element for Clipboard {
    fn push(&mut self, port: Port, mut batch: Batch, ctx: &mut Ctx<'_>) {
        self.process(port, &mut batch, ctx);
        ctx.push(port, batch);
    }

    fn pull(&mut self, port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let mut batch = ctx.pull(port, max)?;
        self.process(port, &mut batch, ctx);
        Some(batch).filter(|b| !b.is_empty())
    }
}
