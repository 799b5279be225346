//! Print: writes a line about each packet to standard error.

use std::fmt::Write as _;
use std::io::Write as _;

use click_engine::args::{Args, Flags};
use click_engine::Ctx;
use click_engine::PacketCtx;
use click_engine::Threads;
use click_engine::{ConfigureCtx, ElementClass, Handler, Packet, PacketElement, Port};

/// Click's default number of bytes shown.
const DEFAULT_MAXLENGTH: usize = 24;

/// How Print shows packet contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contents {
    None,
    Hex,
    Ascii,
}

impl Contents {
    fn parse(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "hex" | "true" | "yes" | "1" => Ok(Contents::Hex),
            "ascii" => Ok(Contents::Ascii),
            "none" | "false" | "no" | "0" => Ok(Contents::None),
            _ => Err("expected NONE, HEX or ASCII".into()),
        }
    }
}

/// `Print([LABEL, MAXLENGTH, *keywords* CONTENTS, TIMESTAMP, HEADROOM,
/// ACTIVE])`: passes packets through, writing one line per packet to
/// standard error, in Click's format:
///
/// ```text
/// LABEL: [TIMESTAMP: ][(h HEADROOM t TAILROOM) ]LEN | CONTENTS
/// ```
///
/// where LEN is right-aligned in 4 columns and CONTENTS shows the first
/// MAXLENGTH bytes (default 24; negative: all) in hex, in groups of 4
/// bytes (`CONTENTS HEX`, the default), as printable characters with dots
/// for the others, a space before each group of 8 (`ASCII`), or not at all
/// (`NONE`). The `: ` after the
/// label is left out when LABEL is empty, and ` | ...` when no byte is
/// shown. While ACTIVE is false, nothing is printed.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `active` (read/write).
#[derive(Debug)]
pub struct Print {
    label: String,
    maxlength: usize,
    contents: Contents,
    timestamp: bool,
    headroom: bool,
    active: bool,
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
        let headroom = args.read("HEADROOM")?.unwrap_or(false);
        let active = args.read("ACTIVE")?.unwrap_or(true);
        let maxlength = match max {
            None => DEFAULT_MAXLENGTH,
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        };
        let line = String::with_capacity(label.len() + 64 + 3 * maxlength.min(2048));
        Ok(Print {
            label,
            maxlength,
            contents,
            timestamp,
            headroom,
            active,
            line,
        })
    }
}

impl Print {
    /// Formats the line for `p` into `self.line`.
    fn format(&mut self, p: &Packet) {
        let line = &mut self.line;
        line.clear();
        line.push_str(&self.label);
        if !self.label.is_empty() {
            line.push_str(": ");
        }
        // Writing to a String cannot fail.
        if self.timestamp {
            let _ = write!(line, "{}: ", p.anno().timestamp());
        }
        if self.headroom {
            let _ = write!(line, "(h{} t{}) ", p.headroom(), p.tailroom());
        }
        let _ = write!(line, "{:4}", p.len());
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
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        if self.active {
            self.format(packet);
            self.line.push('\n');
            // A closed stderr is not the packet's problem.
            let _ = std::io::stderr().lock().write_all(self.line.as_bytes());
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
        p.format(&pkt);
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
        assert_eq!(line("HEADROOM true", b"a"), "(h128 t1919)    1 | 61");
    }
}
