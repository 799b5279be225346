//! FromDump: reads packets from a pcap or pcapng file.

use std::time::{Duration, Instant};

use click_engine::args::{Args, Raw};
use click_engine::packet::{Timestamp, BATCH_CAPACITY};
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierKind,
    NotifierSignal, Packet, Port, Signal, Timer,
};

use super::trace::{self, TraceError, TraceReader};
use crate::standard::HandlerCall;

/// Click's fixed-point sampling probability: 28 bits after the point.
const SAMPLING_SHIFT: u32 = 28;
/// Records a task run may skip (START, SAMPLE) on top of the packets it
/// emits, so that one run stays short.
const MAX_SKIPS: usize = 16 * BATCH_CAPACITY;

/// `FromDump(FILENAME [, TIMING, *keywords* STOP, ACTIVE, SAMPLE,
/// FORCE_IP, START, START_AFTER, END, END_AFTER, INTERVAL, END_CALL,
/// FILEPOS, MMAP, BURST])`: reads packets from a pcap file (microsecond or
/// nanosecond timestamps, either byte order, as `tcpdump -w` and ToDump
/// write them) or a pcapng file, and emits them with their timestamps,
/// their MAC header marked and the bytes cut from the capture in their
/// extra length annotation. Link types: any (Ethernet, raw IP, Linux
/// cooked, ...); the `encap` handler names it.
///
/// STOP stops the router at the end of the file (or at the END time);
/// END_CALL `HANDLER [VALUE]` calls a write handler instead (default, with
/// an END time: `FromDump.active false`). TIMING keeps the trace's gaps
/// between packets (the first goes at once). SAMPLE (0 to 1) keeps each
/// packet with that probability. FORCE_IP emits only IP packets, their IP
/// header marked and destination annotation set; others leave output 1 if
/// there is one (raw IP files force it). START/START_AFTER skip packets
/// before an absolute time or a time after the first packet; END,
/// END_AFTER (after the first packet of the file) and INTERVAL (after the
/// first one emitted) end the trace early. FILEPOS starts at a byte
/// offset. ACTIVE false waits for a write to `active`. MMAP is accepted
/// for compatibility: the file is always read in 1 MiB blocks (Click's
/// default on Linux does not map it either).
///
/// A file that ends in the middle of a record, or a corrupt record header,
/// ends the trace there with a warning naming the byte offset; what came
/// before is emitted. Packets are read into batches of up to BURST per
/// task run (FastClick's keyword, default 32, at most 32). Click's
/// FromDump has no BURST and pushes one packet per task run: BURST 1 does
/// the same, so each packet goes through the whole configuration before
/// the next is read, and packets that meet again after different paths
/// (an ICMP error and the packets after the one that caused it) keep
/// Click's order. Compressed files are not read (Click pipes them through `zcat`).
///
/// * Ports: no inputs; 1 or 2 outputs, agnostic (output 1 push).
/// * Handlers: `count`, `sampling_prob`, `encap`, `filename`, `filesize`,
///   `packet_filepos` (read); `active`, `filepos` (read/write);
///   `stop`, `extend_interval`, `reset_counts`, `reset_timing` (write).
pub struct FromDump {
    filename: String,
    reader: Option<TraceReader>,
    /// The trace cannot be read further (end, truncation, corruption).
    exhausted: bool,
    timing: bool,
    force_ip: bool,
    sampling_prob: u32,
    rng: u64,
    end_call: Option<HandlerCall>,
    /// The end action is Click's default for an END time,
    /// `FromDump.active false`, done directly (a handler write to the
    /// element itself would wait until its task returns).
    end_deactivates: bool,
    /// STOP: the end calls the element's own `stop` (inactive, and the
    /// router stops).
    end_stops: bool,
    active: bool,
    /// START / START_AFTER (ns; relative until the first packet).
    first_time: Option<u64>,
    first_relative: bool,
    /// END / END_AFTER / INTERVAL (ns; relative until the first packet),
    /// while it applies.
    last_time: u64,
    have_last_time: bool,
    last_relative: bool,
    last_interval: bool,
    have_any_times: bool,
    /// TIMING: the trace time and clock time of the first packet.
    timing_base: Option<(u64, Instant)>,
    /// A packet read but not yet due (TIMING).
    pending: Option<Packet>,
    start_filepos: u64,
    packet_filepos: u64,
    count: u64,
    pushes: bool,
    /// BURST: packets per task run.
    burst: usize,
    two_outputs: bool,
    room: NotifierSignal,
    nonempty: Signal,
}

/// What one read gave.
enum Read {
    Packet(Packet),
    /// A record left out (before START, not sampled): try the next.
    Skipped,
    /// No more packets now.
    End,
}

impl ElementClass for FromDump {
    const CLASS: &'static str = "FromDump";
    const PORT_COUNT: &'static str = "0/1-2";
    const PROCESSING: &'static str = "a/ah";

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let _mmap: bool = args.read("MMAP")?.unwrap_or(false);
        let filename: String = args.read_mp("FILENAME")?;
        let timing = args.read_p("TIMING")?.unwrap_or(false);
        let stop = args.read("STOP")?.unwrap_or(false);
        let active = args.read("ACTIVE")?.unwrap_or(true);
        let sample: Option<f64> = args.read("SAMPLE")?;
        let force_ip = args.read("FORCE_IP")?.unwrap_or(false);
        let start: Option<Duration> = args.read("START")?;
        let start_after: Option<Duration> = args.read("START_AFTER")?;
        let end: Option<Duration> = args.read("END")?;
        let end_after: Option<Duration> = args.read("END_AFTER")?;
        let interval: Option<Duration> = args.read("INTERVAL")?;
        let end_call = args.read::<Raw>("END_CALL")?;
        let filepos: u64 = args.read("FILEPOS")?.unwrap_or(0);
        let burst: usize = args.read("BURST")?.unwrap_or(BATCH_CAPACITY);
        if burst == 0 {
            return Err("BURST must be at least 1".into());
        }
        let burst = burst.min(BATCH_CAPACITY);

        let mut sampling_prob = 1u32 << SAMPLING_SHIFT;
        if let Some(s) = sample {
            if s.is_nan() || s < 0.0 {
                return Err("SAMPLE: expected real number between 0 and 1".into());
            }
            let fixed = (s * f64::from(1u32 << SAMPLING_SHIFT)).round();
            if fixed > f64::from(1u32 << SAMPLING_SHIFT) {
                tracing::warn!("{}: SAMPLE probability reduced to 1", ctx.name);
            } else {
                sampling_prob = fixed as u32;
                if sampling_prob == 0 {
                    tracing::warn!("{}: SAMPLE probability is 0; emitting no packets", ctx.name);
                }
            }
        }
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        if start.is_some() && start_after.is_some() {
            return Err("START and START_AFTER are mutually exclusive".into());
        }
        let (first_time, first_relative) = match (start, start_after) {
            (Some(t), _) => (Some(nanos(t)), false),
            (_, Some(t)) => (Some(nanos(t)), true),
            _ => (None, true),
        };
        let ends = [end, end_after, interval]
            .iter()
            .filter(|t| t.is_some())
            .count();
        if ends > 1 {
            return Err("END, END_AFTER, and INTERVAL are mutually exclusive".into());
        }
        let (last_value, last_relative, last_interval) = match (end, end_after, interval) {
            (Some(t), _, _) => (nanos(t), false, false),
            (_, Some(t), _) => (nanos(t), true, false),
            (_, _, Some(t)) => (nanos(t), false, true),
            _ => (0, false, false),
        };
        let have_last = ends == 1;
        let end_deactivates = end_call.is_none() && !stop && have_last;
        let end_call = match end_call {
            Some(_) if stop => return Err("END_CALL and STOP are mutually exclusive".into()),
            Some(Raw(text)) => Some(HandlerCall::parse(&text, "END_CALL")?),
            _ => None,
        };
        Ok(FromDump {
            filename,
            reader: None,
            exhausted: false,
            timing,
            force_ip,
            sampling_prob,
            rng: 0x9e37_79b9_7f4a_7c15,
            end_call,
            end_deactivates,
            end_stops: stop,
            active,
            first_time,
            first_relative,
            last_time: last_value,
            have_last_time: have_last,
            last_relative,
            last_interval,
            have_any_times: false,
            timing_base: None,
            pending: None,
            start_filepos: filepos,
            packet_filepos: 0,
            count: 0,
            pushes: ctx.output_is_push(0),
            burst,
            two_outputs: ctx.noutputs() > 1,
            room: NotifierSignal::always(),
            nonempty: Signal::new(active),
        })
    }
}

impl FromDump {
    fn linktype(&self) -> u32 {
        self.reader
            .as_ref()
            .map_or(trace::DLT_EN10MB, |r| r.linktype)
    }

    /// Click's `prepare_times`, at the first packet read.
    fn prepare_times(&mut self, ts: u64) {
        if self.first_relative {
            if let Some(t) = &mut self.first_time {
                *t = t.saturating_add(ts);
            }
        }
        if self.last_relative {
            self.last_time = self.last_time.saturating_add(ts);
        } else if self.last_interval {
            self.last_time = self.last_time.saturating_add(self.first_time.unwrap_or(ts));
        }
        self.have_any_times = true;
    }

    fn random(&mut self) -> u32 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }

    /// Reads the next record (Click's `read_packet`).
    fn read_packet(&mut self, ctx: &mut Ctx<'_>) -> Read {
        if self.exhausted {
            return Read::End;
        }
        let Some(reader) = self.reader.as_mut() else {
            return Read::End;
        };
        let pos = reader.pos();
        // Click's: the position of the last record tried, the end of the
        // file once it is read.
        self.packet_filepos = pos;
        let (ts, wire_len) = match reader.next_record() {
            Ok(Some(rec)) => (rec.ts.as_nanos(), rec.wire_len),
            Ok(None) => {
                self.exhausted = true;
                return Read::End;
            }
            Err(e) => {
                self.exhausted = true;
                warn_trace(ctx.name(), &self.filename, &e);
                return Read::End;
            }
        };
        if !self.have_any_times {
            self.prepare_times(ts);
        }
        if let Some(first) = self.first_time {
            if ts < first {
                return Read::Skipped;
            }
            self.first_time = None;
        }
        while self.have_last_time && ts >= self.last_time {
            self.have_last_time = false;
            self.call_end(ctx);
            if !self.active {
                return Read::End;
            }
        }
        if self.sampling_prob < (1 << SAMPLING_SHIFT)
            && (self.random() & ((1 << SAMPLING_SHIFT) - 1)) >= self.sampling_prob
        {
            return Read::Skipped;
        }
        // The record's bytes are still in the reader's block: copy them
        // into a packet only now that it is kept.
        let data = self.reader.as_ref().map_or(&[][..], |r| r.last_data());
        let caplen = data.len();
        let mut p = match Packet::from_slice(data) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("{}: packet at byte offset {pos}: {e}", ctx.name());
                return Read::Skipped;
            }
        };
        let anno = p.anno_mut();
        anno.set_timestamp(Timestamp::from_nanos(ts));
        anno.set_extra_length(wire_len.saturating_sub(caplen as u32));
        let _ = p.set_mac_header(0);
        Read::Packet(p)
    }

    /// Whether `p` may go now (TIMING); if not, arms the timer.
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

    /// Click's `fake_pcap_force_ip`: marks the IP header, or says the
    /// packet is not IP.
    fn mark_ip(&self, p: &mut Packet) -> bool {
        let Some(off) = trace::ip_offset(self.linktype(), p.data()) else {
            return false;
        };
        let Some(&first) = p.data().get(off) else {
            return false;
        };
        match first >> 4 {
            4 => {
                let hl = usize::from(first & 0x0f) * 4;
                if hl < 20 || p.set_network_header(off, hl).is_err() {
                    return false;
                }
                let dst: [u8; 4] = p.data()[off + 16..off + 20].try_into().unwrap_or([0; 4]);
                p.anno_mut().set_dst_ip(dst.into());
                true
            }
            6 => p.set_network_header(off, 40).is_ok(),
            _ => false,
        }
    }

    /// Fills batches for output 0 (and output 1: non-IP under FORCE_IP)
    /// with up to `max` packets. Returns whether the trace is over.
    fn fill(&mut self, max: usize, out: &mut Batch, other: &mut Batch, ctx: &mut Ctx<'_>) -> bool {
        let mut skips = 0;
        while out.len() < max && !other.is_full() {
            let p = match self.pending.take() {
                Some(p) => p,
                None => match self.read_packet(ctx) {
                    Read::Packet(p) => p,
                    Read::Skipped => {
                        skips += 1;
                        if skips > MAX_SKIPS {
                            return false;
                        }
                        continue;
                    }
                    Read::End => return true,
                },
            };
            if self.timing && !self.due(&p, ctx) {
                self.pending = Some(p);
                return false;
            }
            let mut p = p;
            if self.force_ip && !self.mark_ip(&mut p) {
                if self.two_outputs {
                    other.push(p);
                }
                continue;
            }
            out.push(p);
            if !self.active || ctx.stopping() {
                // The end call stopped the router or this element: the
                // packet that reached the END time is the last (Click's).
                break;
            }
        }
        false
    }

    fn call_end(&mut self, ctx: &mut Ctx<'_>) {
        if self.end_deactivates || self.end_stops {
            self.active = false;
        }
        if self.end_stops {
            ctx.stop_router();
        }
        if let Some(call) = self.end_call.clone() {
            ctx.lend_self(self, |ctx| call.call(ctx));
        }
    }

    fn set_active(&mut self, active: bool, ctx: &mut Ctx<'_>) {
        self.active = active;
        if active {
            if self.pushes {
                ctx.wake_task();
            } else {
                self.nonempty.activate();
            }
        }
    }
}

fn warn_trace(name: &str, filename: &str, e: &TraceError) {
    tracing::warn!("{name}: {filename}: {e}");
}

impl Element for FromDump {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let mut reader = TraceReader::open(&self.filename).map_err(|e| match e {
            TraceError::Io(e) => e,
            e => format!("{}: {e}", self.filename),
        })?;
        if self.force_ip {
            if !trace::force_ipable(reader.linktype) {
                return Err(format!(
                    "{}: unknown linktype {}; can't force IP packets",
                    self.filename, reader.linktype
                ));
            }
        } else if reader.linktype == trace::DLT_RAW {
            self.force_ip = true;
        }
        if self.start_filepos != 0 {
            reader
                .seek(self.start_filepos)
                .map_err(|e| format!("{}: {e}", self.filename))?;
        }
        self.reader = Some(reader);
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
        let mut other = Batch::new();
        let ended = self.fill(self.burst, &mut out, &mut other, ctx);
        let worked = !out.is_empty() || !other.is_empty();
        if !other.is_empty() {
            ctx.push(1, other);
        }
        if !out.is_empty() {
            self.count += out.len() as u64;
            // Lent, so that a ToDump's USE_ENCAP_FROM can read `encap`.
            ctx.lend_self(self, |ctx| ctx.push(0, out));
        }
        if ended {
            ctx.unschedule();
            self.call_end(ctx);
        } else if self.pending.is_some() {
            // TIMING: the timer wakes the task.
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
        let mut other = Batch::new();
        let ended = self.fill(max.min(self.burst), &mut out, &mut other, ctx);
        if !other.is_empty() {
            ctx.push(1, other);
        }
        if ended {
            self.nonempty.deactivate();
            self.call_end(ctx);
        } else if self.pending.is_some() {
            self.nonempty.deactivate();
        }
        self.count += out.len() as u64;
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
            Handler::read("count"),
            Handler::read("sampling_prob"),
            Handler::read_write("active"),
            Handler::read("encap"),
            Handler::read("filename"),
            Handler::read("filesize"),
            Handler::read_write("filepos"),
            Handler::read("packet_filepos"),
            Handler::write("stop"),
            Handler::write("extend_interval"),
            Handler::write("reset_counts"),
            Handler::write("reset_timing"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "count" => self.count.to_string(),
            "sampling_prob" => unparse_fixed(self.sampling_prob, SAMPLING_SHIFT),
            "active" => self.active.to_string(),
            "encap" => trace::unparse_dlt(self.linktype()),
            "filename" => {
                if self.filename == "-" {
                    "<stdin>".into()
                } else {
                    self.filename.clone()
                }
            }
            "filesize" => self
                .reader
                .as_ref()
                .and_then(|r| r.file_size())
                .map_or("-".into(), |s| s.to_string()),
            "filepos" => self.reader.as_ref().map_or(0, |r| r.pos()).to_string(),
            "packet_filepos" => self.packet_filepos.to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "active" => {
                let active = Args::new(value).read_mp("ACTIVE")?;
                self.set_active(active, ctx);
            }
            "stop" => {
                self.set_active(false, ctx);
                ctx.stop_router();
            }
            "extend_interval" => {
                let d: Duration = Args::new(value)
                    .read_mp("INTERVAL")
                    .map_err(|_| "'extend_interval' takes a time interval".to_string())?;
                let d = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
                self.last_time = self.last_time.saturating_add(d);
                if self.end_call.is_some() || self.end_deactivates || self.end_stops {
                    self.have_last_time = true;
                    self.set_active(true, ctx);
                }
            }
            "reset_counts" => self.count = 0,
            "reset_timing" => {
                self.first_relative = false;
                self.last_relative = false;
                self.last_interval = false;
                self.have_any_times = false;
                self.timing_base = None;
            }
            "filepos" => {
                let pos: u64 = Args::new(value)
                    .read_mp("FILEPOS")
                    .map_err(|_| "argument must be file offset".to_string())?;
                let reader = self.reader.as_mut().ok_or("no file")?;
                reader.seek(pos).map_err(|e| e.to_string())?;
                self.exhausted = false;
                self.pending = None;
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

/// Click's `cp_unparse_real2`: a fixed-point number with `frac` fraction
/// bits, in decimal, as short as reads back the same.
pub(crate) fn unparse_fixed(value: u32, frac: u32) -> String {
    let x = f64::from(value) / f64::from(1u32 << frac);
    for digits in 0..=10 {
        let s = format!("{x:.digits$}");
        let back: f64 = s.parse().unwrap_or(f64::NAN);
        if (back * f64::from(1u32 << frac)).round() as u32 == value {
            return s;
        }
    }
    format!("{x}")
}
