//! InfiniteSource: pushes clones of one packet, as fast as it is scheduled.

use click_engine::args::{Args, Bytes, Raw};
use click_engine::packet::BATCH_CAPACITY;
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierKind,
    NotifierSignal, Packet, Port, Signal,
};

use super::handlercall::HandlerCall;
use super::sourcedata::{packet_data, stamped_clones, DEFAULT_DATA};

/// `InfiniteSource([DATA, LIMIT, BURST, ACTIVE, *keywords* LENGTH, STOP,
/// END_CALL, TIMESTAMP])`: emits clones of one packet, BURST per task run,
/// until LIMIT packets (-1: no limit); then, with STOP, stops the router,
/// or with `END_CALL HANDLER [VALUE]` calls that write handler (each time
/// the limit stops it, as Click's). It pauses while the queue downstream
/// is full (Click's full notifier). In pull context it answers pulls
/// instead of running a task, and has an *empty* notifier, down once it is
/// spent or inactive (so the task pulling from it sleeps) and up again when
/// a handler write (`active`, `limit`, `reset`) revives it.
///
/// * Ports: no inputs, 1 output, agnostic.
/// * Handlers: `count`, `burst` (read); `limit`, `active`, `data`,
///   `length` (read/write: new `data` or `length` remakes the packet);
///   `reset` (write).
pub struct InfiniteSource {
    template: Option<Packet>,
    data: Vec<u8>,
    length: Option<usize>,
    limit: Option<u64>,
    burst: u64,
    active: bool,
    end_call: Option<HandlerCall>,
    timestamp: bool,
    count: u64,
    pushes: bool,
    room: NotifierSignal,
    /// Pull mode: the empty notifier, down once the source is spent or
    /// inactive, so that the task pulling from it sleeps.
    nonempty: Signal,
    /// RandomSource: fresh packets of random bytes instead of clones; the
    /// generator's state.
    random: Option<u64>,
}

impl ElementClass for InfiniteSource {
    const CLASS: &'static str = "InfiniteSource";
    const PORT_COUNT: &'static str = "0/1";

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let data: Option<Bytes> = args.read_p("DATA")?;
        InfiniteSource::configure_after_data(args, ctx, data)
    }
}

impl InfiniteSource {
    /// The arguments after DATA (RandomSource has LENGTH in its place).
    fn configure_after_data(
        args: &mut Args,
        ctx: &ConfigureCtx,
        data: Option<Bytes>,
    ) -> Result<Self, String> {
        let limit: i64 = args.read_p("LIMIT")?.unwrap_or(-1);
        let burst: u64 = args.read_p("BURST")?.unwrap_or(1);
        let active = args.read_p("ACTIVE")?.unwrap_or(true);
        let length: Option<usize> = args.read("LENGTH")?.or(args.read("DATASIZE")?);
        let stop = args.read("STOP")?.unwrap_or(false);
        let end_call = match args.read::<Raw>("END_CALL")? {
            Some(_) if stop => return Err("END_CALL and STOP are mutually exclusive".into()),
            Some(Raw(text)) => Some(HandlerCall::parse(&text, "END_CALL")?),
            None => stop.then(HandlerCall::stop),
        };
        let timestamp = args.read("TIMESTAMP")?.unwrap_or(true);
        let longest = click_engine::packet::PacketPool::max_packet_len();
        if let Some(n) = length.filter(|&n| n > longest) {
            return Err(format!(
                "LENGTH {n} is longer than the longest packet, {longest} bytes"
            ));
        }
        if burst == 0 {
            return Err("BURST must be at least 1".into());
        }
        Ok(InfiniteSource {
            template: None,
            data: data.map_or_else(|| DEFAULT_DATA.to_vec(), |b| b.0),
            length,
            limit: u64::try_from(limit).ok(),
            burst,
            active,
            end_call,
            timestamp,
            count: 0,
            pushes: ctx.output_is_push(0),
            room: NotifierSignal::always(),
            nonempty: Signal::new(active),
            random: None,
        })
    }

    /// The packet's bytes: DATA, repeated or cut to LENGTH if given.
    fn packet_bytes(&self) -> Vec<u8> {
        packet_data(Some(&self.data), self.length)
    }

    /// How many packets the next emission may make.
    fn allowance(&self, want: u64) -> u64 {
        match self.limit {
            Some(limit) => want.min(limit.saturating_sub(self.count)),
            None => want,
        }
    }

    fn clones(&mut self, n: usize, ctx: &Ctx<'_>) -> Batch {
        let stamp = self.timestamp.then(|| ctx.timestamp());
        let batch = match &mut self.random {
            None => stamped_clones(self.template.as_ref(), n, stamp),
            Some(state) => random_packets(state, self.length.unwrap_or(0), n, stamp),
        };
        self.count += batch.len() as u64;
        batch
    }
}

impl Element for InfiniteSource {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.template = Some(Packet::from_slice(&self.packet_bytes()).map_err(|e| e.to_string())?);
        if self.pushes {
            self.room = ctx.downstream_full_signal(0);
            if !self.active {
                ctx.start_unscheduled();
            }
        }
        Ok(())
    }

    fn has_task(&self) -> bool {
        self.pushes
    }

    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if !self.active || !self.room.active() {
            ctx.sleep();
            return false;
        }
        let mut left = self.allowance(self.burst);
        if left == 0 {
            ctx.sleep();
            if let Some(end) = &self.end_call {
                ctx.lend_self(self, |ctx| end.call(ctx));
            }
            return false;
        }
        while left > 0 {
            let n = left.min(BATCH_CAPACITY as u64) as usize;
            let batch = self.clones(n, ctx);
            if batch.is_empty() {
                break; // pool exhausted: try again next run
            }
            left -= batch.len() as u64;
            ctx.push(0, batch);
        }
        true
    }

    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        if !self.active {
            self.nonempty.deactivate();
            return None;
        }
        let n = self.allowance(max as u64) as usize;
        if n == 0 {
            self.nonempty.deactivate();
            if let Some(end) = &self.end_call {
                ctx.lend_self(self, |ctx| end.call(ctx));
            }
            return None;
        }
        Some(self.clones(n, ctx)).filter(|b| !b.is_empty())
    }

    fn notifier(&self, kind: NotifierKind) -> Option<Signal> {
        (kind == NotifierKind::Empty && !self.pushes).then(|| self.nonempty.clone())
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("count"),
            Handler::read_write("limit"),
            Handler::read("burst"),
            Handler::read_write("active"),
            Handler::read_write("data"),
            Handler::read_write("length"),
            Handler::write("reset"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "count" => self.count.to_string(),
            "limit" => self.limit.map_or("-1".into(), |l| l.to_string()),
            "burst" => self.burst.to_string(),
            "active" => self.active.to_string(),
            "data" => String::from_utf8_lossy(&self.data).into_owned(),
            "length" => self.packet_bytes().len().to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "active" => self.active = Args::new(value).read_mp("ACTIVE")?,
            "limit" => {
                let limit: i64 = Args::new(value).read_mp("LIMIT")?;
                self.limit = u64::try_from(limit).ok();
            }
            "reset" => self.count = 0,
            "data" | "length" => {
                if name == "data" {
                    let data: Bytes = Args::new(value).read_mp("DATA")?;
                    self.data = data.0;
                } else {
                    let length: i64 = Args::new(value).read_mp("LENGTH")?;
                    self.length = usize::try_from(length).ok();
                }
                self.template =
                    Some(Packet::from_slice(&self.packet_bytes()).map_err(|e| e.to_string())?);
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        // As Click's: new data or length does not restart a source that
        // finished (an END_CALL writing them would otherwise loop).
        if self.active && !matches!(name, "data" | "length") {
            if self.pushes {
                ctx.wake_task();
            } else {
                self.nonempty.activate();
            }
        }
        Ok(())
    }
}

/// `n` fresh packets of `len` random bytes (a xorshift64* generator: eight
/// bytes per step), stamped if `stamp`. Fewer if the pool runs out.
fn random_packets(
    state: &mut u64,
    len: usize,
    n: usize,
    stamp: Option<click_engine::packet::Timestamp>,
) -> Batch {
    let mut batch = Batch::new();
    for _ in 0..n {
        let Ok(mut p) = Packet::new(len) else {
            break;
        };
        if let Ok(data) = p.data_mut() {
            for chunk in data.chunks_mut(8) {
                *state ^= *state >> 12;
                *state ^= *state << 25;
                *state ^= *state >> 27;
                let word = state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_ne_bytes();
                chunk.copy_from_slice(&word[..chunk.len()]);
            }
        }
        if let Some(t) = stamp {
            p.anno_mut().set_timestamp(t);
        }
        let _ = batch.try_push(p);
    }
    batch
}

/// `RandomSource(LENGTH [, LIMIT, BURST, ACTIVE, *keywords* STOP, END_CALL,
/// TIMESTAMP])`: as InfiniteSource, but every packet is a fresh one of
/// LENGTH random bytes, not a clone of one packet.
///
/// * Ports: no inputs, 1 output, agnostic.
/// * Handlers: as InfiniteSource's.
pub struct RandomSource(InfiniteSource);

impl ElementClass for RandomSource {
    const CLASS: &'static str = "RandomSource";
    const PORT_COUNT: &'static str = "0/1";

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let length: usize = args.read_mp("LENGTH")?;
        if length >= 64 * 1024 {
            return Err(format!("bad length {length}"));
        }
        let mut source = InfiniteSource::configure_after_data(args, ctx, None)?;
        source.length = Some(length);
        source.data = vec![0; length];
        // A seed from the element's name: runs are repeatable.
        let seed = ctx.name.bytes().fold(0x9e37_79b9_7f4a_7c15u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        source.random = Some(seed | 1);
        Ok(RandomSource(source))
    }
}

impl Element for RandomSource {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.0.initialize(ctx)
    }

    fn has_task(&self) -> bool {
        self.0.has_task()
    }

    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        self.0.run_task(ctx)
    }

    fn pull(&mut self, port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        self.0.pull(port, max, ctx)
    }

    fn notifier(&self, kind: NotifierKind) -> Option<Signal> {
        self.0.notifier(kind)
    }

    fn handlers(&self) -> &'static [Handler] {
        self.0.handlers()
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        self.0.read_handler(name)
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        self.0.write_handler(name, value, ctx)
    }
}
