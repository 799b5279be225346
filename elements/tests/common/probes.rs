//! Test elements that probe the engine's model, written as a user's crate
//! would write them.

use std::fmt::Write as _;
use std::time::Duration;

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, InitCtx, Packet, PacketCtx, PacketElement, Port,
    Threads, Timer,
};

/// `Number`: paints each packet with a running count, modulo 10.
#[derive(Debug, Default)]
pub struct Number {
    next: u8,
}

impl ElementClass for Number {
    const CLASS: &'static str = "Number";

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Number::default())
    }
}

impl PacketElement for Number {
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        packet.anno_mut().set_paint(self.next);
        self.next = (self.next + 1) % 10;
        Some(0)
    }
}

/// `Alternate`: sends packets to outputs 0 and 1 in turn. Declared `a/ah`
/// as Click's CheckIPHeader is: output 1 stays push when output 0 is
/// pulled.
#[derive(Debug, Default)]
pub struct Alternate {
    next: usize,
}

impl ElementClass for Alternate {
    const CLASS: &'static str = "Alternate";
    const PORT_COUNT: &'static str = "1/2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Alternate::default())
    }
}

impl PacketElement for Alternate {
    fn process(&mut self, _packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        self.next ^= 1;
        Some(self.next ^ 1)
    }
}

/// `Panicker(N)`: passes packets on and panics at the Nth (an element
/// bug); `Panicker(0)` panics while it is configured.
#[derive(Debug, Default)]
pub struct Panicker {
    left: u64,
}

impl ElementClass for Panicker {
    const CLASS: &'static str = "Panicker";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let left = args.read_mp("N")?;
        assert!(left > 0, "Panicker(0) panics in configure");
        Ok(Panicker { left })
    }
}

impl PacketElement for Panicker {
    fn process(&mut self, _packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        self.left = self.left.saturating_sub(1);
        assert!(self.left > 0, "Panicker reached its packet");
        Some(0)
    }
}

/// `Ticker`: three timers firing at 30, 10 and 20 ms after start, the
/// first re-armed twice; `fired` lists them in firing order.
#[derive(Debug, Default)]
pub struct Ticker {
    timers: Vec<Timer>,
    fired: String,
    rearmed: u32,
}

impl ElementClass for Ticker {
    const CLASS: &'static str = "Ticker";
    const PORT_COUNT: &'static str = "0/0";

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Ticker::default())
    }
}

impl click_engine::Element for Ticker {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let (a, b) = (ctx.add_timer(), ctx.add_timer());
        self.timers = vec![Timer::MAIN, a, b];
        ctx.schedule_after(Duration::from_millis(30));
        ctx.set_timer_after(a, Duration::from_millis(10));
        ctx.set_timer_after(b, Duration::from_millis(20));
        Ok(())
    }

    fn run_timer(&mut self, timer: Timer, ctx: &mut Ctx<'_>) {
        let _ = write!(self.fired, "{}", timer.index());
        if timer == Timer::MAIN && self.rearmed < 2 {
            self.rearmed += 1;
            ctx.schedule_after(Duration::from_millis(5));
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("fired")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "fired").then(|| self.fired.clone())
    }
}

/// `Flusher(FILE)`: passes packets on; its cleanup writes "flushed" to
/// FILE, as a trace writer flushes its file when the router stops.
#[derive(Debug, Default)]
pub struct Flusher {
    file: String,
}

impl ElementClass for Flusher {
    const CLASS: &'static str = "Flusher";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Flusher {
            file: args.read_mp("FILE")?,
        })
    }
}

impl PacketElement for Flusher {
    fn process(&mut self, _packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        Some(0)
    }

    fn cleanup(&mut self) {
        std::fs::write(&self.file, "flushed").expect("write the flush file");
    }
}
