//! FromIPSummaryDump: reads packets from Click's IP summary dump text.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::time::{Duration, Instant};

use click_engine::args::{split_words, unquote, Args, Raw};
use click_engine::packet::{Timestamp, BATCH_CAPACITY};
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierKind,
    NotifierSignal, Packet, Port, Signal, Timer,
};

use super::fromdump::unparse_fixed;
use super::ipsumdump::{injection_order, Builder, Field, FlowId, MINOR_VERSION};
use super::trace::READ_BLOCK;

const SAMPLING_SHIFT: u32 = 28;

/// `FromIPSummaryDump(FILENAME [, *keywords* STOP, ACTIVE, ZERO, TIMING,
/// CHECKSUM, SAMPLE, PROTO, MULTIPACKET, FIELDS, FLOWID,
/// ALLOW_NONEXISTENT, DATA])`: reads packets from an IP summary dump
/// (Click's text trace format, as ToIPSummaryDump and `ipsumdump` write
/// it) and emits them: one packet per line, its IP header (and
/// transport header, and payload when the line gives one) built from the
/// line's fields, its timestamp, paint, aggregate, packet count and extra
/// length annotations set. The `!data` line names the fields (FIELDS
/// gives them for a file without one); `!flowid SRC SPORT DST DPORT
/// [PROTO]` (FLOWID) and `!proto` (PROTO, default TCP) give defaults;
/// `!aggregate` is read. Fields: `timestamp` (`ts`), `ntimestamp`,
/// `ts_sec`, `ts_usec`, `ts_usec1`, `first_timestamp`, `count`, `link`,
/// `paint`, `direction`, `aggregate`, `wire_len`, `ip_src` (`src`),
/// `ip_dst` (`dst`), `ip_tos`, `ip_dscp`, `ip_ecn`, `ip_ttl`, `ip_frag`,
/// `ip_fragoff`, `ip_id`, `ip_sum`, `ip_proto` (`proto`), `ip_hl`,
/// `ip_len` (`len`), `ip_capture_len`, `sport`, `dport`, `tcp_seq`,
/// `tcp_ack`, `tcp_off`, `tcp_flags`, `tcp_window`, `tcp_urp`,
/// `tcp_opt`, `tcp_ntopt`, `tcp_sack` (`mss1460;sackok;ts1:2;wscale7`),
/// `ip_opt` (routes `rr{...}`, `ssrr{...}`, `lsrr{...}`, numbered options),
/// `udp_len`, `icmp_type`, `icmp_code`, `icmp_type_name`,
/// `icmp_code_name`, `icmp_flowid`, `icmp_seq`, `icmp_nextmtu`,
/// `payload_len`, `payload`; `-` leaves a field out. Unknown fields are
/// ignored with a warning. Binary dumps (`!binary`), IP timestamp options
/// and Ethernet fields are not read.
///
/// STOP stops the router at the end of the file. TIMING keeps the
/// trace's gaps between packets. CHECKSUM computes the IP and transport
/// checksums (the packet is padded with zeros to its IP length). SAMPLE
/// keeps each packet with that probability. DATA gives the dump's text in
/// the configuration instead of a file. ALLOW_NONEXISTENT makes a missing
/// file an empty one. ZERO and MULTIPACKET are accepted; packets always
/// start zeroed, and a `count` above 1 stays one packet (its annotation
/// says how many it stands for).
///
/// * Ports: no inputs, 1 output, agnostic.
/// * Handlers: `sampling_prob`, `encap`, `filename`, `filesize`,
///   `filepos` (read); `active` (read/write); `stop` (write).
pub struct FromIPSummaryDump {
    filename: Option<String>,
    data: Option<String>,
    stop: bool,
    active: bool,
    timing: bool,
    checksum: bool,
    sampling_prob: u32,
    rng: u64,
    allow_nonexistent: bool,
    default_proto: u8,
    flowid: Option<FlowId>,
    aggregate: Option<u32>,
    fields: Vec<Field>,
    order: Vec<usize>,
    minor_version: u32,
    reader: Option<Box<dyn BufRead>>,
    file_size: Option<u64>,
    pos: u64,
    lineno: u64,
    line: String,
    scratch: Vec<u8>,
    args: Vec<(usize, usize)>,
    format_complaint: bool,
    exhausted: bool,
    pending: Option<Packet>,
    timing_base: Option<(u64, Instant)>,
    pushes: bool,
    room: NotifierSignal,
    nonempty: Signal,
}

fn parse_proto(word: &str) -> Option<u8> {
    match word {
        "T" | "tcp" => Some(6),
        "U" | "udp" => Some(17),
        "I" | "icmp" => Some(1),
        _ => crate::ip::ip_proto_by_name(word).or_else(|| word.parse().ok()),
    }
}

impl ElementClass for FromIPSummaryDump {
    const CLASS: &'static str = "FromIPSummaryDump";
    const PORT_COUNT: &'static str = "0/1";

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let filename: Option<String> = args.read_p("FILENAME")?;
        let stop = args.read("STOP")?.unwrap_or(false);
        let active = args.read("ACTIVE")?.unwrap_or(true);
        let _zero: bool = args.read("ZERO")?.unwrap_or(true);
        let timing = args.read("TIMING")?.unwrap_or(false);
        let checksum = args.read("CHECKSUM")?.unwrap_or(false);
        let sample: Option<f64> = args.read("SAMPLE")?;
        let proto: Option<Raw> = args.read("PROTO")?;
        let _multipacket: bool = args.read("MULTIPACKET")?.unwrap_or(false);
        let mut contents: Option<Raw> = args.read("DEFAULT_CONTENTS")?;
        contents = args.read("DEFAULT_FIELDS")?.or(contents);
        let mut flowid: Option<Raw> = args.read("DEFAULT_FLOWID")?;
        contents = args.read("CONTENTS")?.or(contents);
        contents = args.read("FIELDS")?.or(contents);
        flowid = args.read("FLOWID")?.or(flowid);
        let allow_nonexistent = args.read("ALLOW_NONEXISTENT")?.unwrap_or(false);
        let data: Option<String> = args.read("DATA")?;

        let mut sampling_prob = 1u32 << SAMPLING_SHIFT;
        if let Some(s) = sample {
            let fixed = (s.max(0.0) * f64::from(1u32 << SAMPLING_SHIFT)).round();
            if fixed > f64::from(1u32 << SAMPLING_SHIFT) {
                tracing::warn!("{}: SAMPLE probability reduced to 1", ctx.name);
            } else {
                sampling_prob = fixed as u32;
            }
        }
        let default_proto = match proto {
            Some(Raw(p)) => parse_proto(p.trim()).ok_or("PROTO: expected IP protocol")?,
            None => 6,
        };
        match (&filename, &data) {
            (Some(_), Some(_)) => return Err("FILENAME and DATA conflict".into()),
            (None, None) => return Err("FILENAME: required argument missing".into()),
            _ => {}
        }
        let mut e = FromIPSummaryDump {
            filename,
            data,
            stop,
            active,
            timing,
            checksum,
            sampling_prob,
            rng: 0x2545_f491_4f6c_dd1d,
            allow_nonexistent,
            default_proto,
            flowid: None,
            aggregate: None,
            fields: Vec::new(),
            order: Vec::new(),
            minor_version: MINOR_VERSION,
            reader: None,
            file_size: None,
            pos: 0,
            lineno: 0,
            line: String::new(),
            scratch: Vec::with_capacity(2048),
            args: Vec::new(),
            format_complaint: false,
            exhausted: false,
            pending: None,
            timing_base: None,
            pushes: ctx.output_is_push(0),
            room: NotifierSignal::always(),
            nonempty: Signal::new(active),
        };
        if let Some(Raw(c)) = contents {
            e.bang_data(&c, ctx.name);
        }
        if let Some(Raw(f)) = flowid {
            e.bang_flowid(&format!("!flowid {f}"), ctx.name);
        }
        Ok(e)
    }
}

impl FromIPSummaryDump {
    fn where_(&self) -> String {
        format!(
            "{}:{}",
            self.filename.as_deref().unwrap_or("<data>"),
            self.lineno
        )
    }

    fn bang_data(&mut self, line: &str, name: &str) {
        self.fields.clear();
        for (i, word) in split_words(line).iter().enumerate() {
            let word = unquote(word);
            if i == 0 && (word == "!data" || word == "!contents") {
                continue;
            }
            let f = Field::find(&word).unwrap_or_else(|| {
                tracing::warn!("{name}: {}: unknown content type '{word}'", self.where_());
                Field::None
            });
            self.fields.push(f);
        }
        if self.fields.is_empty() {
            tracing::error!("{name}: {}: no contents specified", self.where_());
        }
        self.order = injection_order(&self.fields);
    }

    fn bang_flowid(&mut self, line: &str, name: &str) {
        let words = split_words(line);
        let ip = |w: &str| -> Option<[u8; 4]> {
            if w == "-" {
                Some([0; 4])
            } else {
                w.parse::<std::net::Ipv4Addr>().ok().map(|a| a.octets())
            }
        };
        let port = |w: &str| -> Option<u16> {
            if w == "-" {
                Some(0)
            } else {
                w.parse().ok()
            }
        };
        let parsed = (words.len() >= 5)
            .then(|| {
                Some(FlowId {
                    src: ip(&words[1])?,
                    sport: port(&words[2])?,
                    dst: ip(&words[3])?,
                    dport: port(&words[4])?,
                })
            })
            .flatten();
        match parsed {
            Some(f) => {
                if let Some(p) = words.get(5) {
                    self.bang_proto(&format!("! {p}"), name, "!flowid");
                }
                self.flowid = Some(f);
            }
            None => {
                tracing::error!("{name}: {}: bad !flowid specification", self.where_());
                self.flowid = None;
            }
        }
    }

    fn bang_proto(&mut self, line: &str, name: &str, what: &str) {
        let words = split_words(line);
        match words.get(1).and_then(|w| parse_proto(w)) {
            Some(p) if words.len() == 2 => self.default_proto = p,
            _ => tracing::error!("{name}: {}: bad protocol in {what}", self.where_()),
        }
    }

    fn random(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }

    /// Reads the next line into `self.line` (without its newline).
    fn next_line(&mut self) -> bool {
        let Some(reader) = self.reader.as_mut() else {
            return false;
        };
        self.line.clear();
        match reader.read_line(&mut self.line) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.pos += n as u64;
                self.lineno += 1;
                while self.line.ends_with('\n') || self.line.ends_with('\r') {
                    self.line.pop();
                }
                true
            }
        }
    }

    /// Click's `read_packet`: `None` at the end of the file; `Some(None)`
    /// for a line that gave no packet.
    fn read_packet(&mut self, name: &str) -> Option<Option<Packet>> {
        loop {
            if self.exhausted || !self.next_line() {
                self.exhausted = true;
                self.reader = None;
                return None;
            }
            let l = self.line.as_str();
            if l.is_empty() {
                continue;
            }
            if !l.starts_with('!') && !l.starts_with('#') {
                break;
            }
            let word = l
                .split(|c: char| c.is_ascii_whitespace())
                .next()
                .unwrap_or("");
            let has_more = l.len() > word.len();
            if !has_more {
                continue;
            }
            let line = self.line.clone();
            match word {
                "!data" | "!contents" => self.bang_data(&line, name),
                "!flowid" => self.bang_flowid(&line, name),
                "!proto" => self.bang_proto(&line, name, "!proto"),
                "!aggregate" => {
                    let words = split_words(&line);
                    self.aggregate = (words.len() == 2).then(|| words[1].parse().ok()).flatten();
                    if self.aggregate.is_none() {
                        tracing::error!("{name}: {}: bad !aggregate specification", self.where_());
                    }
                }
                "!binary" => {
                    tracing::error!(
                        "{name}: {}: binary summary dumps are not supported",
                        self.where_()
                    );
                    self.exhausted = true;
                    return None;
                }
                _ => {}
            }
        }
        // Split the line into the fields' words (quotes kept together).
        self.args.clear();
        let bytes = self.line.as_bytes();
        let mut i = 0;
        while self.args.len() < self.fields.len() {
            let start = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                if bytes[i] == b'"' {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' {
                        if bytes[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    i = (i + 1).min(bytes.len());
                } else {
                    i += 1;
                }
            }
            self.args.push((start, i));
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut b = Builder::new(
            &mut scratch,
            self.default_proto,
            self.flowid,
            self.minor_version,
        );
        let mut nfields = 0;
        for &fi in &self.order {
            let (s, e) = self.args[fi];
            let word = &self.line[s..e];
            let field = self.fields[fi];
            if word.is_empty() || word == "-" || field == Field::None {
                continue;
            }
            // A word that does not parse leaves the field out (Click's).
            if let Some(v) = b.parse(field, word) {
                b.inject(field, &v);
                nfields += 1;
            }
        }
        if nfields == 0 {
            if !self.format_complaint && !self.line.trim().is_empty() {
                if self.fields.is_empty() {
                    tracing::error!("{name}: {}: no '!data' provided", self.where_());
                } else {
                    tracing::error!("{name}: {}: packet parse error", self.where_());
                }
                self.format_complaint = true;
            }
            self.scratch = scratch;
            return Some(None);
        }
        if self.flowid.is_some() {
            b.make_ip(0);
        }
        b.finish();
        if self.checksum {
            b.set_checksums();
        }
        // The extra length, after the checksums' padding (Click's order).
        let extra = b.want_len.saturating_sub(b.buf.len() as u32);
        let ip = b.ip_header();
        let annos = b.annos;
        let nh_len = b.network_header_len();
        let made = Packet::from_slice(&scratch);
        let mut p = match made {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("{name}: {}: {e}", self.where_());
                self.scratch = scratch;
                return Some(None);
            }
        };
        if ip.is_some() {
            let _ = p.set_network_header(0, nh_len.min(scratch.len()));
            let dst: [u8; 4] = scratch[16..20].try_into().unwrap_or([0; 4]);
            p.anno_mut().set_dst_ip(dst.into());
        }
        self.scratch = scratch;
        let a = p.anno_mut();
        if let Some(t) = annos.timestamp {
            a.set_timestamp(Timestamp::from_nanos(t));
        }
        if let Some(t) = annos.first_timestamp {
            a.set_first_timestamp(Timestamp::from_nanos(t));
        }
        if let Some(n) = annos.extra_packets {
            a.set_extra_packets(n);
        }
        if let Some(v) = annos.paint {
            a.set_paint(v);
        }
        if let Some(v) = annos.aggregate.or(self.aggregate) {
            a.set_aggregate(v);
        }
        if extra > 0 {
            a.set_extra_length(extra);
        }
        Some(Some(p))
    }

    fn due(&mut self, p: &Packet, ctx: &mut Ctx<'_>) -> bool {
        let ts = p.anno().timestamp().as_nanos();
        let now = ctx.now();
        let (base_ts, base) = *self.timing_base.get_or_insert((ts, now));
        let at = base + Duration::from_nanos(ts.saturating_sub(base_ts));
        if at <= now {
            return true;
        }
        ctx.schedule_at(at);
        false
    }

    /// Fills `out` with up to `max` packets; true at the end of the file.
    fn fill(&mut self, max: usize, out: &mut Batch, ctx: &mut Ctx<'_>) -> bool {
        let name = ctx.name().to_string();
        let mut tries = 0;
        while out.len() < max && tries < 16 * BATCH_CAPACITY {
            tries += 1;
            let p = match self.pending.take() {
                Some(p) => p,
                None => match self.read_packet(&name) {
                    // As in Click, the end is seen by a read that finds
                    // nothing: a last partial batch goes out first, and
                    // the end (STOP's stop) comes on the next run, after
                    // other sources have had their turn.
                    None => return out.is_empty(),
                    Some(None) => continue,
                    Some(Some(p)) => p,
                },
            };
            if self.timing && !self.due(&p, ctx) {
                self.pending = Some(p);
                return false;
            }
            if self.sampling_prob < (1 << SAMPLING_SHIFT)
                && (self.random() & ((1 << SAMPLING_SHIFT) - 1)) >= self.sampling_prob
            {
                continue;
            }
            out.push(p);
        }
        false
    }
}

impl Element for FromIPSummaryDump {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let reader: Box<dyn BufRead> = match (&self.filename, &self.data) {
            (_, Some(d)) => Box::new(std::io::Cursor::new(d.clone().into_bytes())),
            (Some(f), None) if f == "-" => Box::new(BufReader::with_capacity(
                READ_BLOCK,
                Box::new(std::io::stdin()) as Box<dyn Read>,
            )),
            (Some(f), None) => match File::open(f) {
                Ok(file) => {
                    self.file_size = file
                        .metadata()
                        .ok()
                        .filter(|m| m.is_file())
                        .map(|m| m.len());
                    Box::new(BufReader::with_capacity(READ_BLOCK, file))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.allow_nonexistent => {
                    self.exhausted = true;
                    Box::new(std::io::empty())
                }
                Err(e) => return Err(format!("{f}: {e}")),
            },
            (None, None) => return Err("FILENAME: required argument missing".into()),
        };
        self.reader = Some(reader);
        // The banner line.
        let mut first = String::new();
        if let Some(r) = self.reader.as_mut() {
            let buf = r.fill_buf().map_err(|e| e.to_string())?;
            let end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
            first = String::from_utf8_lossy(&buf[..end]).into_owned();
        }
        if let Some(rest) = first.strip_prefix("!IPSummaryDump") {
            let mut parts = rest.trim().split('.');
            let major: Option<u32> = parts.next().and_then(|s| s.parse().ok());
            let minor: Option<u32> = parts.next().and_then(|s| s.trim().parse().ok());
            if let (Some(major), Some(minor)) = (major, minor) {
                self.minor_version = minor;
                if major != 1 || minor > MINOR_VERSION {
                    tracing::warn!(
                        "{}: unexpected IPSummaryDump version {major}.{minor}",
                        ctx.name()
                    );
                    self.minor_version = MINOR_VERSION;
                }
            }
            self.next_line();
        } else if !first.is_empty()
            && !["!creator", "!data", "!contents", "!proto", "!flowid"]
                .iter()
                .any(|b| first.starts_with(b))
            && self.fields.is_empty()
        {
            tracing::warn!(
                "{}: missing banner line; is this an IP summary dump?",
                ctx.name()
            );
        }
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
        if !self.active || !self.room.active() || ctx.stopping() {
            ctx.sleep();
            return false;
        }
        let mut out = Batch::new();
        let ended = self.fill(BATCH_CAPACITY, &mut out, ctx);
        let worked = !out.is_empty();
        if worked {
            ctx.lend_self(self, |ctx| ctx.push(0, out));
        }
        if ended {
            ctx.unschedule();
            if self.stop {
                ctx.stop_router();
            }
        } else if self.pending.is_some() {
            ctx.unschedule();
        }
        worked
    }

    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        if !self.active {
            self.nonempty.deactivate();
            return None;
        }
        let mut out = Batch::new();
        let ended = self.fill(max.min(BATCH_CAPACITY), &mut out, ctx);
        if ended {
            self.nonempty.deactivate();
            if self.stop {
                ctx.stop_router();
            }
        } else if self.pending.is_some() {
            self.nonempty.deactivate();
        }
        (!out.is_empty()).then_some(out)
    }

    fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
        if self.active {
            if self.pushes {
                ctx.wake_task();
            } else {
                self.nonempty.activate();
            }
        }
    }

    fn notifier(&self, kind: NotifierKind) -> Option<Signal> {
        (kind == NotifierKind::Empty && !self.pushes).then(|| self.nonempty.clone())
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("sampling_prob"),
            Handler::read_write("active"),
            Handler::read("encap"),
            Handler::write("stop"),
            Handler::read("filename"),
            Handler::read("filesize"),
            Handler::read("filepos"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "sampling_prob" => unparse_fixed(self.sampling_prob, SAMPLING_SHIFT),
            "active" => self.active.to_string(),
            "encap" => "IP".into(),
            "filename" => match self.filename.as_deref() {
                Some("-") => "<stdin>".into(),
                Some(f) => f.into(),
                None => "<data>".into(),
            },
            "filesize" => self.file_size.map_or("-".into(), |s| s.to_string()),
            "filepos" => self.pos.to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "active" => {
                self.active = Args::new(value).read_mp("ACTIVE")?;
                if self.pushes {
                    if self.active {
                        ctx.wake_task();
                    }
                } else if self.active {
                    self.nonempty.activate();
                } else {
                    self.nonempty.deactivate();
                }
            }
            "stop" => {
                self.active = false;
                ctx.stop_router();
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }

    fn cleanup(&mut self) {
        self.pending = None;
        self.reader = None;
    }
}
