//! TimeSortedSched: merges packet streams sorted by timestamp into one.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use click_engine::args::Args;
use click_engine::packet::{Packet, BATCH_CAPACITY};
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierKind,
    NotifierSignal, Port, Signal, PULL,
};

/// `TimeSortedSched([*keywords* STOP, BUFFER])`: answers each pull with
/// the packet of earliest timestamp among those it holds, having first
/// topped up its buffer of up to BUFFER packets (default 1) from every
/// input whose notifier says packets may be there. Streams that arrive
/// sorted leave as one sorted stream; a larger BUFFER absorbs some
/// disorder within each stream. Packets with equal timestamps leave in
/// the order they were pulled.
///
/// It listens to the notifiers upstream of its inputs and provides an
/// *empty* notifier, active while it holds packets or an input's notifier
/// is active; a task pulling from it is woken when any input's notifier
/// comes up. With STOP true it stops the router when it is pulled with
/// nothing to give and every input's notifier is down.
///
/// * Ports: any number of pull inputs, 1 pull output.
/// * Handlers: `well_ordered` (read): `false` once a packet left with a
///   timestamp earlier than one before it (unset timestamps aside).
pub struct TimeSortedSched {
    stop: bool,
    buffer: usize,
    /// Buffered packets, earliest first (ties by arrival).
    heap: BinaryHeap<Reverse<Held>>,
    /// Per input: its upstream notifier and how many more it may buffer.
    inputs: Vec<(NotifierSignal, usize)>,
    /// Arrival counter, for ties.
    seq: u64,
    /// The last timestamp emitted, and whether all were in order.
    last: Option<i64>,
    well_ordered: bool,
    nonempty: Signal,
}

/// A buffered packet with its sort key.
struct Held {
    ts: i64,
    seq: u64,
    input: usize,
    packet: Packet,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        (self.ts, self.seq) == (other.ts, other.seq)
    }
}

impl Eq for Held {}

impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Held {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.ts, self.seq).cmp(&(other.ts, other.seq))
    }
}

impl ElementClass for TimeSortedSched {
    const CLASS: &'static str = "TimeSortedSched";
    const PORT_COUNT: &'static str = "-/1";
    const PROCESSING: &'static str = PULL;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let stop = args.read("STOP")?.unwrap_or(false);
        let buffer: i64 = args.read("BUFFER")?.unwrap_or(1);
        if buffer <= 0 {
            return Err("BUFFER must be at least 1".into());
        }
        let buffer = buffer as usize;
        Ok(TimeSortedSched {
            stop,
            buffer,
            heap: BinaryHeap::new(),
            inputs: vec![(NotifierSignal::always(), buffer); ctx.ninputs()],
            seq: 0,
            last: None,
            well_ordered: true,
            nonempty: Signal::new(true),
        })
    }
}

impl TimeSortedSched {
    /// Tops up every input with room whose notifier is up; returns whether
    /// any notifier was up.
    fn fill(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let mut signals_on = false;
        for i in 0..self.inputs.len() {
            let (signal, space) = &self.inputs[i];
            // A full input is not asked, nor is its notifier (Click's
            // ready list).
            if *space == 0 || !signal.active() {
                continue;
            }
            signals_on = true;
            let mut space = *space;
            while space > 0 {
                let Some(batch) = ctx.pull(i, space.min(BATCH_CAPACITY)) else {
                    break;
                };
                space -= batch.len();
                for packet in batch {
                    let ts = packet.anno().timestamp().as_signed_nanos();
                    self.seq += 1;
                    let seq = self.seq;
                    self.heap.push(Reverse(Held {
                        ts,
                        seq,
                        input: i,
                        packet,
                    }));
                }
            }
            self.inputs[i].1 = space;
        }
        signals_on
    }

    /// Click's pull: fill, then the earliest packet.
    fn pull_one(&mut self, ctx: &mut Ctx<'_>) -> Option<Packet> {
        let signals_on = self.fill(ctx);
        if self.heap.is_empty() && !signals_on {
            self.nonempty.deactivate();
        } else {
            self.nonempty.activate();
        }
        let Some(Reverse(held)) = self.heap.pop() else {
            if self.stop && !signals_on {
                ctx.stop_router();
            }
            return None;
        };
        if held.ts != 0 {
            if self.last.is_some_and(|last| held.ts < last) {
                self.well_ordered = false;
            }
            self.last = Some(held.ts);
        }
        self.inputs[held.input].1 += 1;
        Some(held.packet)
    }
}

impl Element for TimeSortedSched {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        for i in 0..self.inputs.len() {
            self.inputs[i].0 = ctx.upstream_empty_signal(i);
        }
        let room = self.inputs.len() * self.buffer;
        self.heap
            .try_reserve_exact(room)
            .map_err(|_| format!("BUFFER {}: out of memory", self.buffer))
    }

    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let mut out = Batch::new();
        while out.len() < max.min(BATCH_CAPACITY) {
            let Some(p) = self.pull_one(ctx) else {
                break;
            };
            out.push(p);
        }
        (!out.is_empty()).then_some(out)
    }

    fn notifier(&self, kind: NotifierKind) -> Option<Signal> {
        (kind == NotifierKind::Empty).then(|| self.nonempty.clone())
    }

    fn notifier_passes_wakeups(&self, kind: NotifierKind) -> bool {
        kind == NotifierKind::Empty
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("well_ordered")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "well_ordered").then(|| self.well_ordered.to_string())
    }
}
