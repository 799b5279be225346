//! ToIPSummaryDump: writes a line of text about each packet.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::{Arc, Mutex, MutexGuard};

use click_engine::args::{quote, split_words, unquote, Args, Raw};
use click_engine::packet::BATCH_CAPACITY;
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, NotifierSignal, Port,
    Threads,
};

use super::ipsumdump::{Desc, Field, MAJOR_VERSION, MINOR_VERSION};
use super::trace::WRITE_BLOCK;

/// `ToIPSummaryDump(FILENAME [, *keywords* FIELDS, VERBOSE, HEADER,
/// BANNER, MULTIPACKET, BAD_PACKETS, CAREFUL_TRUNC, EXTRA_LENGTH,
/// BINARY])`: writes a line of text about each packet to FILENAME (`-`:
/// standard output) in Click's IP summary dump format, byte for byte:
/// the banner `!IPSummaryDump 1.3`, `!creator "BANNER"`, with VERBOSE
/// `!host` and `!runtime`, then `!data FIELDS` (HEADER false leaves these
/// out), then one line per packet with the FIELDS (default `timestamp
/// ip_src`) separated by spaces, `-` for a field the packet does not
/// have. The fields are FromIPSummaryDump's; output adds nothing to
/// their syntax (addresses dotted, protocols `T`/`U`/`I` or a number,
/// TCP flags as letters `FSRPAUECN` or `.`, timestamps with six or nine
/// decimals, `payload` quoted, `eth_src`/`eth_dst` in Click's Ethernet
/// text, `eth_type` in hex, `ip_opt` and `tcp_opt`, `tcp_ntopt`,
/// `tcp_sack` as Click names options, `payload_md5` in Click's 22-character
/// text digest and `payload_md5_hex` in hex). BAD_PACKETS writes a `!bad` line
/// before a packet whose headers are broken; CAREFUL_TRUNC (default true)
/// counts a capture shorter than its IP length as broken; EXTRA_LENGTH
/// (default true) adds the extra length annotation to `ip_len` and
/// `payload_len`. MULTIPACKET writes a packet standing for several
/// (`count` above 1) as that many lines, its length and time spread
/// between them, unless `count` is a field. Binary output is not written
/// (a configuration asking for it is an error).
///
/// Lines are gathered in a 256 KiB buffer and written in blocks; the file
/// is complete when the router stops. Reached from several threads, the
/// instances share one file, a batch at a time.
///
/// * Ports: 1 input; 0 or 1 output (push).
/// * Handlers: `flush` (write).
pub struct ToIPSummaryDump {
    filename: String,
    fields: Vec<Field>,
    verbose: bool,
    header: bool,
    banner: Option<String>,
    multipacket: bool,
    bad_packets: bool,
    careful_trunc: bool,
    extra_length: bool,
    has_output: bool,
    pulls: bool,
    shared: Option<Arc<Mutex<Option<Writer>>>>,
    line: String,
    /// A batch's lines, reused.
    out: String,
    upstream: NotifierSignal,
}

impl ElementClass for ToIPSummaryDump {
    const CLASS: &'static str = "ToIPSummaryDump";
    const PORT_COUNT: &'static str = "1/0-1";
    const PROCESSING: &'static str = "a/h";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let filename: String = args.read_mp("FILENAME")?;
        let mut save: Option<Raw> = args.read("FIELDS")?;
        save = args.read("CONTENTS")?.or(save);
        save = args.read("DATA")?.or(save);
        let verbose = args.read("VERBOSE")?.unwrap_or(false);
        let header = args.read("HEADER")?.unwrap_or(true);
        let banner: Option<String> = args.read("BANNER")?;
        let multipacket = args.read("MULTIPACKET")?.unwrap_or(false);
        let bad_packets = args.read("BAD_PACKETS")?.unwrap_or(false);
        let careful_trunc = args.read("CAREFUL_TRUNC")?.unwrap_or(true);
        let extra_length = args.read("EXTRA_LENGTH")?.unwrap_or(true);
        let binary = args.read("BINARY")?.unwrap_or(false);
        let save = save.map_or_else(|| "timestamp ip_src".to_string(), |Raw(s)| s);
        let mut fields = Vec::new();
        let mut errors = Vec::new();
        for word in split_words(&save) {
            let word = unquote(&word);
            match Field::find(&word) {
                Some(f) => fields.push(f),
                None => errors.push(format!("unknown content type '{word}'")),
            }
        }
        if binary {
            errors.push("BINARY summary dumps are not supported".into());
        }
        if fields.is_empty() {
            errors.push("no contents specified".into());
        }
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        let multipacket = multipacket && !fields.contains(&Field::Count);
        Ok(ToIPSummaryDump {
            filename,
            fields,
            verbose,
            header,
            banner,
            multipacket,
            bad_packets,
            careful_trunc,
            extra_length,
            has_output: ctx.noutputs() > 0,
            pulls: ctx.input_is_pull(0),
            shared: None,
            line: String::with_capacity(256),
            out: String::with_capacity(BATCH_CAPACITY * 128),
            upstream: NotifierSignal::always(),
        })
    }
}

type Writer = BufWriter<Box<dyn Write + Send>>;

impl ToIPSummaryDump {
    fn lock(shared: &Mutex<Option<Writer>>) -> MutexGuard<'_, Option<Writer>> {
        shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn banner(&self) -> String {
        let mut sa = format!("!IPSummaryDump {MAJOR_VERSION}.{MINOR_VERSION}\n");
        if let Some(b) = &self.banner {
            sa.push_str(&format!("!creator {}\n", quote(b)));
        }
        if self.verbose {
            let mut host = [0u8; 256];
            // SAFETY: gethostname writes at most `len` bytes into `host`.
            let r = unsafe { libc::gethostname(host.as_mut_ptr().cast(), host.len() - 1) };
            if r == 0 {
                let end = host.iter().position(|&b| b == 0).unwrap_or(0);
                sa.push_str(&format!(
                    "!host {}\n",
                    String::from_utf8_lossy(&host[..end])
                ));
            }
            let now = click_engine::packet::Timestamp::now();
            let mut t = String::new();
            crate::standard::push_timestamp(&mut t, now);
            sa.push_str(&format!("!runtime {t}\n"));
        }
        sa.push_str("!data ");
        for (i, f) in self.fields.iter().enumerate() {
            if i > 0 {
                sa.push(' ');
            }
            sa.push_str(if *f == Field::NTimestamp {
                "timestamp"
            } else {
                f.name()
            });
        }
        sa.push('\n');
        sa
    }

    /// The line (and `!bad` line) for one packet, appended to `out`.
    fn summary(&mut self, p: &mut click_engine::Packet, out: &mut String) {
        let extra = {
            let mut d = Desc::new(p, self.careful_trunc, self.extra_length, self.bad_packets);
            let line = &mut self.line;
            line.clear();
            for (i, &f) in self.fields.iter().enumerate() {
                if i > 0 {
                    line.push(' ');
                }
                match d.extract(f) {
                    Some(v) => d.write_value(line, &v),
                    None => line.push('-'),
                }
            }
            line.push('\n');
            if let Some(bad) = &d.bad {
                out.push_str(bad);
            }
            d.extra_length
        };
        out.push_str(&self.line);
        // Click's ip_prepare changes the packet's extra length.
        p.anno_mut().set_extra_length(extra);
    }

    /// A packet standing for several, as several lines (MULTIPACKET).
    fn multi_summary(&mut self, p: &mut click_engine::Packet, out: &mut String) {
        let extra_packets = p.anno().extra_packets();
        if !self.multipacket || extra_packets == 0 {
            self.summary(p, out);
            return;
        }
        let count = u64::from(extra_packets) + 1;
        let len = p.len() as u64;
        let mut total = len
            + if self.extra_length {
                u64::from(p.anno().extra_length())
            } else {
                0
            };
        total = total.max(count * len);
        let end_ts = p.anno().timestamp().as_nanos();
        let first = p.anno().first_timestamp().as_nanos();
        let delta = if first != 0 {
            p.anno_mut()
                .set_timestamp(click_engine::packet::Timestamp::from_nanos(first));
            end_ts.saturating_sub(first) / (count - 1)
        } else {
            0
        };
        p.anno_mut().set_extra_packets(0);
        for i in (1..=count).rev() {
            let l = total / i;
            p.anno_mut().set_extra_length((l - len) as u32);
            total -= l;
            self.summary(p, out);
            let a = p.anno_mut();
            let next = if i == 2 {
                end_ts
            } else {
                a.timestamp().as_nanos() + delta
            };
            a.set_timestamp(click_engine::packet::Timestamp::from_nanos(next));
        }
    }

    fn write(&mut self, batch: &mut Batch) {
        let Some(shared) = self.shared.clone() else {
            return;
        };
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        for p in batch.iter_mut() {
            self.multi_summary(p, &mut out);
        }
        if let Some(w) = Self::lock(&shared).as_mut() {
            let _ = w.write_all(out.as_bytes());
        }
        self.out = out;
    }
}

impl Element for ToIPSummaryDump {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let shared = ctx.shared_state(|| Mutex::new(None::<Writer>))?;
        {
            let mut w = Self::lock(&shared);
            if w.is_none() {
                let out: Box<dyn Write + Send> = if self.filename == "-" {
                    Box::new(std::io::stdout())
                } else {
                    Box::new(
                        File::create(&self.filename)
                            .map_err(|e| format!("{}: {e}", self.filename))?,
                    )
                };
                let mut writer = BufWriter::with_capacity(WRITE_BLOCK, out);
                if self.header {
                    let _ = writer.write_all(self.banner().as_bytes());
                }
                *w = Some(writer);
            }
        }
        self.shared = Some(shared);
        if self.pulls {
            self.upstream = ctx.upstream_empty_signal(0);
        }
        Ok(())
    }

    fn push(&mut self, _port: Port, mut batch: Batch, ctx: &mut Ctx<'_>) {
        self.write(&mut batch);
        if self.has_output {
            ctx.push(0, batch);
        }
    }

    fn has_task(&self) -> bool {
        self.pulls
    }

    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        match ctx.pull(0, BATCH_CAPACITY) {
            Some(mut batch) => {
                self.write(&mut batch);
                if self.has_output {
                    ctx.push(0, batch);
                }
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
        const HANDLERS: &[Handler] = &[Handler::write("flush")];
        HANDLERS
    }

    fn write_handler(
        &mut self,
        name: &str,
        _value: &str,
        _ctx: &mut Ctx<'_>,
    ) -> Result<(), String> {
        match name {
            "flush" => {
                if let Some(s) = &self.shared {
                    if let Some(w) = Self::lock(s).as_mut() {
                        let _ = w.flush();
                    }
                }
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }

    fn cleanup(&mut self) {
        if let Some(s) = self.shared.take() {
            if let Some(w) = Self::lock(&s).as_mut() {
                let _ = w.flush();
            }
        }
    }
}
