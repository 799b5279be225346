//! What every rewriter shares: configuration, the per-packet path (find
//! or make the flow's mapping, rewrite the headers, update checksums and
//! expiry), capacity, reaping of expired flows, and the handlers.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use click_engine::args::{AnnoArg, Args};
use click_engine::{ClockHandle, ConfigureCtx, Handler, Packet, Port};

use super::flow::{adjust, Flow, FlowId, Tracking, TCP_BOTH_DATA, TCP_BOTH_DONE};
use super::pattern::InputSpec;
use super::table::{Entry, FlowTable};
use crate::ip::forward::hdr::{be16, ip_at, put16};

const TCP: u8 = 6;
const UDP: u8 = 17;
const DCCP: u8 = 33;

/// Which rewriter: what it keys flows by and what it rewrites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// IPRewriter: TCP and UDP, in two tables, addresses and ports.
    Ip,
    /// TCPRewriter: TCP only.
    Tcp,
    /// UDPRewriter: UDP, TCP and DCCP, in one table, all treated as UDP.
    Udp,
    /// IPAddrRewriter: the source address (replies by destination).
    Addr,
    /// IPAddrPairRewriter: the source and destination addresses.
    AddrPair,
}

impl Kind {
    fn has_ports(self) -> bool {
        matches!(self, Kind::Ip | Kind::Tcp | Kind::Udp)
    }
}

/// Timeouts of one table's flows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    /// Idle timeout (TCP: before data went both ways).
    idle: Duration,
    /// A flow is kept at least this long after each packet.
    guarantee: Duration,
    /// TCP with data both ways; UDP streaming.
    busy: Duration,
    /// TCP closed both ways.
    done: Duration,
}

impl Timeouts {
    fn new(idle: u64) -> Timeouts {
        let idle = Duration::from_secs(idle);
        Timeouts {
            idle,
            guarantee: Duration::from_secs(5),
            busy: idle,
            done: idle,
        }
    }

    /// The idle timeout `flow` has in its state.
    fn of(&self, flow: &Flow) -> Duration {
        match flow.tracking {
            Tracking::Plain => self.idle,
            Tracking::Tcp if flow.state & TCP_BOTH_DONE == TCP_BOTH_DONE => self.done,
            Tracking::Tcp if flow.state & TCP_BOTH_DATA == TCP_BOTH_DATA => self.busy,
            Tracking::Udp if flow.state > 6 => self.busy,
            _ => self.idle,
        }
    }

    /// When `flow` expires (with no guarantee left).
    fn expiry(&self, flow: &Flow) -> Instant {
        flow.used + self.of(flow)
    }

    /// Whether `flow` is still under its guarantee at `now`.
    fn guaranteed(&self, flow: &Flow, now: Instant) -> bool {
        now < flow.used + self.guarantee
    }
}

/// Flows made by one input, and the ones it could not make.
#[derive(Clone, Copy, Debug, Default)]
struct InputStats {
    count: u64,
    failures: u64,
}

/// The headers of a packet a rewriter looks at.
struct Headers {
    nh: usize,
    th: usize,
    proto: u8,
    first_frag: bool,
    saddr: u32,
    daddr: u32,
}

impl Headers {
    /// The IPv4 header of `p`, marked and whole; `None` for anything else.
    fn read(p: &Packet) -> Option<Headers> {
        let nh = ip_at(p, 20)?;
        let d = p.data();
        let hl = usize::from(d[nh] & 0x0f) * 4;
        if d[nh] >> 4 != 4 || hl < 20 || nh + hl > d.len() {
            return None;
        }
        let addr = |i: usize| u32::from_be_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
        Some(Headers {
            nh,
            th: nh + hl,
            proto: d[nh + 9],
            first_frag: be16(d, nh + 6) & 0x1fff == 0,
            saddr: addr(nh + 12),
            daddr: addr(nh + 16),
        })
    }
}

/// The shared state and code of the rewriter elements.
#[derive(Debug)]
pub(crate) struct Core {
    kind: Kind,
    specs: Vec<InputSpec>,
    stats: Vec<InputStats>,
    /// Table 0: TCP (IPRewriter), or every flow; table 1: IPRewriter's UDP.
    tables: [FlowTable; 2],
    timeouts: [Timeouts; 2],
    capacity: usize,
    reap: Duration,
    dst_anno: bool,
    reply_anno: Option<usize>,
    clock: Option<ClockHandle>,
}

/// The verdict for a packet with no mapping and none made: an output, or
/// a drop.
type Unmapped = Option<Port>;

impl Core {
    /// Reads the keyword arguments of `kind` and one input spec per
    /// input, Click's way: every bad spec is reported, each on its line.
    pub fn configure(kind: Kind, args: &mut Args, ctx: &ConfigureCtx) -> Result<Core, String> {
        let mut core = Core {
            kind,
            specs: Vec::new(),
            stats: vec![InputStats::default(); ctx.ninputs()],
            tables: Default::default(),
            timeouts: [Timeouts::new(300); 2],
            capacity: usize::MAX,
            reap: Duration::from_secs(15 * 60),
            dst_anno: true,
            reply_anno: None,
            clock: None,
        };
        core.read_keywords(args)?;
        let specs = args.rest();
        if specs.len() != ctx.ninputs() {
            return Err(format!(
                "need {} arguments, one per input port",
                ctx.ninputs()
            ));
        }
        let mut errors = Vec::new();
        for (i, text) in specs.iter().enumerate() {
            match InputSpec::parse(text, ctx.noutputs(), args) {
                Ok(spec) => core.specs.push(spec),
                Err(e) => errors.push(format!("input spec {i}: {e}")),
            }
        }
        if errors.is_empty() {
            Ok(core)
        } else {
            // Click's shape: the context line, then each spec's error
            // indented beneath it.
            Err(errors.iter().map(|e| format!("\n  {e}")).collect())
        }
    }

    /// The keywords each rewriter reads, with Click's defaults.
    fn read_keywords(&mut self, args: &mut Args) -> Result<(), String> {
        let secs = |args: &mut Args, kw: &str, slot: &mut Duration| -> Result<(), String> {
            if let Some(d) = args.read::<Duration>(kw)? {
                *slot = d;
            }
            Ok(())
        };
        let t = &mut self.timeouts;
        match self.kind {
            Kind::Ip | Kind::Tcp => {
                if self.kind == Kind::Ip {
                    secs(args, "UDP_TIMEOUT", &mut t[1].idle)?;
                    t[1].busy = t[1].idle;
                    secs(args, "UDP_STREAMING_TIMEOUT", &mut t[1].busy)?;
                    secs(args, "UDP_GUARANTEE", &mut t[1].guarantee)?;
                }
                t[0].busy = Duration::from_secs(86400);
                t[0].done = Duration::from_secs(240);
                secs(args, "TCP_NODATA_TIMEOUT", &mut t[0].idle)?;
                secs(args, "TCP_GUARANTEE", &mut t[0].guarantee)?;
                secs(args, "TIMEOUT", &mut t[0].busy)?;
                secs(args, "TCP_TIMEOUT", &mut t[0].busy)?;
                secs(args, "TCP_DONE_TIMEOUT", &mut t[0].done)?;
            }
            Kind::Udp => {
                secs(args, "UDP_TIMEOUT", &mut t[0].idle)?;
                secs(args, "TIMEOUT", &mut t[0].idle)?;
                t[0].busy = t[0].idle;
                secs(args, "UDP_STREAMING_TIMEOUT", &mut t[0].busy)?;
                secs(args, "STREAMING_TIMEOUT", &mut t[0].busy)?;
                secs(args, "UDP_GUARANTEE", &mut t[0].guarantee)?;
            }
            Kind::Addr | Kind::AddrPair => t[0] = Timeouts::new(2 * 60 * 60),
        }
        self.read_annos(args, self.kind.has_ports())?;
        // What every rewriter reads (Click's IPRewriterBase).
        for kw in ["CAPACITY", "MAPPING_CAPACITY"] {
            if let Some(text) = args.read::<String>(kw)? {
                self.capacity = text.trim().parse().map_err(|_| {
                    format!("{kw}: expected a number (sharing another rewriter's capacity is not supported)")
                })?;
            }
        }
        let t = &mut self.timeouts[0];
        secs(args, "TIMEOUT", &mut t.idle)?;
        secs(args, "GUARANTEE", &mut t.guarantee)?;
        secs(args, "REAP_INTERVAL", &mut self.reap)?;
        secs(args, "REAP_TIME", &mut self.reap)?;
        Ok(())
    }

    /// DST_ANNO (where the rewriter has it) and REPLY_ANNO.
    fn read_annos(&mut self, args: &mut Args, has_dst_anno: bool) -> Result<(), String> {
        if has_dst_anno {
            self.dst_anno = args.read("DST_ANNO")?.unwrap_or(true);
        }
        self.reply_anno = args.read::<AnnoArg<1>>("REPLY_ANNO")?.map(|a| a.offset);
        Ok(())
    }

    pub fn set_clock(&mut self, clock: ClockHandle) {
        self.clock = Some(clock);
    }

    /// How often expired flows are removed (zero: never).
    pub fn reap_interval(&self) -> Duration {
        self.reap
    }

    // ---- the packet path ----

    /// Rewrites `p`, arrived on `input`, and says where it goes (`None`:
    /// drop it).
    pub fn process(&mut self, input: Port, p: &mut Packet, now: Instant) -> Option<Port> {
        // Without a marked IPv4 header there is nothing to map.
        let h = Headers::read(p)?;
        let Some((t, key)) = self.flow_key(&h, p) else {
            return self.unmapped(input);
        };
        let entry = match self.find(t, key, &h) {
            Some(e) => e,
            None => match self.create(input, t, key, p, now) {
                Ok(e) => e,
                Err(fate) => return fate,
            },
        };
        self.apply(t, entry, &h, p, now)
    }

    /// The table and flow ID `p` is looked up by; `None` for packets the
    /// rewriter does not map (other protocols, later fragments, short
    /// transport headers).
    fn flow_key(&self, h: &Headers, p: &Packet) -> Option<(usize, FlowId)> {
        let table = match (self.kind, h.proto) {
            (Kind::Ip, TCP) | (Kind::Tcp, TCP) | (Kind::Udp, TCP | UDP | DCCP) => 0,
            (Kind::Ip, UDP) => 1,
            (Kind::Addr, _) => return Some((0, FlowId::new(h.saddr, 0, 0, 0))),
            (Kind::AddrPair, _) => return Some((0, FlowId::new(h.saddr, 0, h.daddr, 0))),
            _ => return None,
        };
        let d = p.data();
        if !h.first_frag || d.len() < h.th + 8 {
            return None;
        }
        let (sport, dport) = (be16(d, h.th), be16(d, h.th + 2));
        Some((table, FlowId::new(h.saddr, sport, h.daddr, dport)))
    }

    /// An existing mapping for `key` (IPAddrRewriter also finds replies
    /// by their destination address alone).
    #[inline]
    fn find(&self, t: usize, key: FlowId, h: &Headers) -> Option<Entry> {
        let table = &self.tables[t];
        table.lookup(&key).or_else(|| {
            (self.kind == Kind::Addr)
                .then(|| table.lookup(&FlowId::new(0, 0, h.daddr, 0)))
                .flatten()
        })
    }

    /// What an input does with a packet it cannot map.
    fn unmapped(&self, input: Port) -> Unmapped {
        match self.specs.get(input) {
            Some(InputSpec::Pass(out)) => Some(*out),
            _ => None,
        }
    }

    /// Makes a mapping for a new flow by `input`'s spec. `Err` carries the
    /// packet's fate when none is made.
    fn create(
        &mut self,
        input: Port,
        t: usize,
        key: FlowId,
        p: &Packet,
        now: Instant,
    ) -> Result<Entry, Unmapped> {
        let table = &self.tables[t];
        let (rewritten, outputs) = match self.specs.get_mut(input) {
            Some(InputSpec::Pass(out)) => return Err(Some(*out)),
            Some(InputSpec::Keep(f, r)) => (key, [*f, *r]),
            Some(InputSpec::Pattern(pattern, f, r)) => {
                let outputs = [*f, *r];
                match pattern.rewrite(key, |reply| table.contains(reply)) {
                    Some(flow) => (flow, outputs),
                    None => {
                        self.stats[input].failures += 1;
                        return Err(None);
                    }
                }
            }
            Some(InputSpec::Drop) | None => return Err(None),
        };
        // The address rewriters make no mapping that would change ports
        // (nor, for IPAddrRewriter, the destination).
        let changes_more = match self.kind {
            Kind::Addr => rewritten.sport != 0 || rewritten.dport != 0 || rewritten.daddr != 0,
            Kind::AddrPair => rewritten.sport != 0 || rewritten.dport != 0,
            _ => false,
        };
        if changes_more {
            return Err(None);
        }
        let tracking = match (self.kind, key_proto(self.kind, t)) {
            (Kind::Addr | Kind::AddrPair, _) => Tracking::Plain,
            (_, TCP) => Tracking::Tcp,
            _ => Tracking::Udp,
        };
        let mut flow = Flow::new(key, rewritten, outputs, input, tracking, now);
        if let Some(off) = self.reply_anno {
            flow.reply_anno = p.anno().u8(off).unwrap_or(0);
        }
        let (slot, displaced) = self.tables[t].insert(flow);
        if let Some(old) = displaced {
            self.stats[old.input].count -= 1;
        }
        self.stats[input].count += 1;
        if self.size() > self.capacity && self.evict(now, Some((t, slot))) {
            self.stats[input].failures += 1;
            return Err(None);
        }
        Ok(Entry {
            flow: slot,
            reply: false,
        })
    }

    /// Rewrites `p` by its flow's mapping and notes the packet in the
    /// flow (state, expiry).
    fn apply(
        &mut self,
        t: usize,
        e: Entry,
        h: &Headers,
        p: &mut Packet,
        now: Instant,
    ) -> Option<Port> {
        let kind = self.kind;
        let flow = self.tables[t].flow_mut(e.flow);
        let new = flow.rewritten(e.reply);
        let (nh, th) = (h.nh, h.th);
        let d = p.data_mut().ok()?;
        // The address rewriter changes the source going out and the
        // destination coming back; the others change both.
        if kind != Kind::Addr || !e.reply {
            d[nh + 12..nh + 16].copy_from_slice(&new.saddr.to_be_bytes());
        }
        if kind != Kind::Addr || e.reply {
            d[nh + 16..nh + 20].copy_from_slice(&new.daddr.to_be_bytes());
        }
        put16(d, nh + 10, adjust(be16(d, nh + 10), flow.ip_delta, e.reply));
        let tlen = d.len().saturating_sub(th);
        if h.first_frag {
            if kind.has_ports() && tlen >= 8 {
                put16(d, th, new.sport);
                put16(d, th + 2, new.dport);
            }
            if h.proto == TCP && tlen >= 18 {
                put16(d, th + 16, adjust(be16(d, th + 16), flow.l4_delta, e.reply));
            } else if h.proto == UDP && tlen >= 8 && be16(d, th + 6) != 0 {
                // A zero UDP checksum means none: it stays zero.
                put16(d, th + 6, adjust(be16(d, th + 6), flow.l4_delta, e.reply));
            }
        }
        match flow.tracking {
            Tracking::Tcp if h.first_frag && tlen >= 18 => {
                let ip_len = usize::from(be16(d, nh + 2));
                let header = (th - nh) + usize::from(d[th + 12] >> 4) * 4;
                flow.note_tcp(e.reply, d[th + 13], header < ip_len);
            }
            Tracking::Udp => flow.note_udp(e.reply),
            _ => {}
        }
        flow.used = now;
        let out = flow.outputs[usize::from(e.reply)];
        let reply_anno = flow.reply_anno;
        let anno = p.anno_mut();
        if self.dst_anno && (kind != Kind::Addr || e.reply) {
            anno.set_dst_ip(Ipv4Addr::from(new.daddr));
        }
        if let (Some(off), true) = (self.reply_anno, e.reply) {
            let _ = anno.set_u8(off, reply_anno);
        }
        Some(out)
    }

    // ---- capacity and expiry ----

    /// Flows in all tables.
    fn size(&self) -> usize {
        self.tables.iter().map(FlowTable::len).sum()
    }

    /// Removes one flow to make room, as Click chooses: the best-effort
    /// flow (its guarantee over) that expires first; with none, the
    /// newcomer `new` (admission control), or without one the
    /// guaranteed flow used longest ago. Says whether `new` went.
    fn evict(&mut self, now: Instant, new: Option<(usize, usize)>) -> bool {
        let mut best: Option<(Instant, usize, usize)> = None;
        let mut oldest: Option<(Instant, usize, usize)> = None;
        for (t, table) in self.tables.iter().enumerate() {
            let to = &self.timeouts[t];
            for (slot, flow) in table.iter() {
                if !to.guaranteed(flow, now) {
                    let exp = to.expiry(flow);
                    if best.is_none_or(|(b, ..)| exp < b) {
                        best = Some((exp, t, slot));
                    }
                } else if oldest.is_none_or(|(o, ..)| flow.used < o) {
                    oldest = Some((flow.used, t, slot));
                }
            }
        }
        let victim = match (best, new) {
            (Some((_, t, slot)), _) => (t, slot),
            (None, Some(n)) => n,
            (None, None) => match oldest {
                Some((_, t, slot)) => (t, slot),
                None => return false,
            },
        };
        self.remove(victim.0, victim.1);
        Some(victim) == new
    }

    fn remove(&mut self, t: usize, slot: usize) {
        if let Some(flow) = self.tables[t].remove(slot) {
            self.stats[flow.input].count -= 1;
        }
    }

    /// Removes the flows that have expired by `now`.
    pub fn reap(&mut self, now: Instant) {
        for t in 0..2 {
            let to = self.timeouts[t];
            let gone =
                self.tables[t].remove_where(|f| !to.guaranteed(f, now) && now >= to.expiry(f));
            for flow in gone {
                self.stats[flow.input].count -= 1;
            }
        }
    }

    /// Removes flows until no more than the capacity remain.
    fn shrink(&mut self, now: Instant) {
        while self.size() > self.capacity {
            self.evict(now, None);
        }
    }

    // ---- handlers ----

    /// The handlers of this kind of rewriter, with `pattern0`... for its
    /// inputs (up to 16).
    pub fn handlers(&self) -> &'static [Handler] {
        let all = if self.kind == Kind::Ip {
            IP_HANDLERS
        } else {
            HANDLERS
        };
        &all[..all.len() - PATTERN_HANDLERS + self.specs.len().min(PATTERN_HANDLERS)]
    }

    pub fn read_handler(&self, name: &str) -> Option<String> {
        let stat = |f: fn(&InputStats) -> u64| self.stats.iter().map(f).sum::<u64>().to_string();
        Some(match name {
            "table_size" | "nmappings" => stat(|s| s.count),
            "mapping_failures" => stat(|s| s.failures),
            "size" => self.size().to_string(),
            "capacity" => self.capacity.min(i32::MAX as usize).to_string(),
            "patterns" => (0..self.specs.len())
                .map(|i| self.pattern_line(i))
                .collect(),
            "table" | "mappings" if self.kind != Kind::Ip => self.table_text(0),
            "tcp_table" | "tcp_mappings" if self.kind == Kind::Ip => self.table_text(0),
            "udp_table" | "udp_mappings" if self.kind == Kind::Ip => self.table_text(1),
            _ => {
                let i: usize = name.strip_prefix("pattern")?.parse().ok()?;
                (i < self.specs.len()).then(|| self.pattern_line(i))?
            }
        })
    }

    pub fn write_handler(&mut self, name: &str, value: &str, now: Instant) -> Result<(), String> {
        match name {
            "capacity" => {
                self.capacity = Args::new(value).read_mp("CAPACITY")?;
                self.shrink(now);
            }
            "clear" => {
                for t in 0..2 {
                    for flow in self.tables[t].remove_where(|_| true) {
                        self.stats[flow.input].count -= 1;
                    }
                }
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }

    /// Input `i`'s spec, with the number of its live flows if any.
    fn pattern_line(&self, i: usize) -> String {
        let mut s = self.specs[i].unparse();
        if self.stats[i].count > 0 {
            let _ = write!(s, " [{}]", self.stats[i].count);
        }
        s.push('\n');
        s
    }

    /// Each flow of table `t`, forward then reply, in Click's form:
    /// `FLOW => REWRITTEN [*FOUT ROUT] iINPUT expSECONDS`.
    fn table_text(&self, t: usize) -> String {
        let now = self.clock.as_ref().map(ClockHandle::now);
        let mut s = String::new();
        for (_, flow) in self.tables[t].iter() {
            let exp = now.map_or(0, |now| {
                let at = self.timeouts[t].expiry(flow);
                let ms = if at >= now {
                    (at - now).as_millis() as i64
                } else {
                    -((now - at).as_millis() as i64)
                };
                (ms + 500).div_euclid(1000)
            });
            for reply in [false, true] {
                self.flow_text(&mut s, flow, reply);
                let [f, r] = flow.outputs;
                let (fm, rm) = if reply { ("", "*") } else { ("*", "") };
                let _ = writeln!(s, " [{fm}{f} {rm}{r}] i{} exp{exp}", flow.input);
            }
        }
        s
    }

    /// One side of a flow, as each rewriter shows it.
    fn flow_text(&self, s: &mut String, flow: &Flow, reply: bool) {
        let (me, other) = (
            flow.keys[usize::from(reply)],
            flow.keys[usize::from(!reply)],
        );
        let ip = Ipv4Addr::from;
        let _ = match self.kind {
            Kind::Addr => write!(s, "{} => {}", ip(me.saddr), ip(other.daddr)),
            Kind::AddrPair => write!(
                s,
                "({}, {}) => ({}, {})",
                ip(me.saddr),
                ip(me.daddr),
                ip(other.daddr),
                ip(other.saddr)
            ),
            _ => write!(s, "{} => {}", me, flow.rewritten(reply)),
        };
    }
}

/// The protocol of table `t`'s flows, where the table says it.
fn key_proto(kind: Kind, t: usize) -> u8 {
    match (kind, t) {
        (Kind::Ip, 1) | (Kind::Udp, _) => UDP,
        _ => TCP,
    }
}

/// How many `patternN` handlers the lists end with.
const PATTERN_HANDLERS: usize = 16;

macro_rules! rewriter_handlers {
    ($($table:expr),*) => {
        &[
            $(Handler::read($table),)*
            Handler::read("table_size"),
            Handler::read("nmappings"),
            Handler::read("mapping_failures"),
            Handler::read("patterns"),
            Handler::read("size"),
            Handler::read_write("capacity"),
            Handler::write("clear"),
            Handler::read("pattern0"), Handler::read("pattern1"),
            Handler::read("pattern2"), Handler::read("pattern3"),
            Handler::read("pattern4"), Handler::read("pattern5"),
            Handler::read("pattern6"), Handler::read("pattern7"),
            Handler::read("pattern8"), Handler::read("pattern9"),
            Handler::read("pattern10"), Handler::read("pattern11"),
            Handler::read("pattern12"), Handler::read("pattern13"),
            Handler::read("pattern14"), Handler::read("pattern15"),
        ]
    };
}

const HANDLERS: &[Handler] = rewriter_handlers!("table", "mappings");
const IP_HANDLERS: &[Handler] =
    rewriter_handlers!("tcp_table", "udp_table", "tcp_mappings", "udp_mappings");
