//! The rewriter element classes: each a [`Core`] of its kind, shared
//! through a [`RewriterCell`] with the elements that read its flows
//! (ICMPRewriter).

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use click_engine::args::Args;
use click_engine::packet::BATCH_CAPACITY;
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, Port, Timer, PUSH,
};

use super::capacity::CapacityGroup;
use super::core::{Core, Kind};
use super::named::router_patterns;

/// The verdict of a packet to drop.
const DROP: u16 = u16::MAX;

/// A rewriter's core, shared: the rewriter locks it once per batch (and
/// per handler call), another element reading its flows once per packet
/// it looks up. Uncontended unless both run at once on two threads.
pub(crate) type SharedCore = Arc<Mutex<Core>>;

/// What a rewriter publishes as its shared state
/// ([`InitCtx::shared_state`]) while it initializes, for elements that
/// name it ([`InitCtx::shared_state_of`]): its core.
#[derive(Default)]
pub(crate) struct RewriterCell {
    pub core: OnceLock<SharedCore>,
    /// The rewriters sharing its capacity, made by the first of them to
    /// initialize.
    pub group: OnceLock<Arc<CapacityGroup>>,
}

/// Puts the rewriter whose cell is `own` in its capacity group: its
/// own, or that of the rewriter its MAPPING_CAPACITY names.
fn join_group(core: &SharedCore, own: &RewriterCell, ctx: &mut InitCtx<'_>) -> Result<(), String> {
    let owner = lock(core).capacity_of.clone();
    let cell = match owner {
        None => None,
        Some(name) => {
            let name = capacity_owner(ctx, name)?;
            Some(ctx.shared_state_of(&name, RewriterCell::default)?)
        }
    };
    let cell = cell.as_deref().unwrap_or(own);
    let group = cell.group.get_or_init(Default::default).clone();
    lock(core).join_group(group, Arc::downgrade(core));
    Ok(())
}

/// Locks a shared core; a panic while another holder had it leaves the
/// flows as they were, still usable.
pub(crate) fn lock(core: &SharedCore) -> MutexGuard<'_, Core> {
    core.lock().unwrap_or_else(|e| e.into_inner())
}

/// The rewriter whose capacity a MAPPING_CAPACITY naming `name` shares:
/// `name`, or the one it names in turn (read from its arguments, as it
/// may not have initialized yet).
fn capacity_owner(ctx: &InitCtx<'_>, mut name: String) -> Result<String, String> {
    // A chain longer than this is a circle.
    for _ in 0..64 {
        let is_rewriter = ctx
            .class_of(&name)
            .is_some_and(|c| REWRITER_CLASSES.contains(&c));
        let Some(mut args) = ctx.args_of(&name).filter(|_| is_rewriter) else {
            return Err("bad MAPPING_CAPACITY".into());
        };
        let mut next = None;
        for kw in ["CAPACITY", "MAPPING_CAPACITY"] {
            if let Ok(Some(text)) = args.read::<String>(kw) {
                next = Some(text.trim().to_string());
            }
        }
        match next {
            Some(n) if n.parse::<usize>().is_err() => name = n,
            _ => return Ok(name),
        }
    }
    Err("MAPPING_CAPACITY: rewriters name each other in a circle".into())
}

/// The classes whose flows ICMPRewriter can read.
pub(crate) const REWRITER_CLASSES: &[&str] = &[
    "IPRewriter",
    "TCPRewriter",
    "UDPRewriter",
    "IPAddrRewriter",
    "IPAddrPairRewriter",
    "ICMPPingRewriter",
];

/// Implements the element traits for a rewriter class wrapping a `Core`.
macro_rules! rewriter {
    ($name:ident, $kind:expr) => {
        impl ElementClass for $name {
            const CLASS: &'static str = stringify!($name);
            const PORT_COUNT: &'static str = "1-/1-";
            const PROCESSING: &'static str = PUSH;

            fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
                Core::configure($kind, args, ctx).map(|c| $name(Arc::new(Mutex::new(c))))
            }
        }

        impl Element for $name {
            fn push(&mut self, port: Port, mut batch: Batch, ctx: &mut Ctx<'_>) {
                let now = ctx.now();
                let mut core = lock(&self.0);
                let mut verdicts = [DROP; BATCH_CAPACITY];
                let n = batch.len();
                for (p, v) in batch.iter_mut().zip(verdicts.iter_mut()) {
                    *v = core.process(port, p, now).map_or(DROP, |o| o as u16);
                }
                drop(core);
                ctx.push_by_verdict(batch, &verdicts[..n], DROP);
            }

            fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
                let cell = ctx.shared_state(RewriterCell::default)?;
                let _ = cell.core.set(self.0.clone());
                join_group(&self.0, &cell, ctx)?;
                let named = router_patterns(ctx)?;
                let mut core = lock(&self.0);
                core.resolve_patterns(named, ctx)?;
                core.set_clock(ctx.clock());
                if !core.reap_interval().is_zero() {
                    ctx.schedule_after(core.reap_interval());
                }
                Ok(())
            }

            fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
                let mut core = lock(&self.0);
                core.reap(ctx.now());
                ctx.schedule_after(core.reap_interval());
            }

            fn handlers(&self) -> &'static [Handler] {
                lock(&self.0).handlers()
            }

            fn read_handler(&self, name: &str) -> Option<String> {
                lock(&self.0).read_handler(name)
            }

            fn write_handler(
                &mut self,
                name: &str,
                value: &str,
                ctx: &mut Ctx<'_>,
            ) -> Result<(), String> {
                lock(&self.0).write_handler(name, value, ctx.now())
            }
        }
    };
}

/// `IPRewriter(INPUTSPEC0, INPUTSPEC1, ..., [KEYWORDS])`: network address
/// and port translation for TCP and UDP, Click's NAT. Each input has a
/// spec saying what to do with a packet of a flow (source and destination
/// address and port) that has no mapping yet:
///
/// * `drop` (or `discard`): drop it.
/// * `pass OUTPUT` (or `passthrough`, `nochange`): send it to OUTPUT
///   unchanged, making no mapping.
/// * `keep FOUTPUT ROUTPUT`: map the flow to itself.
/// * `pattern SADDR SPORT DADDR DPORT FOUTPUT ROUTPUT`: map it by the
///   pattern. Each field is a value to write or `-` to leave it; SPORT
///   may be a range `LOW-HIGH`, from which a port is chosen so that the
///   rewritten flow is unique: with `#` the next port after the last one
///   chosen (wrapping), with `?` a random one, with neither the packet's
///   own port if it is in range and free, else a random one. When every
///   port is taken, the packet is dropped (`mapping_failures`).
/// * `pattern NAME FOUTPUT ROUTPUT` (or `NAME FOUTPUT ROUTPUT`): map it by
///   the pattern an [`IPRewriterPatterns`](crate::IPRewriterPatterns)
///   element names NAME, shared with every input naming it.
/// * `MAPPER`: the name of a mapper element
///   ([`RoundRobinIPMapper`](crate::RoundRobinIPMapper)), which maps the
///   flow by its patterns in turn and says the outputs.
///
/// A mapping sends the flow's packets, rewritten, to FOUTPUT, and its
/// reply flow's packets (arriving on any input), rewritten back, to
/// ROUTPUT. IP, TCP and UDP checksums are updated incrementally (a zero
/// UDP checksum stays zero); TCP and UDP flows are kept in separate
/// tables. Packets that are neither TCP nor UDP, non-first fragments, and
/// packets with less than 8 bytes of transport header are passed unchanged
/// if their input's spec is `pass`, else dropped; packets without a
/// marked IPv4 header (CheckIPHeader or MarkIPHeader set it) are dropped.
///
/// Flows expire after a time without packets: TCP flows after
/// TCP_NODATA_TIMEOUT (300 s) until data went both ways, then TIMEOUT or
/// TCP_TIMEOUT (24 h), and TCP_DONE_TIMEOUT (240 s) once closed both
/// ways; UDP flows after UDP_TIMEOUT (300 s), or UDP_STREAMING_TIMEOUT
/// once replies came and three packets passed. A flow is kept at least
/// TCP_GUARANTEE or UDP_GUARANTEE (5 s) after each packet. Expired flows
/// are removed every REAP_INTERVAL (15 min). With CAPACITY (or
/// MAPPING_CAPACITY) N, at most N flows are kept: a new flow pushes out
/// the flow past its guarantee that expires first, or is refused if every
/// flow is under guarantee. CAPACITY (or MAPPING_CAPACITY) may instead
/// name another rewriter, whose capacity this one shares: the limit is
/// on the flows of both (`size` and `capacity` read the shared ones),
/// and a new flow of either may push out a flow of the other. DST_ANNO
/// (true) sets the destination address annotation to the rewritten
/// destination; REPLY_ANNO names a one-byte annotation whose value on a
/// flow's first packet is written on its reply packets.
///
/// * Ports: 1 or more push inputs, 1 or more push outputs.
/// * Handlers: `tcp_table`, `udp_table` (the mappings, forward and reply:
///   `FLOW => REWRITTEN [*FOUT ROUT] iINPUT expSECONDS`), `tcp_lookup
///   SADDR SPORT DADDR DPORT` (the TCP flow's rewritten four-tuple, empty
///   if unmapped), `table_size` (`nmappings`: flows made by the inputs),
///   `mapping_failures`, `patterns`, `patternN` (input N's spec; a write
///   replaces it and drops the flows it made; the first 16 inputs),
///   `size` (flows held), `capacity` (read and write), `clear` (write:
///   drop every flow).
#[derive(Debug)]
pub struct IPRewriter(SharedCore);
rewriter!(IPRewriter, Kind::Ip);

/// `TCPRewriter(INPUTSPEC0, ..., [KEYWORDS])`: as
/// [`IPRewriter`](crate::IPRewriter), for TCP only: other packets (and
/// non-first fragments) are passed unchanged if their input's spec is
/// `pass`, else dropped. Its keywords are IPRewriter's TCP ones
/// (TCP_NODATA_TIMEOUT, TIMEOUT or TCP_TIMEOUT, TCP_DONE_TIMEOUT,
/// TCP_GUARANTEE) and CAPACITY, REAP_INTERVAL, DST_ANNO, REPLY_ANNO.
/// Sequence number translation (Click's FTPPortMapper) is not supported.
///
/// * Ports: 1 or more push inputs, 1 or more push outputs.
/// * Handlers: `table` (`mappings`), `lookup SADDR SPORT DADDR DPORT`,
///   `table_size`, `mapping_failures`, `patterns`, `patternN`, `size`,
///   `capacity`, `clear`, as IPRewriter's.
#[derive(Debug)]
pub struct TCPRewriter(SharedCore);
rewriter!(TCPRewriter, Kind::Tcp);

/// `UDPRewriter(INPUTSPEC0, ..., [KEYWORDS])`: as
/// [`IPRewriter`](crate::IPRewriter), with one table for UDP, TCP and
/// DCCP flows, all timed as UDP: UDP_TIMEOUT or TIMEOUT (300 s),
/// UDP_STREAMING_TIMEOUT or STREAMING_TIMEOUT once replies came and three
/// packets passed, UDP_GUARANTEE (5 s). Other protocols and non-first
/// fragments are passed unchanged if their input's spec is `pass`, else
/// dropped. Also CAPACITY, REAP_INTERVAL, DST_ANNO, REPLY_ANNO.
///
/// * Ports: 1 or more push inputs, 1 or more push outputs.
/// * Handlers: `table` (`mappings`), `table_size`, `mapping_failures`,
///   `patterns`, `patternN`, `size`, `capacity`, `clear`.
#[derive(Debug)]
pub struct UDPRewriter(SharedCore);
rewriter!(UDPRewriter, Kind::Udp);

/// `IPAddrRewriter(INPUTSPEC0, ..., [KEYWORDS])`: rewrites source
/// addresses only, by flows of one address: a packet whose source has a
/// mapping gets the mapped source, and a packet whose destination is a
/// mapped address (a reply) gets the original address back as its
/// destination (and the destination annotation). Specs are IPRewriter's,
/// with address patterns `SADDR DADDR FOUTPUT ROUTPUT`, where SADDR may
/// be a range `A-B` or a prefix `A/LEN` (its addresses but the network and
/// broadcast ones), with `#` or `?` as for ports; DADDR must be `-`.
/// Every IP packet is mapped, whatever its protocol; the IP checksum and
/// TCP or UDP checksums of first fragments are updated. Flows expire
/// after TIMEOUT (2 h) without packets, kept at least GUARANTEE (5 s);
/// also CAPACITY, REAP_INTERVAL, REPLY_ANNO.
///
/// * Ports: 1 or more push inputs, 1 or more push outputs.
/// * Handlers: `table` (`mappings`: `ADDR => ADDR [...]`), `table_size`,
///   `mapping_failures`, `patterns`, `patternN`, `size`, `capacity`,
///   `clear`.
#[derive(Debug)]
pub struct IPAddrRewriter(SharedCore);
rewriter!(IPAddrRewriter, Kind::Addr);

/// `IPAddrPairRewriter(INPUTSPEC0, ..., [KEYWORDS])`: rewrites addresses
/// only, by flows of an address pair (source, destination): a flow's
/// packets get the mapped pair, and its replies the original pair back.
/// Specs are [`IPAddrRewriter`](crate::IPAddrRewriter)'s, but a pattern
/// may also set the destination. Every IP packet is mapped, whatever its
/// protocol; the IP checksum and TCP or UDP checksums of first fragments
/// are updated. TIMEOUT (2 h), GUARANTEE (5 s), CAPACITY, REAP_INTERVAL,
/// REPLY_ANNO as for IPAddrRewriter.
///
/// * Ports: 1 or more push inputs, 1 or more push outputs.
/// * Handlers: `table` (`mappings`: `(SRC, DST) => (SRC, DST) [...]`),
///   `table_size`, `mapping_failures`, `patterns`, `patternN`, `size`,
///   `capacity`, `clear`.
#[derive(Debug)]
pub struct IPAddrPairRewriter(SharedCore);
rewriter!(IPAddrPairRewriter, Kind::AddrPair);

/// `ICMPPingRewriter(INPUTSPEC0, ..., [KEYWORDS])`: rewrites ICMP echo
/// requests and replies as [`IPRewriter`](crate::IPRewriter) rewrites
/// TCP and UDP, the echo's identifier standing for the port: an echo
/// makes a mapping (by its source, destination and identifier), its
/// replies find it. Patterns are `SADDR DADDR IDENTIFIER FOUTPUT
/// ROUTPUT` (or `SADDR IDENTIFIER DADDR - FOUTPUT ROUTPUT`), IDENTIFIER a
/// value, a range (`0-65535`, with `#` or `?` as for ports) or `-`.
/// The IP checksum is updated incrementally, and the ICMP checksum for
/// the new identifier. Other ICMP messages, echo replies with no mapping,
/// non-first fragments and other protocols are passed unchanged if their
/// input's spec is `pass`, else dropped. Flows expire after TIMEOUT
/// (300 s) without packets, kept at least GUARANTEE (5 s); also
/// CAPACITY, REAP_INTERVAL, DST_ANNO, REPLY_ANNO.
///
/// * Ports: 1 or more push inputs, 1 or more push outputs.
/// * Handlers: `table` (`mappings`: `(SRC, DST, ID) => (SRC, DST, ID)
///   [...]`), `table_size`, `mapping_failures`, `patterns`, `patternN`,
///   `size`, `capacity`, `clear`, as IPRewriter's.
#[derive(Debug)]
pub struct ICMPPingRewriter(SharedCore);
rewriter!(ICMPPingRewriter, Kind::Ping);
