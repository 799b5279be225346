//! Tee and PullTee: duplicate packets onto every output.

use click_engine::args::Args;
use click_engine::Threads;
use click_engine::{Batch, ConfigureCtx, Ctx, Element, ElementClass, Port, PUSH};

/// Clones every packet of `batch` into a new batch; returns the clones
/// and how many clones failed (pool exhausted).
fn clone_batch(batch: &Batch) -> (Batch, usize) {
    let mut out = Batch::new();
    let mut failed = 0;
    for p in batch {
        match p.try_clone() {
            Some(c) => out.push(c),
            None => failed += 1,
        }
    }
    (out, failed)
}

/// Checks Click's optional N argument against the real output count.
fn check_n(args: &mut Args, ctx: &ConfigureCtx) -> Result<(), String> {
    if let Some(n) = args.read_p::<usize>("N")? {
        if n != ctx.noutputs() {
            let connected = ctx.noutputs();
            let plural = if connected == 1 { "" } else { "s" };
            return Err(format!(
                "N is {n}, but {connected} output{plural} connected: N must be the number of \
                 outputs in use (Click: {connected} outputs implies {connected} arms)"
            ));
        }
    }
    Ok(())
}

/// `Tee([N])`: pushes each input packet to every output: clones (sharing
/// the data) to outputs 0 to N-2, the original to the last. If given, N
/// must equal the number of outputs. Clones that cannot be made (packet
/// pool exhausted) are counted as drops.
///
/// * Ports: 1 push input, 1 or more push outputs.
/// * Handlers: none beyond the defaults.
#[derive(Debug, Default)]
pub struct Tee;

impl ElementClass for Tee {
    const CLASS: &'static str = "Tee";
    const THREADS: Threads = Threads::PerThread;
    const PORT_COUNT: &'static str = "1/1-";
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        check_n(args, ctx)?;
        Ok(Tee)
    }
}

impl Element for Tee {
    fn push(&mut self, _port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        let last = ctx.noutputs().saturating_sub(1);
        for port in 0..last {
            let (clones, failed) = clone_batch(&batch);
            ctx.count_drops(failed);
            ctx.push(port, clones);
        }
        ctx.push(last, batch);
    }
}

/// `PullTee([N])`: answers pulls on output 0 with packets pulled from its
/// input, first pushing a clone of each to every other output.
///
/// * Ports: 1 pull input; output 0 pull, outputs 1 and up push.
/// * Handlers: none beyond the defaults.
#[derive(Debug, Default)]
pub struct PullTee;

impl ElementClass for PullTee {
    const CLASS: &'static str = "PullTee";
    const THREADS: Threads = Threads::PerThread;
    const PORT_COUNT: &'static str = "1/1-";
    const PROCESSING: &'static str = "l/lh";

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        check_n(args, ctx)?;
        Ok(PullTee)
    }
}

impl Element for PullTee {
    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let batch = ctx.pull(0, max)?;
        for port in 1..ctx.noutputs() {
            let (clones, failed) = clone_batch(&batch);
            ctx.count_drops(failed);
            ctx.push(port, clones);
        }
        Some(batch)
    }
}
