//! StrideSched: pulls from its inputs in proportion to their tickets.

use click_engine::args::Args;
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, InitCtx, NotifierSignal, Packet, Port,
    MAX_TICKETS, PULL,
};

/// Pass increment of an input with one ticket (Click's STRIDE1).
const STRIDE1: u32 = 1 << 16;

#[derive(Clone, Copy, Debug)]
struct Client {
    pass: u32,
    stride: u32,
    tickets: u32,
}

/// Click's `PASS_GT`: pass `a` is after pass `b`, wrapping.
fn pass_gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// `StrideSched(TICKETS0, ..., TICKETSN-1)`: answers each pull with a
/// packet from the input whose turn it is by stride scheduling: input `i`
/// is pulled in proportion to TICKETSi (an input with 0 tickets never is),
/// as Click's StrideSched, ties going to the lower input. An input is
/// pulled only while its upstream empty notifier is active, but it loses
/// its turn either way, as in Click. A pull of a batch makes the same
/// choices packet by packet.
///
/// * Ports: one or more pull inputs (one argument each), 1 pull output.
/// * Handlers: `ticketsI` (read/write) for each input I (not listed by
///   `handlers`, whose names are fixed per class).
pub struct StrideSched {
    clients: Vec<Client>,
    /// Inputs with tickets, by pass.
    order: Vec<usize>,
    /// Room for the inputs a pull passed over (no allocation per pull).
    passed: Vec<usize>,
    signals: Vec<NotifierSignal>,
}

impl StrideSched {
    fn client(tickets: u32) -> Client {
        let stride = STRIDE1.checked_div(tickets).unwrap_or(0);
        Client {
            pass: stride,
            stride,
            tickets,
        }
    }

    /// Puts input `i` in `order` before the first input whose pass is not
    /// before its own.
    fn insert(&mut self, i: usize) {
        let pass = self.clients[i].pass;
        let at = self
            .order
            .iter()
            .position(|&x| !pass_gt(pass, self.clients[x].pass))
            .unwrap_or(self.order.len());
        self.order.insert(at, i);
    }

    /// One packet, from the first input in pass order that has one; every
    /// input tried, the one that answered included, advances its pass.
    fn pull_one(&mut self, ctx: &mut Ctx<'_>) -> Option<Packet> {
        let mut packet = None;
        let mut tried = 0;
        for &i in &self.order {
            tried += 1;
            if self.signals[i].active() {
                packet = ctx.pull(i, 1).and_then(|mut b| b.pop());
            }
            let c = &mut self.clients[i];
            c.pass = c.pass.wrapping_add(c.stride);
            if packet.is_some() {
                break;
            }
        }
        self.passed.clear();
        self.passed.extend(self.order.drain(..tried));
        for k in 0..self.passed.len() {
            self.insert(self.passed[k]);
        }
        packet
    }

    fn set_tickets(&mut self, i: usize, tickets: u32) {
        let tickets = tickets.min(MAX_TICKETS);
        let had = self.clients[i].tickets;
        let stride = STRIDE1.checked_div(tickets).unwrap_or(0);
        self.clients[i].tickets = tickets;
        self.clients[i].stride = stride;
        if tickets == 0 && had != 0 {
            self.order.retain(|&x| x != i);
        } else if tickets != 0 && had == 0 {
            // Joins at the current front's pass, as Click's does.
            let front = self.order.first().map_or(0, |&x| self.clients[x].pass);
            self.clients[i].pass = front.wrapping_add(stride);
            self.insert(i);
        }
    }
}

impl ElementClass for StrideSched {
    const CLASS: &'static str = "StrideSched";
    const PORT_COUNT: &'static str = "1-/1";
    const PROCESSING: &'static str = PULL;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let words = args.rest();
        if words.len() != ctx.ninputs() {
            return Err(format!(
                "need {} arguments, one per input port",
                ctx.ninputs()
            ));
        }
        let mut clients = Vec::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            let tickets: u32 = w
                .trim()
                .parse()
                .map_err(|_| format!("argument {i} should be number of tickets (integer >= 0)"))?;
            clients.push(Self::client(tickets.min(MAX_TICKETS)));
        }
        let n = clients.len();
        let mut s = StrideSched {
            clients,
            order: Vec::with_capacity(n),
            passed: Vec::with_capacity(n),
            signals: vec![NotifierSignal::always(); n],
        };
        // Lower inputs first on ties: insert the higher ones first.
        for i in (0..n).rev() {
            if s.clients[i].tickets > 0 {
                s.insert(i);
            }
        }
        Ok(s)
    }
}

impl Element for StrideSched {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        for (i, s) in self.signals.iter_mut().enumerate() {
            *s = ctx.upstream_empty_signal(i);
        }
        Ok(())
    }

    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let mut out = Batch::new();
        while out.len() < max && !out.is_full() {
            match self.pull_one(ctx) {
                Some(p) => out.push(p),
                None => break,
            }
        }
        (!out.is_empty()).then_some(out)
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        let i: usize = name.strip_prefix("tickets")?.parse().ok()?;
        self.clients.get(i).map(|c| c.tickets.to_string())
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        let i = name
            .strip_prefix("tickets")
            .and_then(|i| i.parse::<usize>().ok())
            .filter(|&i| i < self.clients.len())
            .ok_or_else(|| format!("no write handler '{name}'"))?;
        let tickets: u32 = Args::new(value).read_mp("TICKETS")?;
        self.set_tickets(i, tickets);
        Ok(())
    }
}
