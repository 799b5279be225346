//! IPFilter and IPClassifier: IP packets classified by tcpdump-like
//! patterns, compiled into one decision graph.

pub(crate) mod names;
mod parse;

use click_engine::args::{ArgContext, Args};
use click_engine::packet::{Batch, BATCH_CAPACITY};
use click_engine::{
    ConfigureCtx, Ctx, Element, ElementClass, Handler, Packet, Port, Threads, PUSH,
};

use crate::standard::classification::{IpRegion, IpRegions, Program, View};
use crate::standard::classifier::{
    classify_batch, classify_batch_one, one_pattern_per_output, push_all, push_classified,
    warn_unreachable,
};

pub use parse::{parse_patterns, Slots};

/// The compiled patterns of an IPFilter or IPClassifier.
#[derive(Debug)]
struct Compiled {
    program: Program,
}

impl Compiled {
    fn new<S: AsRef<str>>(
        patterns: &[S],
        slots: Slots,
        name: &str,
        ctx: &dyn ArgContext,
    ) -> Result<Compiled, String> {
        let parsed = parse_patterns(patterns, slots, ctx)?;
        for w in &parsed.warnings {
            tracing::warn!("{name}: {w}");
        }
        Ok(Compiled {
            program: Program::compile(parsed.arena, parsed.rules),
        })
    }

    #[inline]
    fn push(&self, batch: Batch, ctx: &mut Ctx<'_>) {
        if let Some(out) = self.program.constant_output() {
            return push_all(out, batch, ctx);
        }
        if let Some(t) = self.program.one_test() {
            // the region chosen once per batch, not per packet
            let mut o = [0u8; BATCH_CAPACITY];
            match t.region() & 3 {
                0 => classify_batch_one(&batch, t, IpRegion::<0>, &mut o),
                1 => classify_batch_one(&batch, t, IpRegion::<1>, &mut o),
                2 => classify_batch_one(&batch, t, IpRegion::<2>, &mut o),
                _ => classify_batch_one(&batch, t, IpRegion::<3>, &mut o),
            }
            return push_classified(batch, t, &o, ctx);
        }
        let program = &self.program;
        classify_batch(batch, ctx, |p| program.classify_in(&IpRegions::of(p)));
    }
}

/// `IPFilter(ACTION_1 PATTERN_1, ..., ACTION_N PATTERN_N)`: sends each IP
/// packet where the first filter whose PATTERN it matches says. ACTION is
/// an output number, `allow` (output 0), or `deny`/`drop` (drop the
/// packet); a packet no filter matches is dropped.
///
/// PATTERNs are those of [`IPClassifier`](crate::IPClassifier), whose entry
/// describes the language. Packets must have their IP header annotation
/// set (CheckIPHeader, MarkIPHeader); `ether host` tests need the MAC
/// header annotation. A packet without the annotation, or too short for a
/// test, fails that test, and nothing beyond the packet's data is read.
/// The filters are compiled at configure time into one decision graph, so
/// that a packet costs a few steps however many filters there are
/// (sublinear in their number). Configuration errors name the pattern, the
/// word and its column.
///
/// * Ports: 1 push input, any number of push outputs.
/// * Handlers: `program` (read): the compiled graph, one step a line, with
///   the region each test reads (`net`, `transp`, `mac`); it is our graph,
///   not Click's decision tree.
#[derive(Debug)]
pub struct IPFilter {
    compiled: Compiled,
}

impl ElementClass for IPFilter {
    const CLASS: &'static str = "IPFilter";
    const PORT_COUNT: &'static str = "1/-";
    const PROCESSING: &'static str = PUSH;
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let patterns = args.rest();
        let slots = Slots::Actions {
            noutputs: ctx.noutputs(),
        };
        Ok(IPFilter {
            compiled: Compiled::new(&patterns, slots, ctx.name, args.context())?,
        })
    }
}

/// `IPClassifier(PATTERN_1, ..., PATTERN_N)`: sends each IP packet to the
/// output of the first pattern it matches; a packet that matches none is
/// dropped.
///
/// Patterns are Click's tcpdump-like language. Primitives:
/// `ip proto PROTO` (`icmp`, `igmp`, `ipip`, `tcp`, `udp`, `tcpudp`, ... or
/// a number); `[src|dst|src or dst|src and dst] host ADDR`; `... net
/// ADDR/LEN` (or `ADDR mask MASK`); `... [tcp|udp] port PORT` (a number or
/// a name: `www`, `ssh`, `domain`, ...); `ip vers`, `ip hl`, `ip id`, `ip
/// tos`, `ip dscp`, `ip ttl`, `ip len` VALUE; `ip ect`, `ip ce`; `ip frag`,
/// `ip unfrag`; `tcp opt FLAG` (`syn`, `ack`, `fin`, `rst`, `psh`, `urg`);
/// `tcp win VALUE`; `icmp type TYPE` (a number or `echo`, `echo-reply`,
/// `unreachable`, ...); `ip[POS:LEN] VALUE` and `transp[POS:LEN]`,
/// `tcp[...]`, `udp[...]` (header bytes); `[src|dst] ether host ETH`;
/// `true`, `false`. Values may follow `==`, `!=`, `<`, `>`, `<=`, `>=`
/// (numbers) and a mask `& MASK`. Combine with `and`/`&&` (or just
/// juxtaposition), `or`/`||`, `not`/`!`, parentheses and `C ? A : B`. Much
/// can be left out: `tcp` for `ip proto tcp`, `www` for `port www`, `syn`
/// for `tcp opt syn`, `10.0.0.0/8` for `net 10.0.0.0/8`, and a primitive
/// without qualifiers takes the previous one's (`src port 80 or 81`). The
/// pattern `-` (or `any`, `all`) matches everything. Port, ICMP type,
/// TCP flag and other transport tests match only first fragments; `port
/// != 5` still requires TCP or UDP, unlike `not port 5`.
///
/// As in Click, a packet too short for a test fails it (so `not` of that
/// test succeeds), while `!=` and the other relations fail on short
/// packets. Addresses may be AddressInfo names. Differences: names from
/// `/etc/services` and `/etc/protocols` are not read, `ip proto transp`
/// matches every packet (Click's matches none), and masked relations
/// compare as the arithmetic says (Click's `ip[12] & 190 > 135` matches
/// everything).
///
/// * Ports: 1 push input, N push outputs (one per pattern).
/// * Handlers: `program` (read): the compiled graph (see
///   [`IPFilter`](crate::IPFilter)).
#[derive(Debug)]
pub struct IPClassifier {
    compiled: Compiled,
}

impl ElementClass for IPClassifier {
    const CLASS: &'static str = "IPClassifier";
    const PORT_COUNT: &'static str = "1/-";
    const PROCESSING: &'static str = PUSH;
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let patterns = one_pattern_per_output(args, ctx)?;
        let compiled = Compiled::new(&patterns, Slots::Positional, ctx.name, args.context())?;
        warn_unreachable(ctx.name, &compiled.program, ctx.noutputs());
        Ok(IPClassifier { compiled })
    }
}

macro_rules! classifier_element {
    ($t:ty) => {
        impl $t {
            /// The compiled program.
            pub fn program(&self) -> &Program {
                &self.compiled.program
            }

            /// The output for `p` through the compiled graph
            /// ([`DROP`](crate::classification::DROP) if none).
            pub fn classify(&self, p: &Packet) -> u32 {
                self.compiled.program.classify_in(&IpRegions::of(p))
            }

            /// The output for `p` by evaluating the patterns one after the
            /// other, first match wins: the reference the graph must
            /// agree with.
            pub fn interpret(&self, p: &Packet) -> u32 {
                self.compiled.program.interpret(&View::of_ip_packet(p))
            }
        }

        impl Element for $t {
            #[inline]
            fn push(&mut self, _port: Port, batch: Batch, ctx: &mut Ctx<'_>) {
                self.compiled.push(batch, ctx);
            }

            fn handlers(&self) -> &'static [Handler] {
                const HANDLERS: &[Handler] = &[Handler::read("program")];
                HANDLERS
            }

            fn read_handler(&self, name: &str) -> Option<String> {
                (name == "program").then(|| self.compiled.program.unparse())
            }
        }
    };
}

classifier_element!(IPFilter);
classifier_element!(IPClassifier);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standard::classification::DROP;
    use click_engine::Processing;

    fn ipc(patterns: &[&str]) -> IPClassifier {
        let config = patterns.join(", ");
        let outputs = vec![Processing::Push; patterns.len()];
        let ctx = ConfigureCtx {
            name: "c",
            inputs: &[Processing::Push],
            outputs: &outputs,
        };
        IPClassifier::configure(&mut Args::new(&config), &ctx)
            .unwrap_or_else(|e| panic!("{patterns:?}: {e}"))
    }

    /// An Ethernet/IPv4 frame with the given header bytes changed, its MAC
    /// and IP headers marked.
    fn frame(ip: &[(usize, u8)], transport: &[(usize, u8)], proto: u8) -> Packet {
        let mut b = vec![0u8; 14 + 20 + 20];
        b[12] = 8;
        b[14] = 0x45;
        b[14 + 9] = proto;
        for &(i, v) in ip {
            b[14 + i] = v;
        }
        for &(i, v) in transport {
            b[34 + i] = v;
        }
        let mut p = Packet::from_slice(&b).unwrap();
        p.set_mac_header(0).unwrap();
        p.set_network_header(14, 20).unwrap();
        p
    }

    /// A small deterministic generator for the value sweeps.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 16) as u32
        }
    }

    fn holds(op: &str, x: u32, v: u32) -> bool {
        match op {
            "==" => x == v,
            "!=" => x != v,
            "<" => x < v,
            ">" => x > v,
            "<=" => x <= v,
            ">=" => x >= v,
            _ => unreachable!(),
        }
    }

    /// Every relation on every IP header field, against the arithmetic.
    #[test]
    fn relations_compute_what_they_say() {
        let mut rng = Rng(0x1234_5678_9abc);
        // (name, byte offset, width in bytes, shift, bits)
        let fields: &[(&str, usize, usize, u32, u32)] = &[
            ("ip ttl", 8, 1, 0, 8),
            ("ip tos", 1, 1, 0, 8),
            ("ip dscp", 1, 1, 2, 6),
            ("ip id", 4, 2, 0, 16),
            ("ip len", 2, 2, 0, 16),
        ];
        for &(name, off, width, shift, bits) in fields {
            for op in ["==", "!=", "<", ">", "<=", ">="] {
                for _ in 0..40 {
                    let max = (1u32 << bits) - 1;
                    let v = match rng.next() % 4 {
                        0 => 0,
                        1 => max,
                        _ => rng.next() & max,
                    };
                    let c = ipc(&[&format!("{name} {op} {v}"), "-"]);
                    for _ in 0..20 {
                        let raw = rng.next() & ((1u32 << (8 * width)) - 1);
                        let bytes: Vec<(usize, u8)> = (0..width)
                            .map(|i| (off + i, (raw >> (8 * (width - 1 - i))) as u8))
                            .collect();
                        let p = frame(&bytes, &[], 6);
                        let x = (raw >> shift) & max;
                        let want = if holds(op, x, v) { 0 } else { 1 };
                        assert_eq!(c.classify(&p), want, "{name} {op} {v} on {x}");
                    }
                }
            }
        }
    }

    /// Masked header bytes and ports, with their protocol and first
    /// fragment conditions.
    #[test]
    fn masks_ports_and_fragments() {
        let mut rng = Rng(0xfeed_beef);
        for op in ["==", "!=", "<", ">", "<=", ">="] {
            for _ in 0..60 {
                let m = rng.next() & 0xff;
                let m = if m == 0 { 1 } else { m };
                let v = rng.next() & 0xff;
                let c = ipc(&[&format!("ip[1] & {m} {op} {v}"), "-"]);
                for _ in 0..10 {
                    let x = rng.next() as u8;
                    let p = frame(&[(1, x)], &[], 6);
                    // `== v` and `!= v` compare the masked value: skip
                    // values with bits outside the mask
                    if (op == "==" || op == "!=") && v & !m != 0 {
                        continue;
                    }
                    let direct = if holds(op, u32::from(x) & m, v) { 0 } else { 1 };
                    assert_eq!(c.classify(&p), direct, "ip[1] & {m} {op} {v} on {x}");
                }
                let port = rng.next() & 0xffff;
                let c = ipc(&[&format!("dst udp port {op} {port}"), "-"]);
                for _ in 0..10 {
                    let dp = rng.next() & 0xffff;
                    let frag = [0u8, 0x20, 0x01][rng.next() as usize % 3];
                    let proto = [17u8, 6][rng.next() as usize % 2];
                    let p = frame(&[(6, frag)], &[(2, (dp >> 8) as u8), (3, dp as u8)], proto);
                    let first_fragment = frag & 0x1f == 0;
                    let want = proto == 17 && first_fragment && holds(op, dp, port);
                    assert_eq!(
                        c.classify(&p),
                        u32::from(!want),
                        "dst udp port {op} {port} on {dp}"
                    );
                }
            }
        }
    }

    /// IPFilter-01..03 without the trace elements: short packets fail the
    /// tests that need their bytes; `not` of such a test succeeds.
    #[test]
    fn short_packets_as_click_tests_them() {
        let f0 = ipc(&["ip[19]&128==0"]);
        let f1 = ipc(&["transp[1]&128==0"]);
        let mut p = frame(&[], &[], 17);
        assert_eq!(f0.classify(&p), 0);
        assert_eq!(f1.classify(&p), 0);
        // IP header cut to 19 bytes; 21 bytes: one transport byte
        p.truncate(14 + 19);
        assert_eq!(f0.classify(&p), DROP);
        let mut p = frame(&[], &[], 17);
        p.truncate(14 + 21);
        assert_eq!(f1.classify(&p), DROP);
        // IPFilter-02/03: the negated forms on the 21-byte packet
        let c = ipc(&["transp[1]&128!=0", "-"]);
        assert_eq!(c.classify(&p), 1);
        let c = ipc(&["not (transp[1]&128==0)"]);
        assert_eq!(c.classify(&p), 0);
        let c = ipc(&["transp[1]&128==0 || transp[1]&128==128"]);
        assert_eq!(c.classify(&p), DROP);
    }

    #[test]
    fn ether_hosts_use_the_mac_header() {
        let c = ipc(&[
            "src ether host 2:2:2:2:2:2",
            "dst ether host 1:1:1:1:1:1",
            "-",
        ]);
        let mut p = frame(&[], &[], 6);
        {
            let d = p.data_mut().unwrap();
            d[..6].copy_from_slice(&[1; 6]);
            d[6..12].copy_from_slice(&[2; 6]);
        }
        p.set_mac_header(0).unwrap();
        assert_eq!(c.classify(&p), 0);
        p.data_mut().unwrap()[6] = 3;
        assert_eq!(c.classify(&p), 1);
        // no MAC header annotation: the ether tests fail
        let mut q = Packet::from_slice(&p.data()[14..]).unwrap();
        q.set_network_header(0, 20).unwrap();
        assert_eq!(c.classify(&q), 2);
    }

    #[test]
    fn unmarked_packets_fail_ip_tests() {
        let c = ipc(&["tcp", "not udp", "-"]);
        let p = Packet::from_slice(&[0x45; 40]).unwrap();
        assert_eq!(c.classify(&p), 1);
        let empty = Packet::from_slice(&[]).unwrap();
        assert_eq!(c.classify(&empty), 1);
    }
}
