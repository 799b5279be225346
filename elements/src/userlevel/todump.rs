//! ToDump: writes packets to a pcap file.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use click_engine::args::{Args, ElementRef};
use click_engine::packet::BATCH_CAPACITY;
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierSignal, Port,
    Threads,
};

use super::trace::{self, TraceWriter};

/// `ToDump(FILENAME [, SNAPLEN, ENCAP, *keywords* USE_ENCAP_FROM,
/// EXTRA_LENGTH, UNBUFFERED, NANO])`: writes each packet to FILENAME (`-`:
/// standard output) in `tcpdump -w` format, as Click's ToDump does byte for
/// byte: pcap 2.4 in host byte order with nanosecond timestamps (NANO
/// false: microseconds), snapshot length SNAPLEN (default 2000; 0: no
/// limit) in the header, each packet cut to SNAPLEN bytes with its whole
/// length (plus its extra length annotation, unless EXTRA_LENGTH is false)
/// kept as the wire length. A packet without a timestamp gets the current
/// time. ENCAP names the link type (`ETHER`, the default; `IP`, `SLL`,
/// `NULL`, `FDDI`, `802_11`, `PPP`, `HDLC`, ... or `#NUMBER`);
/// USE_ENCAP_FROM takes it from the `encap` handler of the named elements
/// (FromDump), read when the first packet arrives, before the file header
/// is written.
///
/// Records are gathered in a 256 KiB buffer and written a block at a
/// time; UNBUFFERED writes after every batch. The file is complete
/// whenever the router stops (end of input, `stop`, SIGINT, SIGTERM, a
/// panicking element): cleanup writes out what is buffered.
///
/// Reached from several threads (`-j N`), the instances share one file:
/// each batch is written whole under a lock, so records never interleave
/// within a batch and the file stays valid.
///
/// With an output, packets go on through it; pulled with no output, ToDump
/// runs a task that pulls and writes.
///
/// * Ports: 1 input; 0 or 1 output, agnostic.
/// * Handlers: `count`, `filename` (read); `reset_counts` (write).
pub struct ToDump {
    filename: String,
    snaplen: u32,
    linktype: u32,
    use_encap_from: Vec<String>,
    extra_length: bool,
    unbuffered: bool,
    nano: bool,
    has_output: bool,
    pulls_alone: bool,
    shared: Option<Arc<DumpShared>>,
    upstream: NotifierSignal,
}

/// What the instances of one ToDump share.
struct DumpShared {
    writer: Mutex<Option<TraceWriter>>,
    /// Whether USE_ENCAP_FROM has been read.
    encap_known: Mutex<bool>,
    count: AtomicU64,
    /// Instances not yet cleaned up; the last one closes the file.
    open_instances: AtomicUsize,
}

impl ElementClass for ToDump {
    const CLASS: &'static str = "ToDump";
    const PORT_COUNT: &'static str = "1/0-1";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let filename: String = args.read_mp("FILENAME")?;
        let snaplen: u32 = args.read_p("SNAPLEN")?.unwrap_or(2000);
        let encap: Option<String> = args.read_p("ENCAP")?;
        let use_encap_from: Option<String> = args.read("USE_ENCAP_FROM")?;
        let extra_length = args.read("EXTRA_LENGTH")?.unwrap_or(true);
        let unbuffered = args.read("UNBUFFERED")?.unwrap_or(false);
        let nano = args.read("NANO")?.unwrap_or(true);
        let mut names = Vec::new();
        let linktype = match (encap, use_encap_from) {
            (Some(_), Some(_)) => {
                return Err("specify at most one of 'ENCAP' and 'USE_ENCAP_FROM'".into())
            }
            (Some(e), None) => trace::parse_dlt(&e).ok_or("bad encapsulation type")?,
            (None, Some(list)) => {
                for word in list.split_whitespace() {
                    let e: ElementRef = args.parse(word)?;
                    names.push(e.name);
                }
                if names.is_empty() {
                    return Err("element names missing after 'USE_ENCAP_FROM'".into());
                }
                trace::DLT_EN10MB
            }
            (None, None) => trace::DLT_EN10MB,
        };
        Ok(ToDump {
            filename,
            snaplen: if snaplen == 0 { u32::MAX } else { snaplen },
            linktype,
            use_encap_from: names,
            extra_length,
            unbuffered,
            nano,
            has_output: ctx.noutputs() > 0,
            pulls_alone: ctx.noutputs() == 0 && ctx.input_is_pull(0),
            shared: None,
            upstream: NotifierSignal::always(),
        })
    }
}

impl ToDump {
    fn lock(shared: &DumpShared) -> MutexGuard<'_, Option<TraceWriter>> {
        shared.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// USE_ENCAP_FROM: reads the named elements' `encap` handlers (at the
    /// first packet: they are known once those elements have opened
    /// their files).
    fn resolve_encap(&self, shared: &DumpShared, ctx: &mut Ctx<'_>) {
        let mut known = shared.encap_known.lock().unwrap_or_else(|e| e.into_inner());
        if *known || self.use_encap_from.is_empty() {
            return;
        }
        *known = true;
        let mut found: Option<(u32, &str)> = None;
        for name in &self.use_encap_from {
            let dlt = match ctx.read_handler(name, "encap") {
                Ok(v) => match trace::parse_dlt(v.trim()) {
                    Some(d) => d,
                    None => {
                        tracing::error!(
                            "{}: '{name}.encap' did not return a valid encapsulation type",
                            ctx.name()
                        );
                        continue;
                    }
                },
                Err(e) => {
                    tracing::error!("{}: '{name}' has no 'encap' read handler ({e})", ctx.name());
                    continue;
                }
            };
            match found {
                Some((d, other)) if d != dlt => {
                    tracing::error!(
                        "{}: source encapsulation types disagree: {other} has {}, {name} has {}",
                        ctx.name(),
                        trace::unparse_dlt(d),
                        trace::unparse_dlt(dlt)
                    );
                }
                Some(_) => {}
                None => found = Some((dlt, name)),
            }
        }
        if let Some((dlt, _)) = found {
            if let Some(w) = Self::lock(shared).as_mut() {
                w.set_linktype(dlt);
            }
        }
    }

    /// Writes a batch's packets, under one lock.
    fn write(&self, batch: &Batch, ctx: &mut Ctx<'_>) {
        let Some(shared) = self.shared.clone() else {
            return;
        };
        if !self.use_encap_from.is_empty() {
            self.resolve_encap(&shared, ctx);
        }
        let now = ctx.timestamp();
        let mut guard = Self::lock(&shared);
        let Some(w) = guard.as_mut() else {
            return;
        };
        if w.failed.is_some() {
            return;
        }
        for p in batch.iter() {
            let ts = p.anno().timestamp();
            let ts = if ts.is_set() { ts } else { now };
            let extra = if self.extra_length {
                p.anno().extra_length()
            } else {
                0
            };
            let wire = (p.len() as u32).saturating_add(extra);
            w.write_record(ts, p.data(), wire);
        }
        w.end_batch();
        if let Some(e) = &w.failed {
            tracing::error!("ToDump({}): {e}", self.filename);
            eprintln!("ToDump({}): {e}", self.filename);
        } else {
            shared
                .count
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
        }
    }
}

impl Element for ToDump {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let (_, instances) = ctx.instance();
        let shared = ctx.shared_state(|| DumpShared {
            writer: Mutex::new(None),
            encap_known: Mutex::new(false),
            count: AtomicU64::new(0),
            open_instances: AtomicUsize::new(instances),
        })?;
        {
            let mut w = Self::lock(&shared);
            if w.is_none() {
                let mut writer = TraceWriter::create(
                    &self.filename,
                    self.snaplen,
                    self.linktype,
                    self.nano,
                    self.unbuffered,
                )?;
                if self.use_encap_from.is_empty() {
                    // Click writes the header at initialize.
                    writer.start();
                }
                *w = Some(writer);
            }
        }
        self.shared = Some(shared);
        if self.pulls_alone {
            self.upstream = ctx.upstream_empty_signal(0);
        }
        Ok(())
    }

    fn push(&mut self, _port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
        self.write(&batch, ctx);
        if self.has_output {
            ctx.push(0, batch);
        }
    }

    fn pull(&mut self, _port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
        let batch = ctx.pull(0, max)?;
        self.write(&batch, ctx);
        Some(batch)
    }

    fn has_task(&self) -> bool {
        self.pulls_alone
    }

    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        match ctx.pull(0, BATCH_CAPACITY) {
            Some(batch) => {
                self.write(&batch, ctx);
                true
            }
            None => {
                if !self.upstream.active() {
                    ctx.sleep();
                }
                false
            }
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("count"),
            Handler::read("filename"),
            Handler::write("reset_counts"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "count" => self
                .shared
                .as_ref()
                .map_or(0, |s| s.count.load(Ordering::Relaxed))
                .to_string(),
            "filename" => {
                if self.filename == "-" {
                    "<stdout>".into()
                } else {
                    self.filename.clone()
                }
            }
            _ => return None,
        })
    }

    fn write_handler(
        &mut self,
        name: &str,
        _value: &str,
        _ctx: &mut Ctx<'_>,
    ) -> Result<(), String> {
        match name {
            "reset_counts" => {
                if let Some(s) = &self.shared {
                    s.count.store(0, Ordering::Relaxed);
                }
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }

    fn cleanup(&mut self) {
        let Some(shared) = self.shared.take() else {
            return;
        };
        let mut w = Self::lock(&shared);
        if let Some(writer) = w.as_mut() {
            writer.flush();
        }
        // The last instance closes the file.
        if shared.open_instances.fetch_sub(1, Ordering::AcqRel) <= 1 {
            *w = None;
        }
    }
}
