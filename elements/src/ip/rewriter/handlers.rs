//! The rewriters' handlers: their flow tables, counts, specs, capacity
//! and lookups, read and written as Click's are.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::Instant;

use click_engine::args::Args;
use click_engine::{ClockHandle, Handler};

use super::core::{Core, InputStats, Kind};
use super::flow::{Flow, FlowId};
use super::pattern::InputSpec;

impl Core {
    /// The handlers of this kind of rewriter, with `pattern0`... for its
    /// inputs (up to 16).
    pub fn handlers(&self) -> &'static [Handler] {
        let all = match self.kind {
            Kind::Ip => IP_HANDLERS,
            Kind::Tcp => TCP_HANDLERS,
            _ => HANDLERS,
        };
        &all[..all.len() - PATTERN_HANDLERS + self.specs.len().min(PATTERN_HANDLERS)]
    }

    pub fn read_handler(&self, name: &str) -> Option<String> {
        let stat = |f: fn(&InputStats) -> u64| self.stats.iter().map(f).sum::<u64>().to_string();
        Some(match name {
            "table_size" | "nmappings" => stat(|s| s.count),
            "mapping_failures" => stat(|s| s.failures),
            "size" => self.group_size().to_string(),
            "capacity" => self.capacity().min(i32::MAX as usize).to_string(),
            "patterns" => (0..self.specs.len())
                .map(|i| self.pattern_line(i))
                .collect(),
            "table" | "mappings" if self.kind != Kind::Ip => self.table_text(0),
            "tcp_table" | "tcp_mappings" if self.kind == Kind::Ip => self.table_text(0),
            "udp_table" | "udp_mappings" if self.kind == Kind::Ip => self.table_text(1),
            _ if self.is_lookup(name) => self.lookup_text(name)?,
            _ => {
                let i: usize = name.strip_prefix("pattern")?.parse().ok()?;
                (i < self.specs.len()).then(|| self.pattern_line(i))?
            }
        })
    }

    /// Whether `name` is a TCP lookup (`lookup SADDR SPORT DADDR DPORT`,
    /// IPRewriter's `tcp_lookup`), which TCPRewriter and IPRewriter have.
    fn is_lookup(&self, name: &str) -> bool {
        let word = name.split_whitespace().next().unwrap_or("");
        matches!(
            (self.kind, word),
            (Kind::Tcp, "lookup") | (Kind::Ip, "tcp_lookup")
        )
    }

    /// The rewritten flow of the TCP flow the lookup names (`SADDR SPORT
    /// DADDR DPORT`), as those four words; empty if it has no mapping.
    fn lookup_text(&self, name: &str) -> Option<String> {
        let words: Vec<&str> = name.split_whitespace().skip(1).collect();
        let [sa, sp, da, dp] = words[..] else {
            return None;
        };
        let addr = |w: &str| w.parse::<Ipv4Addr>().ok().map(u32::from);
        let port = |w: &str| w.parse::<u16>().ok();
        let key = FlowId::new(addr(sa)?, port(sp)?, addr(da)?, port(dp)?);
        let table = &self.tables[0];
        Some(table.lookup(&key).map_or(String::new(), |e| {
            let r = table.flow(e.flow).rewritten(e.reply);
            format!(
                "{} {} {} {}",
                Ipv4Addr::from(r.saddr),
                r.sport,
                Ipv4Addr::from(r.daddr),
                r.dport
            )
        }))
    }

    /// Replaces input `i`'s spec (a `patternN` write), dropping the flows
    /// it made, as Click does.
    fn replace_spec(&mut self, i: usize, text: &str) -> Result<(), String> {
        let spec = InputSpec::parse(text, self.noutputs, &Args::new(""))
            .and_then(|mut s| s.resolve(&self.named).map(|_| s))
            .and_then(|s| match s {
                InputSpec::Mapper(_) => Err("a mapper is named only in the configuration".into()),
                s => Ok(s),
            })
            .map_err(|e| format!("input spec {i}: {e}"))?;
        for t in 0..2 {
            for flow in self.tables[t].remove_where(|f| f.input == i) {
                self.stats[flow.input].count -= 1;
            }
        }
        self.specs[i] = spec;
        Ok(())
    }

    pub fn write_handler(&mut self, name: &str, value: &str, now: Instant) -> Result<(), String> {
        if let Some(i) = name.strip_prefix("pattern") {
            return match i.parse::<usize>() {
                Ok(i) if i < self.specs.len() => self.replace_spec(i, value),
                _ => Err(format!("no write handler '{name}'")),
            };
        }
        match name {
            "capacity" => {
                let capacity = Args::new(value).read_mp("CAPACITY")?;
                self.capacity = capacity;
                if let Some((g, _)) = &self.group {
                    g.set_capacity(capacity);
                }
                self.shrink(now);
            }
            "clear" => {
                for t in 0..2 {
                    for flow in self.tables[t].remove_where(|_| true) {
                        self.stats[flow.input].count -= 1;
                    }
                }
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }

    /// Input `i`'s spec, with the number of its live flows if any.
    fn pattern_line(&self, i: usize) -> String {
        let mut s = self.specs[i].unparse();
        if self.stats[i].count > 0 {
            let _ = write!(s, " [{}]", self.stats[i].count);
        }
        s.push('\n');
        s
    }

    /// Each flow of table `t`, forward then reply, in Click's form:
    /// `FLOW => REWRITTEN [*FOUT ROUT] iINPUT expSECONDS`.
    fn table_text(&self, t: usize) -> String {
        let now = self.clock.as_ref().map(ClockHandle::now);
        let mut s = String::new();
        for (_, flow) in self.tables[t].iter() {
            let exp = now.map_or(0, |now| {
                let at = self.timeouts[t].expiry(flow);
                let ms = if at >= now {
                    (at - now).as_millis() as i64
                } else {
                    -((now - at).as_millis() as i64)
                };
                (ms + 500).div_euclid(1000)
            });
            for reply in [false, true] {
                self.flow_text(&mut s, flow, reply);
                let [f, r] = flow.outputs;
                let (fm, rm) = if reply { ("", "*") } else { ("*", "") };
                let _ = writeln!(s, " [{fm}{f} {rm}{r}] i{} exp{exp}", flow.input);
            }
        }
        s
    }

    /// One side of a flow, as each rewriter shows it.
    fn flow_text(&self, s: &mut String, flow: &Flow, reply: bool) {
        let (me, other) = (
            flow.keys[usize::from(reply)],
            flow.keys[usize::from(!reply)],
        );
        let ip = Ipv4Addr::from;
        let _ = match self.kind {
            Kind::Addr => write!(s, "{} => {}", ip(me.saddr), ip(other.daddr)),
            Kind::AddrPair => write!(
                s,
                "({}, {}) => ({}, {})",
                ip(me.saddr),
                ip(me.daddr),
                ip(other.daddr),
                ip(other.saddr)
            ),
            Kind::Ping => {
                let r = flow.rewritten(reply);
                write!(
                    s,
                    "({}, {}, {}) => ({}, {}, {})",
                    ip(me.saddr),
                    ip(me.daddr),
                    me.sport,
                    ip(r.saddr),
                    ip(r.daddr),
                    r.sport
                )
            }
            _ => write!(s, "{} => {}", me, flow.rewritten(reply)),
        };
    }
}

/// How many `patternN` handlers the lists end with.
const PATTERN_HANDLERS: usize = 16;

macro_rules! rewriter_handlers {
    ($($table:expr),*) => {
        &[
            $(Handler::read($table),)*
            Handler::read("table_size"),
            Handler::read("nmappings"),
            Handler::read("mapping_failures"),
            Handler::read("patterns"),
            Handler::read("size"),
            Handler::read_write("capacity"),
            Handler::write("clear"),
            Handler::read_write("pattern0"), Handler::read_write("pattern1"),
            Handler::read_write("pattern2"), Handler::read_write("pattern3"),
            Handler::read_write("pattern4"), Handler::read_write("pattern5"),
            Handler::read_write("pattern6"), Handler::read_write("pattern7"),
            Handler::read_write("pattern8"), Handler::read_write("pattern9"),
            Handler::read_write("pattern10"), Handler::read_write("pattern11"),
            Handler::read_write("pattern12"), Handler::read_write("pattern13"),
            Handler::read_write("pattern14"), Handler::read_write("pattern15"),
        ]
    };
}

const HANDLERS: &[Handler] = rewriter_handlers!("table", "mappings");
const TCP_HANDLERS: &[Handler] = rewriter_handlers!("table", "mappings", "lookup");
const IP_HANDLERS: &[Handler] = rewriter_handlers!(
    "tcp_table",
    "udp_table",
    "tcp_mappings",
    "udp_mappings",
    "tcp_lookup"
);
