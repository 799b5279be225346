//! What every rewriter shares: configuration, the per-packet path (find
//! or make the flow's mapping, rewrite the headers, update checksums and
//! expiry), capacity, and reaping of expired flows. The handlers are in
//! `handlers.rs`.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use click_engine::args::{AnnoArg, Args};
use click_engine::{ClockHandle, ConfigureCtx, InitCtx, Packet, Port};

use super::capacity::CapacityGroup;
use super::flow::{adjust, Flow, FlowId, Tracking};
use super::mapper::resolve_mappers;
use super::pattern::{self, InputSpec, NamedPatterns};
use super::table::{Entry, FlowTable, CLASSES};
use crate::ip::forward::hdr::{be16, ip_at, put16, update_cksum};

const TCP: u8 = 6;
const UDP: u8 = 17;
const DCCP: u8 = 33;
const ICMP: u8 = 1;
const ICMP_ECHO_REPLY: u8 = 0;
const ICMP_ECHO: u8 = 8;

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
    /// ICMPPingRewriter: ICMP echoes and replies, by address and
    /// identifier.
    Ping,
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
        [self.idle, self.busy, self.done][flow.class()]
    }

    /// When `flow` expires (with no guarantee left).
    pub(super) fn expiry(&self, flow: &Flow) -> Instant {
        flow.used + self.of(flow)
    }

    /// Whether `flow` is still under its guarantee at `now`.
    fn guaranteed(&self, flow: &Flow, now: Instant) -> bool {
        now < flow.used + self.guarantee
    }
}

/// Flows made by one input, and the ones it could not make.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct InputStats {
    pub(super) count: u64,
    pub(super) failures: u64,
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
    pub(super) kind: Kind,
    pub(super) noutputs: usize,
    pub(super) specs: Vec<InputSpec>,
    /// The router's named patterns (IPRewriterPatterns), found at
    /// initialize, for specs that name one (also those written later).
    pub(super) named: NamedPatterns,
    pub(super) stats: Vec<InputStats>,
    /// Table 0: TCP (IPRewriter), or every flow; table 1: IPRewriter's UDP.
    pub(super) tables: [FlowTable; 2],
    pub(super) timeouts: [Timeouts; 2],
    /// CAPACITY, unless the rewriter shares another's: then the group's.
    pub(super) capacity: usize,
    /// MAPPING_CAPACITY naming another rewriter, whose capacity this one
    /// shares.
    pub(super) capacity_of: Option<String>,
    /// The rewriters sharing this one's capacity and its place among them
    /// (from initialize; before it, a group of one with `capacity`).
    pub(super) group: Option<(Arc<CapacityGroup>, usize)>,
    pub(super) reap: Duration,
    pub(super) dst_anno: bool,
    pub(super) reply_anno: Option<usize>,
    pub(super) clock: Option<ClockHandle>,
}

/// What an ICMP error about a mapped flow changes to: the packet it
/// quotes as it was before the rewriter changed it, and the mapping's
/// direction, REPLY_ANNO value and output for the way the quoted
/// packet's replies go.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QuotedFlow {
    pub quoted: FlowId,
    pub reply: bool,
    pub reply_anno: u8,
    pub output: Port,
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
            noutputs: ctx.noutputs(),
            specs: Vec::new(),
            named: NamedPatterns::new(),
            stats: vec![InputStats::default(); ctx.ninputs()],
            tables: Default::default(),
            timeouts: [Timeouts::new(300); 2],
            capacity: usize::MAX,
            capacity_of: None,
            group: None,
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
        let t = &mut self.timeouts;
        match self.kind {
            Kind::Ip => {
                read_udp_timeouts(args, &mut t[1], false)?;
                read_tcp_timeouts(args, &mut t[0])?;
            }
            Kind::Tcp => read_tcp_timeouts(args, &mut t[0])?,
            Kind::Udp => read_udp_timeouts(args, &mut t[0], true)?,
            Kind::Addr | Kind::AddrPair => t[0] = Timeouts::new(2 * 60 * 60),
            Kind::Ping => {}
        }
        self.read_annos(args, !matches!(self.kind, Kind::Addr | Kind::AddrPair))?;
        // What every rewriter reads (Click's IPRewriterBase).
        for kw in ["CAPACITY", "MAPPING_CAPACITY"] {
            if let Some(text) = args.read::<String>(kw)? {
                let text = text.trim();
                match text.parse() {
                    Ok(n) => self.capacity = n,
                    Err(_) if !text.is_empty() && !text.contains(char::is_whitespace) => {
                        self.capacity_of = Some(text.to_string())
                    }
                    Err(_) => return Err("bad MAPPING_CAPACITY".into()),
                }
            }
        }
        let t = &mut self.timeouts[0];
        read_secs(args, "TIMEOUT", &mut t.idle)?;
        read_secs(args, "GUARANTEE", &mut t.guarantee)?;
        read_secs(args, "REAP_INTERVAL", &mut self.reap)?;
        read_secs(args, "REAP_TIME", &mut self.reap)?;
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

    /// Gives the specs that name a mapper element that mapper, and those
    /// that name a pattern that pattern, from the router's named
    /// patterns; errors name each spec whose mapper or pattern does not
    /// exist.
    pub fn resolve_patterns(
        &mut self,
        named: NamedPatterns,
        ctx: &mut InitCtx<'_>,
    ) -> Result<(), String> {
        resolve_mappers(&mut self.specs, self.noutputs, &named, ctx)?;
        self.named = named;
        let errors: Vec<String> = (self.specs.iter_mut().enumerate())
            .filter_map(|(i, spec)| {
                let e = spec.resolve(&self.named).err()?;
                Some(format!("input spec {i}: {e}"))
            })
            .collect();
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors[0].clone()),
            _ => Err(errors.iter().map(|e| format!("\n  {e}")).collect()),
        }
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
        let Some((t, key, may_create)) = self.flow_key(&h, p) else {
            return self.unmapped(input);
        };
        let entry = match self.find(t, key, &h) {
            Some(e) => e,
            None if !may_create => return self.unmapped(input),
            None => match self.create(input, t, key, p, now) {
                Ok(e) => e,
                Err(fate) => return fate,
            },
        };
        self.apply(t, entry, &h, p, now)
    }

    /// The table and flow ID `p` is looked up by, and whether a packet
    /// with none may make one; `None` for packets the rewriter does not
    /// map (other protocols, later fragments, short transport headers).
    fn flow_key(&self, h: &Headers, p: &Packet) -> Option<(usize, FlowId, bool)> {
        let table = match (self.kind, h.proto) {
            (Kind::Ip, TCP) | (Kind::Tcp, TCP) | (Kind::Udp, TCP | UDP | DCCP) => 0,
            (Kind::Ip, UDP) => 1,
            (Kind::Addr, _) => return Some((0, FlowId::new(h.saddr, 0, 0, 0), true)),
            (Kind::AddrPair, _) => return Some((0, FlowId::new(h.saddr, 0, h.daddr, 0), true)),
            (Kind::Ping, ICMP) => return ping_key(h, p.data()),
            _ => return None,
        };
        let d = p.data();
        if !h.first_frag || d.len() < h.th + 8 {
            return None;
        }
        let (sport, dport) = (be16(d, h.th), be16(d, h.th + 2));
        Some((table, FlowId::new(h.saddr, sport, h.daddr, dport), true))
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
                let made = pattern::lock(pattern).rewrite(key, |reply| table.contains(reply));
                match made {
                    Some(flow) => (flow, outputs),
                    None => {
                        self.stats[input].failures += 1;
                        return Err(None);
                    }
                }
            }
            Some(InputSpec::RoundRobin(mapper)) => {
                match mapper.rewrite(key, |reply| table.contains(reply)) {
                    Some(made) => made,
                    None => {
                        self.stats[input].failures += 1;
                        return Err(None);
                    }
                }
            }
            Some(InputSpec::Drop | InputSpec::Named(..) | InputSpec::Mapper(_)) | None => {
                return Err(None)
            }
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
        // A ping flow's "ports" are the identifier and the identifier + 1
        // (the reply's), so that a reply is the reverse of its echo.
        let mut rewritten = rewritten;
        if self.kind == Kind::Ping {
            rewritten.dport = rewritten.sport.wrapping_add(1);
        }
        let tracking = match (self.kind, key_proto(self.kind, t)) {
            (Kind::Addr | Kind::AddrPair | Kind::Ping, _) => Tracking::Plain,
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
        if self.group_size() > self.capacity() && self.evict(now, Some((t, slot))) == Some(true) {
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
        let d = p.data_mut().ok()?;
        rewrite_ip(kind, flow, new, e.reply, h, d);
        if h.first_frag {
            rewrite_transport(kind, flow, new, e.reply, h, d);
        }
        note_packet(flow, e.reply, h, d);
        flow.used = now;
        let out = flow.outputs[usize::from(e.reply)];
        let reply_anno = flow.reply_anno;
        self.tables[t].touch(e.flow);
        let anno = p.anno_mut();
        if self.dst_anno && (kind != Kind::Addr || e.reply) {
            anno.set_dst_ip(Ipv4Addr::from(new.daddr));
        }
        if let (Some(off), true) = (self.reply_anno, e.reply) {
            let _ = anno.set_u8(off, reply_anno);
        }
        Some(out)
    }

    // ---- ICMP errors (ICMPRewriter) ----

    /// The mapping an ICMP error is about, found by the packet the error
    /// quotes: `quoted` is its flow as quoted (addresses, then ports or
    /// for an ICMP echo its identifier as the source port), `proto` its
    /// protocol. The quoted packet left through this rewriter, so its
    /// reverse is a flow the rewriter expects back. Looking does not
    /// count as a packet of the flow (its expiry stays).
    pub fn quoted_flow(&self, proto: u8, quoted: FlowId) -> Option<QuotedFlow> {
        let q = quoted;
        let (t, key) = match (self.kind, proto) {
            (Kind::Ip | Kind::Tcp | Kind::Udp, TCP) => (0, q.reverse()),
            (Kind::Udp, UDP | DCCP) => (0, q.reverse()),
            (Kind::Ip, UDP) => (1, q.reverse()),
            (Kind::Ping, ICMP) => (
                0,
                FlowId::new(q.daddr, q.sport.wrapping_add(1), q.saddr, q.sport),
            ),
            (Kind::Addr, _) => (0, FlowId::new(0, 0, q.saddr, 0)),
            (Kind::AddrPair, _) => (0, FlowId::new(q.daddr, 0, q.saddr, 0)),
            _ => return None,
        };
        let table = &self.tables[t];
        let e = table.lookup(&key)?;
        let flow = table.flow(e.flow);
        // What the reverse of the quoted packet becomes; the quoted packet
        // is its reverse, but for what an address rewriter leaves alone.
        let back = flow.rewritten(e.reply).reverse();
        let quoted = match self.kind {
            Kind::Addr => FlowId {
                saddr: back.saddr,
                ..q
            },
            Kind::AddrPair => FlowId::new(back.saddr, q.sport, back.daddr, q.dport),
            _ => back,
        };
        Some(QuotedFlow {
            quoted,
            reply: e.reply,
            reply_anno: flow.reply_anno,
            output: flow.outputs[usize::from(e.reply)],
        })
    }

    // ---- capacity and expiry ----

    /// Flows in all tables.
    pub(super) fn size(&self) -> usize {
        self.tables.iter().map(FlowTable::len).sum()
    }

    /// The capacity: the group's once initialized.
    pub(super) fn capacity(&self) -> usize {
        self.group
            .as_ref()
            .map_or(self.capacity, |(g, _)| g.capacity())
    }

    /// Flows in all tables of every rewriter sharing the capacity (those
    /// another thread holds left out).
    pub(super) fn group_size(&self) -> usize {
        let mut n = self.size();
        if let Some((g, me)) = &self.group {
            g.each_other(*me, |_, other| n += other.size());
        }
        n
    }

    /// The flows this rewriter would push out first: the best-effort flow
    /// (its guarantee over) that expires first, and the guaranteed flow
    /// used longest ago, each as (when, table, slot). Each table keeps
    /// its flows of each timeout class in the order of their last packet,
    /// so only the oldest of each class is a candidate.
    fn victims(&self, now: Instant) -> [Option<(Instant, usize, usize)>; 2] {
        let mut best: Option<(Instant, usize, usize)> = None;
        let mut oldest: Option<(Instant, usize, usize)> = None;
        for (t, table) in self.tables.iter().enumerate() {
            let to = &self.timeouts[t];
            for (slot, flow) in (0..CLASSES).filter_map(|c| table.oldest(c)) {
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
        [best, oldest]
    }

    /// Removes one flow to make room, as Click chooses, among the flows
    /// of every rewriter sharing the capacity: the best-effort flow that
    /// expires first; with none, the newcomer `new` (admission control),
    /// or without one the guaranteed flow used longest ago. Says whether
    /// `new` went (`None`: nothing could go).
    fn evict(&mut self, now: Instant, new: Option<(usize, usize)>) -> Option<bool> {
        // (when, member (None: this one), table, slot)
        type Victim = Option<(Instant, Option<usize>, usize, usize)>;
        let earlier = |a: Victim, b: Victim| match (a, b) {
            (Some(x), Some(y)) if y.0 < x.0 => b,
            (None, _) => b,
            _ => a,
        };
        let tag = |v: Option<(Instant, usize, usize)>, m| v.map(|(w, t, s)| (w, m, t, s));
        let [b, o] = self.victims(now);
        let (mut best, mut oldest) = (tag(b, None), tag(o, None));
        if let Some((g, me)) = &self.group {
            g.each_other(*me, |k, other| {
                let [b, o] = other.victims(now);
                best = earlier(best, tag(b, Some(k)));
                oldest = earlier(oldest, tag(o, Some(k)));
            });
        }
        let (member, t, slot) = match (best, new) {
            (Some((_, m, t, slot)), _) => (m, t, slot),
            (None, Some((t, slot))) => (None, t, slot),
            (None, None) => {
                let (_, m, t, slot) = oldest?;
                (m, t, slot)
            }
        };
        match (member, &self.group) {
            (Some(k), Some((g, me))) => g.each_other(*me, |j, other| {
                if j == k {
                    other.remove(t, slot);
                }
            }),
            _ => self.remove(t, slot),
        }
        Some(member.is_none() && Some((t, slot)) == new)
    }

    fn remove(&mut self, t: usize, slot: usize) {
        if let Some(flow) = self.tables[t].remove(slot) {
            self.stats[flow.input].count -= 1;
        }
    }

    /// Removes the flows that have expired by `now`: from the oldest of
    /// each class, until one is still live.
    pub fn reap(&mut self, now: Instant) {
        for t in 0..2 {
            let to = self.timeouts[t];
            for class in 0..CLASSES {
                while let Some((slot, f)) = self.tables[t].oldest(class) {
                    if to.guaranteed(f, now) || now < to.expiry(f) {
                        break;
                    }
                    self.remove(t, slot);
                }
            }
        }
    }

    /// Removes flows until no more than the capacity remain.
    pub(super) fn shrink(&mut self, now: Instant) {
        while self.group_size() > self.capacity() {
            if self.evict(now, None).is_none() {
                break;
            }
        }
    }

    /// Joins the capacity group `group` (its own, or the one of the
    /// rewriter MAPPING_CAPACITY names): an owner gives the group its
    /// capacity.
    pub fn join_group(&mut self, group: Arc<CapacityGroup>, me: Weak<Mutex<Core>>) {
        if self.capacity_of.is_none() {
            group.set_capacity(self.capacity);
        }
        let index = group.join(me);
        self.group = Some((group, index));
    }
}

/// Sets `slot` from keyword `kw` if it is given (Click's seconds).
fn read_secs(args: &mut Args, kw: &str, slot: &mut Duration) -> Result<(), String> {
    if let Some(d) = args.read::<Duration>(kw)? {
        *slot = d;
    }
    Ok(())
}

/// TCPRewriter's timeouts: no data yet (TCP_NODATA_TIMEOUT, 300 s), data
/// both ways (TIMEOUT or TCP_TIMEOUT, 24 h), closed both ways
/// (TCP_DONE_TIMEOUT, 240 s), and TCP_GUARANTEE.
fn read_tcp_timeouts(args: &mut Args, t: &mut Timeouts) -> Result<(), String> {
    t.busy = Duration::from_secs(86400);
    t.done = Duration::from_secs(240);
    read_secs(args, "TCP_NODATA_TIMEOUT", &mut t.idle)?;
    read_secs(args, "TCP_GUARANTEE", &mut t.guarantee)?;
    read_secs(args, "TIMEOUT", &mut t.busy)?;
    read_secs(args, "TCP_TIMEOUT", &mut t.busy)?;
    read_secs(args, "TCP_DONE_TIMEOUT", &mut t.done)
}

/// UDP timeouts: UDP_TIMEOUT (300 s), UDP_STREAMING_TIMEOUT (the same
/// unless given), UDP_GUARANTEE; UDPRewriter (`plain`) also takes them
/// as TIMEOUT and STREAMING_TIMEOUT.
fn read_udp_timeouts(args: &mut Args, t: &mut Timeouts, plain: bool) -> Result<(), String> {
    read_secs(args, "UDP_TIMEOUT", &mut t.idle)?;
    if plain {
        read_secs(args, "TIMEOUT", &mut t.idle)?;
    }
    t.busy = t.idle;
    read_secs(args, "UDP_STREAMING_TIMEOUT", &mut t.busy)?;
    if plain {
        read_secs(args, "STREAMING_TIMEOUT", &mut t.busy)?;
    }
    read_secs(args, "UDP_GUARANTEE", &mut t.guarantee)
}

/// Writes the IP addresses of `new` into the header (IPAddrRewriter: the
/// source going out, the destination coming back) and updates its
/// checksum.
fn rewrite_ip(kind: Kind, flow: &Flow, new: FlowId, reply: bool, h: &Headers, d: &mut [u8]) {
    let nh = h.nh;
    if kind != Kind::Addr || !reply {
        d[nh + 12..nh + 16].copy_from_slice(&new.saddr.to_be_bytes());
    }
    if kind != Kind::Addr || reply {
        d[nh + 16..nh + 20].copy_from_slice(&new.daddr.to_be_bytes());
    }
    put16(d, nh + 10, adjust(be16(d, nh + 10), flow.ip_delta, reply));
}

/// Writes the ports of `new` (or a ping's identifier) into a first
/// fragment's transport header, and updates the TCP, UDP or ICMP
/// checksum where the header holds it.
fn rewrite_transport(kind: Kind, flow: &Flow, new: FlowId, reply: bool, h: &Headers, d: &mut [u8]) {
    let th = h.th;
    let tlen = d.len().saturating_sub(th);
    if kind.has_ports() && tlen >= 8 {
        put16(d, th, new.sport);
        put16(d, th + 2, new.dport);
    }
    if h.proto == TCP && tlen >= 18 {
        put16(d, th + 16, adjust(be16(d, th + 16), flow.l4_delta, reply));
    } else if h.proto == UDP && tlen >= 8 && be16(d, th + 6) != 0 {
        // A zero UDP checksum means none: it stays zero.
        put16(d, th + 6, adjust(be16(d, th + 6), flow.l4_delta, reply));
    } else if kind == Kind::Ping && tlen >= 6 {
        set_ping_id(d, th, if reply { new.dport } else { new.sport });
    }
}

/// Sets the identifier of the ICMP echo at `th` and updates the ICMP
/// checksum, which covers no addresses.
pub(super) fn set_ping_id(d: &mut [u8], th: usize, id: u16) {
    let old = be16(d, th + 4);
    // An update for no change could turn a checksum of all ones into
    // zero, wrong for an all-zero message.
    if old == id {
        return;
    }
    put16(d, th + 4, id);
    let mut sum = update_cksum(be16(d, th + 2), old, id);
    // RFC 1624 gives zero for a message that is now all zeros, whose
    // checksum is all ones (Click's click_update_zero_in_cksum).
    let zero = |b: &[u8]| b.iter().all(|&b| b == 0);
    if sum == 0 && zero(&d[th..th + 2]) && zero(&d[th + 4..]) {
        sum = 0xffff;
    }
    put16(d, th + 2, sum);
}

/// Notes a packet's effect on its flow's state: TCP flags and data (of
/// a first fragment with the flags present), UDP replies and counts.
fn note_packet(flow: &mut Flow, reply: bool, h: &Headers, d: &[u8]) {
    let (nh, th) = (h.nh, h.th);
    match flow.tracking {
        Tracking::Tcp if h.first_frag && d.len() >= th + 18 => {
            let ip_len = usize::from(be16(d, nh + 2));
            let header = (th - nh) + usize::from(d[th + 12] >> 4) * 4;
            flow.note_tcp(reply, d[th + 13], header < ip_len);
        }
        Tracking::Udp => flow.note_udp(reply),
        _ => {}
    }
}

/// An ICMP echo's or echo reply's flow: (source, identifier, destination,
/// identifier + 1) for an echo, the reverse for a reply, so a reply finds
/// its echo's mapping; only echoes make mappings. Other ICMP messages,
/// later fragments and short headers are not mapped.
fn ping_key(h: &Headers, d: &[u8]) -> Option<(usize, FlowId, bool)> {
    if !h.first_frag || d.len() < h.th + 6 {
        return None;
    }
    let id = be16(d, h.th + 4);
    let (a, b) = (id, id.wrapping_add(1));
    match d[h.th] {
        ICMP_ECHO => Some((0, FlowId::new(h.saddr, a, h.daddr, b), true)),
        ICMP_ECHO_REPLY => Some((0, FlowId::new(h.saddr, b, h.daddr, a), false)),
        _ => None,
    }
}

/// The protocol of table `t`'s flows, where the table says it.
fn key_proto(kind: Kind, t: usize) -> u8 {
    match (kind, t) {
        (Kind::Ip, 1) | (Kind::Udp, _) => UDP,
        _ => TCP,
    }
}
