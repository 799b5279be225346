//! Print: writes a line about each packet to standard error; and what
//! the printing elements share (IPPrint, ARPPrint): Click's timestamp
//! format and an output that is standard error or a file.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::sync::{Arc, Mutex};

use click_engine::args::{Args, Flags};
use click_engine::packet::Timestamp;
use click_engine::Ctx;
use click_engine::PacketCtx;
use click_engine::Threads;
use click_engine::{ConfigureCtx, ElementClass, Handler, InitCtx, Packet, PacketElement, Port};

/// Click's default number of bytes shown.
const DEFAULT_MAXLENGTH: usize = 24;

/// Appends `ts` as Click prints a timestamp: seconds, a point, then six
/// digits when it is a whole number of microseconds, nine otherwise.
pub(crate) fn push_timestamp(out: &mut String, ts: Timestamp) {
    // A timestamp before the epoch (AdjustTimestamp(-1) on one at 0.1s)
    // prints as Click's do: a minus sign, then its distance from zero.
    let signed = ts.as_signed_nanos();
    if signed < 0 {
        out.push('-');
    }
    let ns = signed.unsigned_abs();
    let (sec, sub) = (ns / 1_000_000_000, ns % 1_000_000_000);
    // Writing to a String cannot fail.
    if sub % 1000 == 0 {
        let _ = write!(out, "{sec}.{:06}", sub / 1000);
    } else {
        let _ = write!(out, "{sec}.{sub:09}");
    }
}

/// Where a printing element's lines go: standard error (Click's
/// `click_chatter`), or a file (OUTFILE), shared by the element's
/// instances on several threads, buffered and flushed at cleanup.
#[derive(Default)]
pub(crate) enum Output {
    #[default]
    Stderr,
    File(Arc<Mutex<BufWriter<File>>>),
}

impl Output {
    /// Opens OUTFILE `path` (once for all instances), or standard error.
    pub(crate) fn open(path: Option<&str>, ctx: &mut InitCtx<'_>) -> Result<Output, String> {
        let Some(path) = path else {
            return Ok(Output::Stderr);
        };
        let cell =
            ctx.shared_state(|| Mutex::new(None::<Result<Arc<Mutex<BufWriter<File>>>, String>>))?;
        let mut cell = cell.lock().unwrap_or_else(|e| e.into_inner());
        let file = cell.get_or_insert_with(|| {
            File::create(path)
                .map(|f| Arc::new(Mutex::new(BufWriter::with_capacity(1 << 16, f))))
                .map_err(|e| format!("{path}: {e}"))
        });
        file.clone().map(Output::File)
    }

    /// Writes `line` and a newline.
    pub(crate) fn line(&self, line: &str) {
        // A closed stderr or a full disk is not the packet's problem.
        match self {
            Output::Stderr => {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(line.as_bytes());
                let _ = err.write_all(b"\n");
            }
            Output::File(f) => {
                let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
                let _ = f.write_all(line.as_bytes());
                let _ = f.write_all(b"\n");
            }
        }
    }

    /// Writes out what is buffered.
    pub(crate) fn flush(&self) {
        if let Output::File(f) = self {
            let _ = f.lock().unwrap_or_else(|e| e.into_inner()).flush();
        }
    }
}

/// How Print shows packet contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Contents {
    None,
    Hex,
    Ascii,
}

impl Contents {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "hex" | "true" | "yes" | "1" => Ok(Contents::Hex),
            "ascii" => Ok(Contents::Ascii),
            "none" | "false" | "no" | "0" => Ok(Contents::None),
            _ => Err(format!(
                "bad contents value '{text}'; should be 'NONE', 'HEX', or 'ASCII'"
            )),
        }
    }
}

/// `Print([LABEL, MAXLENGTH, *keywords* CONTENTS, TIMESTAMP, PRINTANNO,
/// CPU, HEADROOM, ACTIVE, OUTFILE])`: passes packets through, writing one
/// line per packet to standard error (or to the file OUTFILE), in Click's
/// format:
///
/// ```text
/// LABEL[(CPU)]: [TIMESTAMP: ]LEN[ (hHEADROOM tTAILROOM)][ | ANNO][ | CONTENTS]
/// ```
///
/// where LEN is right-aligned in 4 columns, TIMESTAMP is Click's (six
/// decimals, or nine when the time is not a whole number of
/// microseconds), CPU (as FastClick's) the scheduler thread, ANNO
/// (PRINTANNO) the 48 bytes of Click's annotation area in hex, and
/// CONTENTS the first MAXLENGTH bytes (default 24; negative: all) in hex,
/// in groups of 4 bytes (`CONTENTS HEX`, the default), as printable
/// characters with dots for the others, a space before each group of 8
/// (`ASCII`), or not at all (`NONE`). The `: ` after the label is left
/// out when LABEL is empty, and ` | ...` when no byte is shown. While
/// ACTIVE is false, nothing is printed. OUTFILE is ours (Click's Print
/// has none, its IPPrint does): the file is written through a buffer and
/// flushed when the router stops.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `active` (read/write).
pub struct Print {
    label: String,
    maxlength: usize,
    contents: Contents,
    timestamp: bool,
    headroom: bool,
    print_anno: bool,
    cpu: bool,
    active: bool,
    outfile: Option<String>,
    output: Output,
    /// The line being built, reused: printing never allocates once it has
    /// grown to the longest line.
    line: String,
}

impl ElementClass for Print {
    const CLASS: &'static str = "Print";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let label: String = args.read_p("LABEL")?.unwrap_or_default();
        let max: Option<i64> = args.read_p("MAXLENGTH")?;
        let max = max.or(args.read("LENGTH")?).or(args.read("NBYTES")?);
        let contents = args
            .read_with("CONTENTS", Flags::KEYWORD, Contents::parse)?
            .unwrap_or(Contents::Hex);
        let timestamp = args.read("TIMESTAMP")?.unwrap_or(false);
        let print_anno = args.read("PRINTANNO")?.unwrap_or(false);
        let active = args.read("ACTIVE")?.unwrap_or(true);
        let headroom = args.read("HEADROOM")?.unwrap_or(false);
        let cpu = args.read("CPU")?.unwrap_or(false);
        let outfile: Option<String> = args.read("OUTFILE")?;
        let maxlength = match max {
            None => DEFAULT_MAXLENGTH,
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        };
        let line = String::with_capacity(label.len() + 160 + 3 * maxlength.min(2048));
        Ok(Print {
            label,
            maxlength,
            contents,
            timestamp,
            headroom,
            print_anno,
            cpu,
            active,
            outfile,
            output: Output::Stderr,
            line,
        })
    }
}

impl Print {
    /// Formats the line for `p` into `self.line`; `thread` is the
    /// scheduler thread (CPU).
    fn format(&mut self, p: &Packet, thread: usize) {
        let line = &mut self.line;
        line.clear();
        let mut sep = "";
        if !self.label.is_empty() {
            line.push_str(&self.label);
            sep = ": ";
        }
        // Writing to a String cannot fail.
        if self.cpu {
            let _ = write!(line, "({thread})");
            sep = ": ";
        }
        if self.timestamp {
            line.push_str(sep);
            push_timestamp(line, p.anno().timestamp());
            sep = ": ";
        }
        let _ = write!(line, "{sep}{:4}", p.len());
        if self.headroom {
            let _ = write!(line, " (h{} t{})", p.headroom(), p.tailroom());
        }
        if self.print_anno {
            line.push_str(" | ");
            for b in p.anno().area() {
                let _ = write!(line, "{b:02x}");
            }
        }
        let shown = if self.contents == Contents::None {
            0
        } else {
            self.maxlength.min(p.len())
        };
        if shown == 0 {
            return;
        }
        line.push_str(" | ");
        let data = &p.data()[..shown];
        match self.contents {
            Contents::Hex => {
                for (i, b) in data.iter().enumerate() {
                    if i > 0 && i % 4 == 0 {
                        line.push(' ');
                    }
                    let _ = write!(line, "{b:02x}");
                }
            }
            Contents::Ascii => {
                // Click's: a space before every group of 8 characters.
                for (i, &b) in data.iter().enumerate() {
                    if i % 8 == 0 {
                        line.push(' ');
                    }
                    line.push(if (32..127).contains(&b) {
                        b as char
                    } else {
                        '.'
                    });
                }
            }
            Contents::None => {}
        }
    }
}

impl PacketElement for Print {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.output = Output::open(self.outfile.as_deref(), ctx)?;
        Ok(())
    }

    fn process(&mut self, packet: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        if self.active {
            self.format(packet, ctx.thread());
            self.output.line(&self.line);
        }
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("active")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "active").then(|| self.active.to_string())
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "active" => {
                self.active = Args::new(value).read_mp("ACTIVE")?;
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }

    fn cleanup(&mut self) {
        self.output.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn print(config: &str) -> Print {
        let ctx = ConfigureCtx {
            name: "p",
            inputs: &[],
            outputs: &[],
        };
        let mut args = Args::new(config);
        let p = Print::configure(&mut args, &ctx).unwrap();
        args.complete().unwrap();
        p
    }

    fn line(config: &str, data: &[u8]) -> String {
        let mut p = print(config);
        let pkt = Packet::from_slice(data).unwrap();
        p.format(&pkt, 0);
        p.line.clone()
    }

    #[test]
    fn formats_like_click() {
        assert_eq!(
            line("", b"I love myself\n"),
            "  14 | 49206c6f 7665206d 7973656c 660a"
        );
        assert_eq!(line("2", b""), "2:    0");
        assert_eq!(line("x, 2", b"abc"), "x:    3 | 6162");
        assert_eq!(line("x, CONTENTS ASCII", b"a\x01c"), "x:    3 |  a.c");
        assert_eq!(
            line("CONTENTS ASCII", b".a. is a .at,"),
            "  13 |  .a. is a  .at,"
        );
        assert_eq!(line("x, CONTENTS NONE", b"abc"), "x:    3");
        assert_eq!(line("HEADROOM true", b"a"), "   1 (h128 t1919) | 61");
        assert_eq!(line("x, CPU true, MAXLENGTH 1", b"ab"), "x(0):    2 | 61");
        let mut p = print("TIMESTAMP true, CONTENTS NONE");
        let mut pkt = Packet::from_slice(b"ab").unwrap();
        pkt.anno_mut()
            .set_timestamp(Timestamp::from_nanos(1_500_000_000));
        p.format(&pkt, 0);
        assert_eq!(p.line, "1.500000:    2");
        pkt.anno_mut()
            .set_timestamp(Timestamp::from_nanos(1_000_000_001));
        p.format(&pkt, 0);
        assert_eq!(p.line, "1.000000001:    2");
        let mut p = print("PRINTANNO true, CONTENTS NONE");
        pkt.anno_mut().set_paint(3);
        p.format(&pkt, 0);
        assert_eq!(
            p.line,
            format!("   2 | {}03{}", "00".repeat(16), "00".repeat(31))
        );
    }
}
