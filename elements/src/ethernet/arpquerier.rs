//! ARPQuerier: Ethernet encapsulation of IP packets, with the next hop's
//! address found by ARP.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use click_engine::args::{ArgContext, Args, ElementRef, EtherAddr, FromArg, Ipv4Prefix, NoContext};
use click_engine::packet::{Packet, SendPacket, Timestamp, BATCH_CAPACITY};
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, Port, SharedCounters,
    Threads, Timer, PUSH,
};

use super::arp::{is_group, ArpFields, ArpMessage, ARPOP_REPLY, ARPOP_REQUEST, ETHERTYPE_IP};
use super::arptable::{
    expire_interval, jiffies_of, parse_delete, parse_insert, Appended, ArpTable, Params, TableCell,
    HZ,
};
use super::etherencap::{packet_error_reason, push_ether_header};

/// Counters: ARP queries sent, responses received, packets dropped by
/// the querier itself (the table counts its own).
const QUERIES: usize = 0;
const RESPONSES: usize = 1;
const DROPS: usize = 2;

/// What a packet for the hardware address of `dst` needs once the fast
/// path could not answer.
enum Slow {
    /// Send it to this address.
    Send(Packet, [u8; 6]),
    /// Send a query first (the packet's address is due for a poll), then
    /// the packet.
    PollThenSend(Packet, [u8; 6]),
    /// It waits in the table; a query for its address is due.
    HeldQuery(Timestamp, u16),
    /// It waits in the table (or was freed by its limits).
    Held,
}

/// `ARPQuerier(IP, ETH, *keywords* TABLE, CAPACITY, ENTRY_CAPACITY,
/// ENTRY_PACKET_CAPACITY, CAPACITY_SLIM_FACTOR, TIMEOUT, POLL_TIMEOUT,
/// BROADCAST, BROADCAST_POLL)` or `ARPQuerier(NAME, ...)`: puts IP packets
/// (input 0, with their destination IP annotation set) in Ethernet
/// headers, finding the destination's Ethernet address by ARP. IP (an
/// address, or a prefix giving the broadcast address too) and ETH are
/// this host's; NAME is an AddressInfo name standing for both.
///
/// A packet whose destination is known goes out of output 0 with an
/// Ethernet header from ETH to that address. Otherwise it waits in the
/// ARP table and a query (`who-has DST tell IP`) goes out of the last
/// output (output 1 if there are two, else output 0); replies arriving
/// on input 1 (with their Ethernet header) teach the table and send the
/// packets that waited, in order. 255.255.255.255 and BROADCAST (default:
/// the broadcast address of IP's prefix) go to FF-FF-FF-FF-FF-FF,
/// multicast addresses to 01-00-5E and their low 23 bits (RFC 1112);
/// packets for 0.0.0.0 (no annotation set?) are dropped, with a warning.
///
/// Queries for one address go at most every 100 ms, and every 2 s after
/// 10 unanswered. An entry is learnt from any ARP reply (gratuitous ones
/// too) whose sender address is not a group address. Entries expire
/// TIMEOUT (default 5 minutes) after their last reply; from POLL_TIMEOUT
/// (default 1 minute; 0: never) on, packets to a known address also send
/// a query to renew it, unicast to the known address (broadcast with
/// BROADCAST_POLL true). Queries take the timestamp and VLAN TCI
/// annotations of the packet that caused them.
///
/// The table keeps at most CAPACITY waiting packets (default 2048; 0,
/// Click's unlimited, is 16384 here; over it, the oldest
/// 1/CAPACITY_SLIM_FACTOR are freed), at most ENTRY_PACKET_CAPACITY for
/// one address (default: no limit) and at most ENTRY_CAPACITY entries
/// (default 0, Click's unlimited, is 65536 here; the oldest go first), so
/// a flood of unresolved destinations costs bounded memory; what it frees
/// is counted. TABLE names an ARPTable (or another ARPQuerier) whose table
/// to use instead of one of its own; the table arguments are then the
/// ARPTable's.
///
/// On several threads each thread has an instance and they share one
/// table: a reply taken on one thread serves all. Lookups of known
/// addresses take no lock; changes take a short one. Hot swapping keeps
/// the table (and counts) when IP, ETH and BROADCAST are unchanged, as
/// Click's does.
///
/// * Ports: 2 push inputs (IP packets, ARP replies); 1 or 2 push outputs.
/// * Handlers: `table` (read, as ARPTable's), `count`, `length` (entries,
///   waiting packets), `queries`, `responses`, `drops` (the querier's own
///   drops), `stats` (`N packets killed`, with the table's drops, and `N
///   ARP queries sent`), `evictions` (ours: entries removed to make
///   room); `ipaddr`, `broadcast` (read/write); `insert` (write `IP
///   ETH`), `delete` (write `IP`), `clear` (write: empties the table and
///   zeroes the counts).
pub struct ARPQuerier {
    my_ip: u32,
    my_eth: [u8; 6],
    bcast: u32,
    poll_j: u32,
    broadcast_poll: bool,
    params: Params,
    table_name: Option<String>,
    noutputs: usize,
    names: Option<Arc<dyn ArgContext>>,
    /// This element's shared state (counters; the table if it has its own).
    own: Arc<TableCell>,
    /// The shared state holding the table (`own`, or TABLE's).
    cell: Arc<TableCell>,
    /// The table, once its owner has made it.
    table: Option<Arc<ArpTable>>,
    instance: usize,
    /// Packets a reply set free, with room for all a table holds.
    released: Vec<SendPacket>,
    zero_warned: bool,
}

/// What an ARPQuerier hands over in a hot swap (from its first instance).
struct Handed {
    ip: u32,
    eth: [u8; 6],
    bcast: u32,
    own_table: Option<Arc<ArpTable>>,
    counts: [u64; 3],
}

impl ElementClass for ARPQuerier {
    const CLASS: &'static str = "ARPQuerier";
    const PORT_COUNT: &'static str = "2/1-2";
    const PROCESSING: &'static str = PUSH;
    const FLOW_CODE: &'static str = "xy/x";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let (params, _) = Params::read(args)?;
        let bcast: Option<Ipv4Addr> = args.read("BROADCAST")?;
        let table: Option<ElementRef> = args.read("TABLE")?;
        let poll: Option<Duration> = args.read("POLL_TIMEOUT")?;
        let broadcast_poll: bool = args.read("BROADCAST_POLL")?.unwrap_or(false);
        let mut rest = args.rest();
        if rest.len() == 1 {
            rest.push(rest[0].clone());
        }
        let mut pos = Args::from_vec(rest);
        if let Some(names) = args.shared_context() {
            pos.set_context(names);
        }
        let prefix: Ipv4Prefix = pos.read_mp("IP")?;
        let eth: EtherAddr = pos.read_mp("ETH")?;
        pos.complete()?;
        if let Some(t) = &table {
            if t.class != "ARPTable" && t.class != "ARPQuerier" {
                return Err(format!("TABLE: '{t}' is not an ARPTable"));
            }
        }
        let my_ip = u32::from(prefix.addr);
        let bcast = match bcast {
            Some(b) => u32::from(b),
            None => match my_ip | !u32::from(prefix.mask) {
                b if b == my_ip => u32::MAX,
                b => b,
            },
        };
        Ok(ARPQuerier {
            my_ip,
            my_eth: eth.0,
            bcast,
            poll_j: jiffies_of(poll.unwrap_or(Duration::from_secs(60))),
            broadcast_poll,
            params,
            table_name: table.map(|t| t.name),
            noutputs: ctx.noutputs(),
            names: args.shared_context(),
            own: Arc::default(),
            cell: Arc::default(),
            table: None,
            instance: 0,
            released: Vec::new(),
            zero_warned: false,
        })
    }
}

impl ARPQuerier {
    fn names(&self) -> &dyn ArgContext {
        match &self.names {
            Some(n) => n.as_ref(),
            None => &NoContext,
        }
    }

    #[inline]
    fn count(&self, i: usize, n: u64) {
        if let Some(c) = self.own.counters.get() {
            c.add(self.instance, i, n);
        }
    }

    fn sum(&self, i: usize) -> u64 {
        self.own.counters.get().map_or(0, |c| c.sum(i))
    }

    /// The table, resolved on first use: its owner (an ARPTable element)
    /// may have initialized after this instance, but before any packet.
    #[inline]
    fn resolve(&mut self) -> Option<Arc<ArpTable>> {
        if self.table.is_none() {
            let t = self.cell.table.get()?.clone();
            self.released = Vec::with_capacity(t.packet_bound());
            self.table = Some(t);
        }
        self.table.take()
    }

    /// Sends a query for `dst`: to `known` if it is given (a poll) and
    /// BROADCAST_POLL is off, else to everyone.
    fn send_query(
        &mut self,
        dst: u32,
        known: Option<[u8; 6]>,
        timestamp: Timestamp,
        vlan_tci: u16,
        ctx: &mut Ctx<'_>,
    ) {
        let ether_dst = match known {
            Some(e) if !self.broadcast_poll => e,
            _ => [0xff; 6],
        };
        let msg = ArpMessage {
            ether_dst: &ether_dst,
            ether_src: &self.my_eth,
            op: ARPOP_REQUEST,
            sha: &self.my_eth,
            spa: &self.my_ip.to_be_bytes(),
            tha: &[0; 6],
            tpa: &dst.to_be_bytes(),
        };
        match msg.packet(timestamp, vlan_tci) {
            Ok(q) => {
                self.count(QUERIES, 1);
                let mut b = Batch::new();
                b.push(q);
                ctx.push(self.noutputs - 1, b);
            }
            Err(_) => ctx.count_drops_for(1, "no packet for an ARP query: pool exhausted"),
        }
    }

    /// Writes the Ethernet addresses of a packet whose header is in
    /// place (Click sets the source last, so a change of ETH applies to
    /// packets that waited).
    #[inline]
    fn address(&self, p: &mut Packet, dst: [u8; 6]) -> bool {
        match p.data_mut() {
            Ok(d) if d.len() >= 12 => {
                d[..6].copy_from_slice(&dst);
                d[6..12].copy_from_slice(&self.my_eth);
                true
            }
            _ => false,
        }
    }

    /// The slow path for a packet to `dst` (Click's locked lookup, then
    /// `append_query`), under the table's lock.
    fn slow(&self, lock: &mut super::arptable::Locked<'_>, p: Packet, dst: u32, now: u32) -> Slow {
        match lock.lookup(dst, now, self.poll_j) {
            Some((eth, false)) => Slow::Send(p, eth),
            Some((eth, true)) => Slow::PollThenSend(p, eth),
            None => {
                let (ts, vlan) = (p.anno().timestamp(), p.anno().vlan_tci());
                match lock.append(dst, p, now) {
                    Appended::Held { query: true } => Slow::HeldQuery(ts, vlan),
                    Appended::Held { query: false } | Appended::Dropped => Slow::Held,
                    Appended::Known(p, eth) => Slow::Send(p, eth),
                }
            }
        }
    }

    /// Handles IP packets (Click's `handle_ip`): `framed` when they
    /// already have their Ethernet header (packets a reply set free).
    /// When a query it sends comes straight back to this querier (an
    /// ARPResponder wired to input 1), the rest of the batch is left for
    /// after the reply, as Click's depth-first pushes would have it.
    fn push_ip(&mut self, table: &ArpTable, mut batch: Batch, framed: bool, ctx: &mut Ctx<'_>) {
        if self.my_ip == 0 {
            let n = batch.len();
            self.count(DROPS, n as u64);
            ctx.count_drops_for(n, "ARPQuerier has no IP address");
            return;
        }
        let now = table.jiffies(ctx.now());
        let mut out = Batch::new();
        let mut lock = None;
        let mut freed = 0;
        let mut packets = batch.drain();
        while let Some(mut p) = packets.next() {
            if !framed {
                match push_ether_header(&mut p) {
                    Ok(h) => h[12..].copy_from_slice(&ETHERTYPE_IP.to_be_bytes()),
                    Err(e) => {
                        self.count(DROPS, 1);
                        ctx.count_drops_for(1, packet_error_reason(e));
                        continue;
                    }
                }
            }
            let dst = u32::from(p.anno().dst_ip());
            let eth = if let Some(eth) = table.lookup_fast(dst, now, self.poll_j) {
                eth
            } else if dst == u32::MAX || dst == self.bcast {
                [0xff; 6]
            } else if dst >> 28 == 0xe {
                let [_, b, c, d] = dst.to_be_bytes();
                [0x01, 0x00, 0x5e, b & 0x7f, c, d]
            } else if dst == 0 {
                if !std::mem::replace(&mut self.zero_warned, true) {
                    eprintln!(
                        "{}: would query for 0.0.0.0; missing dest IP addr annotation?",
                        ctx.name()
                    );
                }
                self.count(DROPS, 1);
                ctx.count_drops(1);
                continue;
            } else {
                let l = lock.get_or_insert_with(|| table.lock());
                match self.slow(l, p, dst, now) {
                    Slow::Send(q, eth) => {
                        p = q;
                        eth
                    }
                    Slow::Held => continue,
                    slow => {
                        // A query goes out: the lock is let go first (its
                        // push may reach another querier of this table).
                        freed += lock.take().map_or(0, |l| l.freed());
                        if !out.is_empty() {
                            ctx.push(0, std::mem::take(&mut out));
                        }
                        match slow {
                            Slow::PollThenSend(mut q, eth) => {
                                let (ts, vlan) = (q.anno().timestamp(), q.anno().vlan_tci());
                                self.send_query(dst, Some(eth), ts, vlan, ctx);
                                if self.address(&mut q, eth) {
                                    out.push(q);
                                }
                            }
                            Slow::HeldQuery(ts, vlan) => self.send_query(dst, None, ts, vlan, ctx),
                            _ => {}
                        }
                        if !framed && ctx.has_deferred_input() {
                            let mut rest = Batch::new();
                            for q in packets.by_ref() {
                                rest.push(q);
                            }
                            if !out.is_empty() {
                                ctx.push(0, std::mem::take(&mut out));
                            }
                            if !rest.is_empty() {
                                ctx.defer_to_self(0, rest);
                            }
                            break;
                        }
                        continue;
                    }
                }
            };
            if self.address(&mut p, eth) {
                out.push(p);
            }
        }
        drop(packets);
        freed += lock.take().map_or(0, |l| l.freed());
        if freed > 0 {
            // Waiting packets the table's limits freed: counted (`stats`,
            // `router --stats`) but not warned about, as they are the
            // table working as configured.
            ctx.count_drops(freed as usize);
        }
        if !out.is_empty() {
            ctx.push(0, out);
        }
    }

    /// Handles ARP replies (Click's `handle_response`): each teaches the
    /// table, and the packets that waited for its address go out.
    fn push_responses(&mut self, table: &ArpTable, mut batch: Batch, ctx: &mut Ctx<'_>) {
        let now = table.jiffies(ctx.now());
        let mut released = std::mem::take(&mut self.released);
        for p in batch.drain() {
            let Some(f) = ArpFields::read(p.data()) else {
                continue;
            };
            self.count(RESPONSES, 1);
            if !f.is_ip_over_ether(ARPOP_REPLY) || is_group(&f.sha) {
                continue;
            }
            let mut l = table.lock();
            l.insert(u32::from_be_bytes(f.spa), f.sha, now, Some(&mut released));
            let freed = l.freed();
            drop(l);
            if freed > 0 {
                ctx.count_drops(freed as usize);
            }
            while !released.is_empty() {
                let n = released.len().min(BATCH_CAPACITY);
                let mut b = Batch::new();
                for sp in released.drain(..n) {
                    b.push(sp.into_packet());
                }
                self.push_ip(table, b, true, ctx);
            }
        }
        self.released = released;
    }
}

impl Element for ARPQuerier {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let (instance, instances) = ctx.instance();
        self.instance = instance;
        self.own = ctx.shared_state(TableCell::default)?;
        self.own
            .counters
            .get_or_init(|| SharedCounters::new(instances));
        let clock = ctx.clock();
        let own_table = match &self.table_name {
            Some(name) => {
                self.cell = ctx.shared_state_of(name, TableCell::default)?;
                None
            }
            None => {
                self.cell = self.own.clone();
                let params = self.params;
                Some(
                    self.cell
                        .table
                        .get_or_init(|| Arc::new(ArpTable::new(params, clock)))
                        .clone(),
                )
            }
        };
        if let Some(h) = ctx.take_state::<Handed>() {
            if (h.ip, h.eth, h.bcast) == (self.my_ip, self.my_eth, self.bcast) {
                if let (Some(new), Some(old)) = (&own_table, &h.own_table) {
                    new.take_from(old, old.now(), new.now())?;
                }
                if let Some(c) = self.own.counters.get() {
                    for (i, n) in h.counts.iter().enumerate() {
                        c.add(instance, i, *n);
                    }
                }
            }
        }
        if own_table.is_some() && instance == 0 && self.params.timeout_j != 0 {
            ctx.schedule_after(Duration::from_secs(u64::from(self.params.timeout_j / HZ)));
        }
        Ok(())
    }

    fn push(&mut self, port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        let Some(table) = self.resolve() else {
            ctx.count_drops_for(batch.len(), "no ARP table");
            return;
        };
        if port == 0 {
            self.push_ip(&table, batch, false, ctx);
        } else {
            self.push_responses(&table, batch, ctx);
        }
        self.table = Some(table);
    }

    fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
        if let Some(table) = self.resolve() {
            let now = table.jiffies(ctx.now());
            let mut l = table.lock();
            l.expire(now);
            let freed = l.freed();
            drop(l);
            if freed > 0 {
                ctx.count_drops(freed as usize);
            }
            self.table = Some(table);
        }
        ctx.schedule_after(expire_interval(self.params.timeout_j));
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("table"),
            Handler::read("stats"),
            Handler::read("count"),
            Handler::read("length"),
            Handler::read("queries"),
            Handler::read("responses"),
            Handler::read("drops"),
            Handler::read("evictions"),
            Handler::read_write("broadcast"),
            Handler::read_write("ipaddr"),
            Handler::write("insert"),
            Handler::write("delete"),
            Handler::write("clear"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        let table = self.table.as_ref().or_else(|| self.cell.table.get());
        Some(match name {
            "table" => table?.dump(),
            "stats" => format!(
                "{} packets killed\n{} ARP queries sent\n",
                self.sum(DROPS) + table.map_or(0, |t| t.drops()),
                self.sum(QUERIES)
            ),
            "count" => table.map_or(0, |t| t.count()).to_string(),
            "length" => table.map_or(0, |t| t.length()).to_string(),
            "queries" => self.sum(QUERIES).to_string(),
            "responses" => self.sum(RESPONSES).to_string(),
            "drops" => self.sum(DROPS).to_string(),
            "evictions" => table.map_or(0, |t| t.evictions()).to_string(),
            "broadcast" => Ipv4Addr::from(self.bcast).to_string(),
            "ipaddr" => Ipv4Addr::from(self.my_ip).to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        // Every instance gets each write: each sets its own fields and
        // counts; the shared table is changed by the first only.
        let first = self.instance == 0;
        match name {
            "ipaddr" | "broadcast" => {
                let ip = Ipv4Addr::from_arg_in(value.trim(), self.names())
                    .map_err(|e| format!("{}: {e}", name.to_uppercase()))?;
                if name == "ipaddr" {
                    self.my_ip = u32::from(ip);
                } else {
                    self.bcast = u32::from(ip);
                }
                return Ok(());
            }
            "insert" | "delete" | "clear" => {}
            _ => return Err(format!("no write handler '{name}'")),
        }
        let change: Option<(u32, [u8; 6])> = match name {
            "insert" => Some(parse_insert(value, &self.names)?),
            "delete" => Some((parse_delete(value, &self.names)?, [0xff; 6])),
            _ => None,
        };
        if name == "clear" {
            if let Some(c) = self.own.counters.get() {
                c.reset(self.instance);
            }
        }
        let Some(table) = self.resolve() else {
            return Err("no ARP table".into());
        };
        if first {
            let now = table.jiffies(ctx.now());
            let mut l = table.lock();
            match change {
                Some((ip, eth)) => l.insert(ip, eth, now, None),
                None => l.clear(),
            }
        }
        self.table = Some(table);
        Ok(())
    }

    fn hand_over(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        if self.instance != 0 {
            return None;
        }
        Some(Box::new(Handed {
            ip: self.my_ip,
            eth: self.my_eth,
            bcast: self.bcast,
            own_table: if self.table_name.is_none() {
                self.cell.table.get().cloned()
            } else {
                None
            },
            counts: [self.sum(QUERIES), self.sum(RESPONSES), self.sum(DROPS)],
        }))
    }
}
