//! ICMPPingSource: sends ICMP echo requests and keeps ping's statistics.

use std::net::Ipv4Addr;
use std::time::Duration;

use click_engine::args::Args;
use click_engine::packet::{Batch, Timestamp};
use click_engine::{
    ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, Packet, Port, Timer,
};

use crate::ip::forward::hdr::{be16, cksum, ip_at, put16, IP_PROTO_ICMP};

/// What the optional input learns from replies (Click's `ReceiverInfo`).
struct Receiver {
    nreceived: i64,
    nduplicate: i64,
    time_min: u32,
    time_max: u32,
    time_sum: u64,
    time_sq_sum: u64,
    /// When each sequence number was sent (ns since the epoch; negated
    /// once answered; 0: never sent).
    sent: Vec<i64>,
}

impl Receiver {
    fn new() -> Receiver {
        Receiver {
            nreceived: 0,
            nduplicate: 0,
            time_min: 0,
            time_max: 0,
            time_sum: 0,
            time_sq_sum: 0,
            sent: vec![0; 65536],
        }
    }

    fn reset(&mut self) {
        let sent = std::mem::take(&mut self.sent);
        *self = Receiver {
            sent,
            ..Receiver::new_empty()
        };
        self.sent.fill(0);
    }

    fn new_empty() -> Receiver {
        Receiver {
            nreceived: 0,
            nduplicate: 0,
            time_min: 0,
            time_max: 0,
            time_sum: 0,
            time_sq_sum: 0,
            sent: Vec::new(),
        }
    }
}

/// `ICMPPingSource(SRC, DST [, *keywords* INTERVAL, IDENTIFIER, LIMIT,
/// DATA, ACTIVE, VERBOSE, STOP, MIRROR])`: sends ICMP echo requests from
/// SRC to DST, one every INTERVAL (default 1 second) when its output is
/// push, one for each packet pulled when it is pull. Each request has TTL
/// 200, the IP ID and sequence number 1, 2, ... (wrapping to 1 after
/// 65535), identifier IDENTIFIER (default 0; written in the host's byte
/// order, as Click on Linux writes it), and DATA (default none) after the
/// 8-byte ICMP header; its destination IP annotation and timestamp are
/// set. It sends LIMIT requests (default -1: no limit), then stops the
/// router if STOP is true. ACTIVE false holds it back until the `active`
/// handler is written true. Also known as `ICMPSendPings`.
///
/// Its optional input takes the replies, as ping(1) does: a reply (ICMP
/// echo reply with its IP header annotation set and IDENTIFIER) is
/// matched with its request by sequence number, its round-trip time taken
/// from the two timestamps, and with VERBOSE (the default) reported as
/// `NAME :: ICMPPingSource: 64 bytes from 10.0.0.1: icmp_seq=1 ttl=64
/// time=0.123 ms`; the summary is printed when the router stops. Other
/// packets are dropped. With MIRROR true (push only), each reply is sent
/// back at once as the next request, its data kept.
///
/// * Ports: 0 or 1 push input; 1 output (push: timed; pull: on demand).
/// * Handlers: `active` (read/write), `count` (read: requests sent),
///   `src`, `dst` (read/write), `limit`, `interval` (write),
///   `reset_counts` (write); with an input, `summary` (read: ping's
///   summary lines), `rtt_min`, `rtt_avg`, `rtt_max` (read).
pub struct ICMPPingSource {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    /// The identifier as it lies in the packet.
    ident: [u8; 2],
    interval: Duration,
    data: Vec<u8>,
    limit: i64,
    active: bool,
    verbose: bool,
    stop: bool,
    mirror: bool,
    push: bool,
    count: i64,
    receiver: Option<Box<Receiver>>,
    declaration: String,
}

impl std::fmt::Debug for ICMPPingSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ICMPPingSource")
            .field("src", &self.src)
            .field("dst", &self.dst)
            .field("count", &self.count)
            .finish()
    }
}

impl ElementClass for ICMPPingSource {
    const CLASS: &'static str = "ICMPPingSource";
    const PORT_COUNT: &'static str = "0-1/1";
    const PROCESSING: &'static str = "h/a";

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let src: Ipv4Addr = args.read_mp("SRC")?;
        let dst: Ipv4Addr = args.read_mp("DST")?;
        let interval: Option<Duration> = args.read("INTERVAL")?;
        let ident: u16 = args.read("IDENTIFIER")?.unwrap_or(0);
        let data: Option<String> = args.read("DATA")?;
        let limit: i64 = args.read("LIMIT")?.unwrap_or(-1);
        let active = args.read("ACTIVE")?.unwrap_or(true);
        let verbose = args.read("VERBOSE")?.unwrap_or(true);
        let stop = args.read("STOP")?.unwrap_or(false);
        let mirror = args.read("MIRROR")?.unwrap_or(false);
        // Click keeps milliseconds
        let ms = interval.map_or(1000, |d| (d.as_nanos() + 500_000) / 1_000_000);
        let push = ctx.output_is_push(0);
        if ms == 0 {
            tracing::warn!(element = ctx.name, "INTERVAL so small that it is zero");
        }
        if !push && interval.is_some() {
            tracing::warn!(
                element = ctx.name,
                "element is pull, INTERVAL parameter will be ignored"
            );
        }
        if !push && mirror {
            return Err("MIRROR invalid on pull element".into());
        }
        Ok(ICMPPingSource {
            src,
            dst,
            ident: ident.to_le_bytes(),
            interval: Duration::from_millis(ms as u64),
            data: data.map(String::into_bytes).unwrap_or_default(),
            limit,
            active,
            verbose,
            stop,
            mirror,
            push,
            count: 0,
            receiver: None,
            declaration: format!("{} :: {}", ctx.name, Self::CLASS),
        })
    }
}

impl ICMPPingSource {
    /// A request: a new packet with DATA, or (MIRROR) the reply `q` made
    /// into the next one, its data kept.
    fn make_packet(&mut self, q: Option<Packet>, now: Timestamp) -> Option<Packet> {
        let hsz = 28;
        let fresh = q.is_none();
        let mut q = match q {
            Some(q) => q,
            None => Packet::new(hsz + self.data.len()).ok()?,
        };
        if q.len() < hsz {
            return None;
        }
        let ip_id = ((self.count % 0xffff) + 1) as u16;
        let total = q.len();
        let dlen = self.data.len();
        let d = q.data_mut().ok()?;
        d[..hsz].fill(0);
        if fresh {
            d[hsz..].copy_from_slice(&self.data);
        }
        let (ip, icmp) = d.split_at_mut(20);
        ip[0] = 0x45;
        put16(ip, 2, total as u16);
        put16(ip, 4, ip_id);
        ip[8] = 200;
        ip[9] = IP_PROTO_ICMP;
        ip[12..16].copy_from_slice(&self.src.octets());
        ip[16..20].copy_from_slice(&self.dst.octets());
        let sum = cksum(ip);
        put16(ip, 10, sum);
        icmp[0] = 8;
        icmp[4..6].copy_from_slice(&self.ident);
        put16(icmp, 6, ip_id);
        // Click sums the header and DATA's length, whatever the packet holds
        let n = (8 + dlen).min(icmp.len());
        let sum = cksum(&icmp[..n]);
        put16(icmp, 2, sum);
        let _ = q.set_network_header(0, 20);
        let a = q.anno_mut();
        a.set_dst_ip(self.dst);
        a.set_timestamp(now);
        if let Some(r) = &mut self.receiver {
            r.sent[usize::from(ip_id)] = now.as_nanos() as i64;
        }
        Some(q)
    }

    /// A packet on the input: a reply to count, perhaps to mirror.
    fn reply(&mut self, p: Packet, ctx: &mut Ctx<'_>) -> Option<Packet> {
        let off = ip_at(&p, 20)?;
        let th = match p.transport_header_offset() {
            Some(t) if t >= 0 && (t as usize) + 8 <= p.len() => t as usize,
            _ => return None,
        };
        let d = p.data();
        let (ip, icmp) = (&d[off..], &d[th..]);
        if ip[9] != IP_PROTO_ICMP || icmp[0] != 0 || icmp[4..6] != self.ident {
            return None;
        }
        let seq = be16(icmp, 6);
        let r = self.receiver.as_mut()?;
        let sent = &mut r.sent[usize::from(seq)];
        if *sent != 0 {
            if *sent < 0 {
                r.nduplicate += 1;
                *sent = -*sent;
            }
            let ts = p.anno().timestamp();
            let diff = if ts.is_set() {
                let us = (ts.as_nanos() as i64 - *sent).div_euclid(1000) as u32;
                if us < r.time_min || r.nreceived == 0 {
                    r.time_min = us;
                }
                if us > r.time_max || r.nreceived == 0 {
                    r.time_max = us;
                }
                r.time_sum += u64::from(us);
                r.time_sq_sum += u64::from(us) * u64::from(us);
                us
            } else {
                0
            };
            r.nreceived += 1;
            *sent = -*sent;
            if self.verbose {
                let bytes = (be16(ip, 2) as u32)
                    .wrapping_sub(u32::from(ip[0] & 0x0f) * 4)
                    .wrapping_sub(8) as i32;
                eprintln!(
                    "{}: {} bytes from {}: icmp_seq={} ttl={} time={}.{:03} ms",
                    self.declaration,
                    bytes,
                    Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
                    seq,
                    ip[8],
                    diff / 1000,
                    diff % 1000
                );
            }
        }
        if !self.mirror {
            return None;
        }
        let mut q = p;
        if q.make_unique().is_err() {
            return None;
        }
        if off > 0 {
            let _ = q.pull(off);
        }
        let q = self.make_packet(Some(q), ctx.timestamp())?;
        self.count += 1;
        Some(q)
    }

    fn summary(&self) -> String {
        let Some(r) = &self.receiver else {
            return String::new();
        };
        let mut s = format!(
            "{} packets transmitted, {} received",
            self.count,
            r.nreceived - r.nduplicate
        );
        if r.nduplicate != 0 {
            s += &format!(", +{} duplicates", r.nduplicate);
        }
        if self.count != 0 {
            s += &format!(
                ", {}% packet loss\n",
                (self.count - r.nreceived - r.nduplicate) * 100 / self.count
            );
        }
        if r.nreceived != 0 {
            let n = r.nreceived as u64;
            let avg = r.time_sum / n;
            let avg_sq = r.time_sq_sum / n;
            let dev = avg_sq.wrapping_sub(avg * avg).isqrt();
            s += &format!(
                "rtt min/avg/max/mdev = {}.{:03}/{}.{:03}/{}.{:03}/{}.{:03}\n",
                r.time_min / 1000,
                r.time_min % 1000,
                avg / 1000,
                avg % 1000,
                r.time_max / 1000,
                r.time_max % 1000,
                dev / 1000,
                dev % 1000
            );
        }
        s
    }

    fn may_send(&self) -> bool {
        self.limit < 0 || self.count < self.limit
    }
}

/// Click's `cp_unparse_microseconds`.
fn unparse_us(us: u64) -> String {
    if us != 0 && us < 1000 {
        return format!("{us}us");
    }
    let (int, frac) = (us / 1_000_000, us % 1_000_000);
    if frac == 0 {
        return format!("{int}s");
    }
    let f = format!("{frac:06}");
    format!("{int}.{}s", f.trim_end_matches('0'))
}

impl Element for ICMPPingSource {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.count = 0;
        if self.limit != 0 && self.active && self.push {
            ctx.schedule_after(self.interval);
        }
        if !ctx.inputs().is_empty() {
            self.receiver = Some(Box::new(Receiver::new()));
        }
        Ok(())
    }

    fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
        if !self.may_send() {
            if self.stop {
                ctx.stop_router();
            }
        } else if let Some(q) = self.make_packet(None, ctx.timestamp()) {
            let mut b = Batch::new();
            b.push(q);
            self.count += 1;
            ctx.push(0, b);
            ctx.schedule_after(self.interval);
        }
    }

    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let mut b = Batch::new();
        let now = ctx.timestamp();
        while b.len() < max.min(b.capacity()) {
            if !self.may_send() {
                if self.stop {
                    ctx.stop_router();
                    self.stop = false;
                }
                break;
            }
            let Some(q) = self.make_packet(None, now) else {
                break;
            };
            self.count += 1;
            b.push(q);
        }
        (!b.is_empty()).then_some(b)
    }

    fn push(&mut self, _port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        let mut out = Batch::new();
        for p in batch {
            if let Some(q) = self.reply(p, ctx) {
                out.push(q);
            }
        }
        if !out.is_empty() {
            ctx.push(0, out);
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        const BASE: &[Handler] = &[
            Handler::read_write("active"),
            Handler::read_write("src"),
            Handler::read_write("dst"),
            Handler::read("count"),
            Handler::write("limit"),
            Handler::write("interval"),
            Handler::write("reset_counts"),
        ];
        const WITH_INPUT: &[Handler] = &[
            Handler::read_write("active"),
            Handler::read_write("src"),
            Handler::read_write("dst"),
            Handler::read("count"),
            Handler::write("limit"),
            Handler::write("interval"),
            Handler::write("reset_counts"),
            Handler::read("summary"),
            Handler::read("rtt_min"),
            Handler::read("rtt_avg"),
            Handler::read("rtt_max"),
        ];
        if self.receiver.is_some() {
            WITH_INPUT
        } else {
            BASE
        }
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        let r = self.receiver.as_deref();
        Some(match name {
            "active" => self.active.to_string(),
            "count" => self.count.to_string(),
            "src" => self.src.to_string(),
            "dst" => self.dst.to_string(),
            "summary" if r.is_some() => self.summary(),
            "rtt_min" => unparse_us(u64::from(r?.time_min)),
            "rtt_max" => unparse_us(u64::from(r?.time_max)),
            "rtt_avg" => {
                let r = r?;
                unparse_us(r.time_sum / r.nreceived.max(1) as u64)
            }
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let v = value.trim();
        let scheduled = ctx.timer_deadline().is_some();
        match name {
            "active" => {
                self.active = Args::new(v)
                    .read_mp("ACTIVE")
                    .map_err(|_| "type mismatch".to_string())?;
                if self.active && !scheduled && self.push {
                    ctx.schedule_after(Duration::ZERO);
                } else if !self.active {
                    ctx.unschedule_timer();
                }
            }
            "src" => {
                self.src = Args::new(v)
                    .read_mp("SRC")
                    .map_err(|_| "syntax error".to_string())?
            }
            "dst" => {
                self.dst = Args::new(v)
                    .read_mp("DST")
                    .map_err(|_| "syntax error".to_string())?
            }
            "limit" => {
                self.limit = Args::new(v)
                    .read_mp("LIMIT")
                    .map_err(|_| "'limit' should be integer".to_string())?;
                if self.may_send() && self.active && !scheduled && self.push {
                    ctx.schedule_after(self.interval);
                }
            }
            "interval" => {
                let d: Duration = Args::new(v)
                    .read_mp("INTERVAL")
                    .map_err(|_| "'interval' should be an interval".to_string())?;
                self.interval =
                    Duration::from_millis(((d.as_nanos() + 500_000) / 1_000_000) as u64);
            }
            "reset_counts" => {
                self.count = 0;
                if let Some(r) = &mut self.receiver {
                    r.reset();
                }
                if self.count < self.limit && self.active && !scheduled && self.push {
                    ctx.schedule_after(self.interval);
                }
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }

    fn cleanup(&mut self) {
        if self.receiver.is_some() && self.verbose {
            for line in self.summary().lines() {
                eprintln!("{}: {}", self.declaration, line);
            }
        }
    }
}
