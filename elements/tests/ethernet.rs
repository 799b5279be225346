//! The Ethernet and ARP elements: one by one through the Harness, and
//! ARPQuerier (which needs its table, made at initialize) in routers
//! driven by a Script, with a test element that injects packets when its
//! handlers are written and one that logs what reaches it.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use click_elements::{
    ARPFaker, ARPResponder, EtherEncap, EtherRewrite, IPEncap, StoreEtherAddress,
};
use click_engine::args::Args;
use click_engine::packet::Batch;
use click_engine::{
    ClockMode, ConfigureCtx, Ctx, Element, ElementClass, Handler, Harness, Packet, PacketCtx,
    PacketElement, Port, Processing, Router, RunOptions, Threads, Timer, DEFAULT_SIMTIME_START,
};

fn make<T: ElementClass>(config: &str, noutputs: usize) -> T {
    try_make(config, noutputs).unwrap_or_else(|e| panic!("{config}: {e}"))
}

fn try_make<T: ElementClass>(config: &str, noutputs: usize) -> Result<T, String> {
    let outputs = vec![Processing::Push; noutputs];
    let ctx = ConfigureCtx {
        name: "e",
        inputs: &[Processing::Push],
        outputs: &outputs,
    };
    T::configure(&mut Args::new(config), &ctx)
}

/// Pushes `p` alone through `e`; the output it left on and the packet,
/// or `None` if `e` dropped it.
fn run<T: Element>(h: &mut Harness, e: &mut T, p: Packet) -> Option<(usize, Packet)> {
    let mut batch = Batch::new();
    batch.push(p);
    h.with(|ctx| e.push(0, batch, ctx));
    (0..8).find_map(|port| h.take_output(port).pop().map(|q| (port, q)))
}

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// An ARP packet with its Ethernet header.
fn arp(op: u16, sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4], dst: [u8; 6]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&dst);
    v.extend_from_slice(&sha);
    v.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4]);
    v.extend_from_slice(&op.to_be_bytes());
    v.extend_from_slice(&sha);
    v.extend_from_slice(&spa);
    v.extend_from_slice(&tha);
    v.extend_from_slice(&tpa);
    v
}

const ME: [u8; 6] = [2, 0, 0, 0, 0, 1];
const HOST: [u8; 6] = [2, 0, 0, 0, 0, 2];

#[test]
fn etherencap_prepends_its_header_and_takes_writes() {
    let mut h = Harness::new("e");
    let mut e: EtherEncap = make("0x0800, 1:1:1:1:1:1, 2:2:2:2:2:2", 1);
    let (port, p) = run(&mut h, &mut e, Packet::from_slice(&[0x45; 20]).unwrap()).unwrap();
    assert_eq!(port, 0);
    assert_eq!(
        hex(&p.data()[..14]),
        "020202020202010101010101".to_string() + "0800"
    );
    assert_eq!(p.mac_header_offset(), Some(0));
    assert_eq!(p.network_header_offset(), Some(14));
    assert_eq!(
        Element::read_handler(&e, "ethertype").as_deref(),
        Some("2048")
    );
    assert_eq!(
        Element::read_handler(&e, "src").as_deref(),
        Some("01-01-01-01-01-01")
    );
    h.with(|ctx| {
        Element::write_handler(&mut e, "ethertype", "0x0806", ctx).unwrap();
        Element::write_handler(&mut e, "dst", "ff:ff:ff:ff:ff:ff", ctx).unwrap();
        assert!(Element::write_handler(&mut e, "src", "nonsense", ctx).is_err());
    });
    let (_, p) = run(&mut h, &mut e, Packet::from_slice(&[]).unwrap()).unwrap();
    assert_eq!(hex(p.data()), "ffffffffffff0101010101010806");
    assert!(try_make::<EtherEncap>("0x10000, 1:1:1:1:1:1, 2:2:2:2:2:2", 1).is_err());
}

#[test]
fn etherrewrite_writes_where_the_mac_header_is() {
    let mut h = Harness::new("e");
    let mut e: EtherRewrite = make("1:1:1:1:1:1, 2:2:2:2:2:2", 1);
    let mut frame = vec![0xaa; 14];
    frame[12] = 0x08;
    frame[13] = 0x00;
    frame.extend_from_slice(&[0x45; 20]);
    let (_, p) = run(&mut h, &mut e, Packet::from_slice(&frame).unwrap()).unwrap();
    assert_eq!(hex(&p.data()[..14]), "0202020202020101010101010800");
    // After a Strip the header is in the headroom: it is rewritten there.
    let mut p = Packet::from_slice(&frame).unwrap();
    p.set_mac_header(0).unwrap();
    p.pull(14).unwrap();
    let (_, mut p) = run(&mut h, &mut e, p).unwrap();
    p.push(14).unwrap();
    assert_eq!(hex(&p.data()[..12]), "020202020202010101010101");
    // Too short: dropped, never a panic.
    assert!(run(&mut h, &mut e, Packet::from_slice(&[1; 11]).unwrap()).is_none());
    assert_eq!(h.drops(), 1);
}

#[test]
fn storeetheraddress_writes_at_an_offset_or_sends_short_packets_on() {
    let mut h = Harness::new("e");
    let mut e: StoreEtherAddress = make("2:0:0:0:0:9, src", 2);
    let (port, p) = run(&mut h, &mut e, Packet::from_slice(&[0; 14]).unwrap()).unwrap();
    assert_eq!((port, hex(&p.data()[6..12])), (0, "020000000009".into()));
    let (port, _) = run(&mut h, &mut e, Packet::from_slice(&[0; 11]).unwrap()).unwrap();
    assert_eq!(port, 1);
    let mut e: StoreEtherAddress = make("OFFSET 3, ANNO 40", 1);
    let mut p = Packet::from_slice(&[0; 10]).unwrap();
    p.anno_mut()
        .bytes_mut(40, 6)
        .unwrap()
        .copy_from_slice(&HOST);
    let (_, p) = run(&mut h, &mut e, p).unwrap();
    assert_eq!(hex(&p.data()[3..9]), "020000000002");
    assert!(run(&mut h, &mut e, Packet::from_slice(&[0; 8]).unwrap()).is_none());
    assert!(try_make::<StoreEtherAddress>("1:1:1:1:1:1, dst, ANNO 40", 1).is_err());
    assert!(try_make::<StoreEtherAddress>("1:1:1:1:1:1, -3", 1).is_err());
    h.with(|ctx| Element::write_handler(&mut e, "addr", "3:3:3:3:3:3", ctx))
        .unwrap();
    assert_eq!(
        Element::read_handler(&e, "addr").as_deref(),
        Some("03-03-03-03-03-03")
    );
}

#[test]
fn arpresponder_answers_for_its_prefixes_most_specific_first() {
    let mut h = Harness::new("ar");
    let mut ar: ARPResponder = make("10.0.0.0/8 2:0:0:0:0:8, 10.0.0.5 10.0.0.6 2:0:0:0:0:5", 2);
    assert_eq!(
        Element::read_handler(&ar, "table").unwrap(),
        "10.0.0.5/32 02-00-00-00-00-05\n10.0.0.6/32 02-00-00-00-00-05\n10.0.0.0/8 02-00-00-00-00-08\n"
    );
    let ask = |tpa: [u8; 4]| {
        let mut p =
            Packet::from_slice(&arp(1, HOST, [10, 9, 9, 9], [0; 6], tpa, [0xff; 6])).unwrap();
        p.anno_mut().set_vlan_tci(42);
        p
    };
    let (port, r) = run(&mut h, &mut ar, ask([10, 0, 0, 6])).unwrap();
    assert_eq!(port, 0);
    assert_eq!(
        hex(r.data()),
        hex(&arp(
            2,
            [2, 0, 0, 0, 0, 5],
            [10, 0, 0, 6],
            HOST,
            [10, 9, 9, 9],
            HOST
        ))
    );
    assert_eq!(r.anno().vlan_tci(), 42);
    assert_eq!(r.anno().timestamp().as_nanos(), 0);
    assert_eq!(r.network_header_offset(), Some(14));
    let (_, r) = run(&mut h, &mut ar, ask([10, 3, 0, 1])).unwrap();
    assert_eq!(&r.data()[6..12], &[2, 0, 0, 0, 0, 8]);
    // Not ours, not a request, too short: output 1.
    assert_eq!(run(&mut h, &mut ar, ask([11, 0, 0, 1])).unwrap().0, 1);
    let reply = arp(2, HOST, [10, 9, 9, 9], [0; 6], [10, 0, 0, 6], [0xff; 6]);
    assert_eq!(
        run(&mut h, &mut ar, Packet::from_slice(&reply).unwrap())
            .unwrap()
            .0,
        1
    );
    assert_eq!(
        run(&mut h, &mut ar, Packet::from_slice(&reply[..41]).unwrap())
            .unwrap()
            .0,
        1
    );
    // Handlers.
    assert_eq!(
        Element::read_handler(&ar, "lookup 10.0.0.5").as_deref(),
        Some("02-00-00-00-00-05")
    );
    assert_eq!(
        Element::read_handler(&ar, "lookup 12.0.0.5").as_deref(),
        Some("")
    );
    h.with(|ctx| {
        Element::write_handler(&mut ar, "remove", "10.0.0.5", ctx).unwrap();
        assert!(Element::write_handler(&mut ar, "remove", "10.0.0.5", ctx).is_err());
        Element::write_handler(&mut ar, "add", "10.0.0.5/32 2:0:0:0:0:9", ctx).unwrap();
        assert!(Element::write_handler(&mut ar, "add", "10.0.0.7", ctx).is_err());
    });
    assert_eq!(
        Element::read_handler(&ar, "lookup 10.0.0.5").as_deref(),
        Some("02-00-00-00-00-09")
    );
    // With one output, what it does not answer is dropped.
    let mut ar1: ARPResponder = make("10.0.0.1 2:0:0:0:0:1", 1);
    assert!(run(&mut h, &mut ar1, ask([11, 0, 0, 1])).is_none());
    assert!(try_make::<ARPResponder>("10.0.0.1", 1).is_err());
    assert!(try_make::<ARPResponder>("2:0:0:0:0:1", 1).is_err());
    assert!(try_make::<ARPResponder>("10.0.0.1 2:0:0:0:0:1 2:0:0:0:0:2", 1).is_err());
}

#[test]
fn arpfaker_sends_its_reply_on_its_timer() {
    let mut h = Harness::new("f");
    let mut f: ARPFaker = make("10.0.0.1, 2:0:0:0:0:2, 10.0.0.9, 2:0:0:0:0:9", 1);
    h.with(|ctx| f.run_timer(Timer::MAIN, ctx));
    let out = h.take_output(0);
    assert_eq!(out.len(), 1);
    assert_eq!(
        hex(out[0].data()),
        hex(&arp(
            2,
            [2, 0, 0, 0, 0, 9],
            [10, 0, 0, 9],
            HOST,
            [10, 0, 0, 1],
            HOST
        ))
    );
    assert!(h.timer_deadline(Timer::MAIN).is_some());
}

#[test]
fn ipencap_builds_a_valid_header() {
    let mut h = Harness::new("e");
    let mut e: IPEncap = make("tcp, 1.0.0.1, 2.0.0.2, TTL 9, DF true, DSCP 10", 1);
    let (_, p) = run(&mut h, &mut e, Packet::from_slice(&[7; 8]).unwrap()).unwrap();
    assert_eq!(p.len(), 28);
    let d = p.data();
    assert_eq!(&d[..10], &[0x45, 40, 0, 28, 0, 0, 0x40, 0, 9, 6]);
    assert_eq!(click_elements::internet_checksum(&d[..20]), 0);
    assert_eq!(p.anno().dst_ip(), Ipv4Addr::new(2, 0, 0, 2));
    let (_, p) = run(&mut h, &mut e, Packet::from_slice(&[]).unwrap()).unwrap();
    assert_eq!(&p.data()[4..6], &[0, 1]);
    let mut e: IPEncap = make("4, 1.0.0.1, DST_ANNO", 1);
    let mut p = Packet::from_slice(&[]).unwrap();
    p.anno_mut().set_dst_ip(Ipv4Addr::new(9, 8, 7, 6));
    let (_, p) = run(&mut h, &mut e, p).unwrap();
    assert_eq!(&p.data()[16..20], &[9, 8, 7, 6]);
    assert_eq!(
        Element::read_handler(&e, "dst").as_deref(),
        Some("DST_ANNO")
    );
    assert!(try_make::<IPEncap>("tcp, 1.0.0.1, 2.0.0.2, TOS 1, DSCP 1", 1).is_err());
    assert!(try_make::<IPEncap>("nonsense, 1.0.0.1, 2.0.0.2", 1).is_err());
}

// ---- ARPQuerier in routers ----

/// `Inject`: pushes packets when its handlers are written: `ip DST [TAG]`
/// an IP packet (20-byte header, TAG in its ID) with destination
/// annotation DST out of output 0; `frame HEX` those bytes out of output
/// 1; `ips A B N` N packets with destinations A, A+1, ... as batches.
struct Inject;

impl ElementClass for Inject {
    const CLASS: &'static str = "Inject";
    const PORT_COUNT: &'static str = "0/1-2";
    const PROCESSING: &'static str = "h/h";
    const THREADS: Threads = Threads::PerThread;

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Inject)
    }
}

fn ip_packet(dst: Ipv4Addr, tag: u16) -> Packet {
    let mut d = [0u8; 20];
    d[0] = 0x45;
    d[3] = 20;
    d[4..6].copy_from_slice(&tag.to_be_bytes());
    d[16..20].copy_from_slice(&dst.octets());
    let mut p = Packet::from_slice(&d).unwrap();
    p.set_network_header(0, 20).unwrap();
    p.anno_mut().set_dst_ip(dst);
    p
}

impl Element for Inject {
    fn handlers(&self) -> &'static [Handler] {
        const H: &[Handler] = &[
            Handler::write("ip"),
            Handler::write("frame"),
            Handler::write("ips"),
        ];
        H
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let w: Vec<&str> = value.split_whitespace().collect();
        match name {
            "ip" => {
                let dst: Ipv4Addr = w[0].parse().map_err(|_| "bad IP")?;
                let tag = w.get(1).map_or(0, |t| t.parse().unwrap_or(0));
                let mut b = Batch::new();
                b.push(ip_packet(dst, tag));
                ctx.push(0, b);
            }
            "ips" => {
                let a = u32::from(w[0].parse::<Ipv4Addr>().map_err(|_| "bad IP")?);
                let n: u32 = w[1].parse().map_err(|_| "bad N")?;
                let mut b = Batch::new();
                for i in 0..n {
                    b.push(ip_packet(Ipv4Addr::from(a.wrapping_add(i)), i as u16));
                    if b.is_full() {
                        ctx.push(0, std::mem::take(&mut b));
                    }
                }
                if !b.is_empty() {
                    ctx.push(0, b);
                }
            }
            "frame" => {
                let mut b = Batch::new();
                b.push(Packet::from_slice(&unhex(value)).unwrap());
                ctx.push(1, b);
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}

/// `Log`: passes packets on; `lines` reads the hex of each packet seen
/// (at most 60 bytes), one a line; `count` how many.
#[derive(Default)]
struct Log {
    lines: String,
    count: u64,
}

impl ElementClass for Log {
    const CLASS: &'static str = "Log";
    const THREADS: Threads = Threads::PerThread;

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Log::default())
    }
}

impl PacketElement for Log {
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        self.count += 1;
        if self.lines.len() < 1 << 16 {
            let n = p.len().min(60);
            let _ = writeln!(self.lines, "{}", hex(&p.data()[..n]));
        }
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const H: &[Handler] = &[Handler::read("lines"), Handler::read("count")];
        H
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        match name {
            "lines" => Some(self.lines.clone()),
            "count" => Some(self.count.to_string()),
            _ => None,
        }
    }
}

fn registry() -> click_engine::Registry {
    let mut r = click_elements::registry();
    r.add::<Inject>().add::<Log>();
    r
}

/// Runs `config` (under simulated time if `simtime`, on `threads`
/// threads) and returns the final reads of `handlers`.
fn run_router(config: &str, threads: usize, simtime: bool, handlers: &[&str]) -> Vec<String> {
    let flat = click_lang::load_str(config, "config", &Default::default())
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let router = Router::new(&flat, &registry())
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|d| format!("{d}\n")).collect::<String>()));
    let opts = RunOptions {
        threads,
        final_reads: handlers.iter().map(|h| h.to_string()).collect(),
        clock: if simtime {
            ClockMode::Simulated(DEFAULT_SIMTIME_START)
        } else {
            ClockMode::Real
        },
        ..Default::default()
    };
    let report = router
        .run(&opts)
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|d| format!("{d}\n")).collect::<String>()));
    report
        .reads
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|e| format!("error: {e}"))
                .trim_end()
                .to_string()
        })
        .collect()
}

fn check_err(config: &str) -> String {
    let flat = click_lang::load_str(config, "config", &Default::default()).unwrap();
    match Router::new(&flat, &registry()) {
        Ok(_) => String::new(),
        Err(e) => e.iter().map(|d| format!("{d}\n")).collect(),
    }
}

/// A querier for 10.0.0.1/24 at ME, fed by `inj`, its IP packets logged
/// by `out`, its queries by `q`.
const QUERIER: &str = "
    inj :: Inject;
    inj[0] -> arpq :: ARPQuerier(10.0.0.1/24, 02:00:00:00:00:01 ARGS) -> out :: Log -> Discard;
    inj[1] -> [1]arpq;
    arpq[1] -> q :: Log -> Discard;
";

fn querier(args: &str, script: &str) -> String {
    format!(
        "{}\nScript({script}, stop);",
        QUERIER.replace(" ARGS", args)
    )
}

fn reply_hex(spa: [u8; 4], sha: [u8; 6]) -> String {
    hex(&arp(2, sha, spa, ME, [10, 0, 0, 1], ME))
}

#[test]
fn arpquerier_queries_holds_and_sends_in_order_once_answered() {
    let script = format!(
        "write inj.ip 10.0.0.2 1, write inj.ip 10.0.0.2 2, write inj.ip 10.0.0.3 3, \
         write inj.frame {}, write inj.ip 10.0.0.2 4",
        reply_hex([10, 0, 0, 2], HOST)
    );
    let r = run_router(
        &querier("", &script),
        1,
        true,
        &[
            "q.lines",
            "out.lines",
            "arpq.queries",
            "arpq.responses",
            "arpq.count",
            "arpq.length",
            "arpq.stats",
            "arpq.table",
        ],
    );
    let query = |tpa: [u8; 4]| hex(&arp(1, ME, [10, 0, 0, 1], [0; 6], tpa, [0xff; 6]));
    assert_eq!(
        r[0],
        format!("{}\n{}", query([10, 0, 0, 2]), query([10, 0, 0, 3]))
    );
    let sent: Vec<&str> = r[1].lines().collect();
    assert_eq!(sent.len(), 3);
    for (line, tag) in sent.iter().zip(["0001", "0002", "0004"]) {
        assert_eq!(&line[..28], "0200000000020200000000010800");
        assert_eq!(&line[36..40], tag);
    }
    assert_eq!(&r[2..6], ["2", "1", "2", "1"]);
    assert_eq!(r[6], "0 packets killed\n2 ARP queries sent");
    let table: Vec<&str> = r[7].lines().collect();
    assert_eq!(table.len(), 2);
    assert!(
        table[0].starts_with("10.0.0.3 0 FF-FF-FF-FF-FF-FF "),
        "{}",
        r[7]
    );
    assert!(
        table[1].starts_with("10.0.0.2 1 02-00-00-00-00-02 "),
        "{}",
        r[7]
    );
}

#[test]
fn arpquerier_broadcast_multicast_and_zero() {
    let script = "write inj.ip 10.0.0.255, write inj.ip 255.255.255.255, write inj.ip 224.129.2.3, write inj.ip 0.0.0.0";
    let r = run_router(
        &querier("", script),
        1,
        true,
        &["out.lines", "q.count", "arpq.drops", "arpq.broadcast"],
    );
    let dsts: Vec<&str> = r[0].lines().map(|l| &l[..12]).collect();
    assert_eq!(dsts, ["ffffffffffff", "ffffffffffff", "01005e010203"]);
    assert_eq!(&r[1..], ["0", "1", "10.0.0.255"]);
    // Without a prefix the broadcast address is 255.255.255.255 only.
    let cfg = QUERIER
        .replace("10.0.0.1/24", "10.0.0.1")
        .replace(" ARGS", "")
        + "Script(write inj.ip 10.0.0.255, write inj.ip 10.0.0.77, stop);";
    let r = run_router(&cfg, 1, true, &["arpq.broadcast", "q.count", "out.count"]);
    assert_eq!(r, ["255.255.255.255", "2", "0"]);
    let r = run_router(
        &querier(", BROADCAST 10.0.0.77", "write inj.ip 10.0.0.77"),
        1,
        true,
        &["out.count"],
    );
    assert_eq!(r, ["1"]);
}

#[test]
fn arpquerier_learns_from_any_reply_but_not_from_group_addresses_or_requests() {
    let gratuitous = hex(&arp(
        2,
        HOST,
        [10, 0, 0, 9],
        [0xff; 6],
        [10, 0, 0, 9],
        [0xff; 6],
    ));
    let group = reply_hex([10, 0, 0, 8], [3, 0, 0, 0, 0, 1]);
    let request = hex(&arp(1, HOST, [10, 0, 0, 7], [0; 6], [10, 0, 0, 1], ME));
    let script = format!(
        "write inj.frame {gratuitous}, write inj.frame {group}, write inj.frame {request}, \
         write inj.frame 0806, write inj.ip 10.0.0.9"
    );
    let r = run_router(
        &querier("", &script),
        1,
        true,
        &["arpq.responses", "arpq.count", "q.count", "out.lines"],
    );
    assert_eq!(&r[..3], ["3", "1", "0"]);
    assert!(r[3].starts_with("020000000002020000000001"), "{}", r[3]);
}

#[test]
fn arpquerier_handlers_insert_delete_clear() {
    let script = "write arpq.insert 10.0.0.5 2:0:0:0:0:5, write inj.ip 10.0.0.5, \
                  write arpq.delete 10.0.0.5, write inj.ip 10.0.0.5, \
                  write arpq.insert 10.0.0.6 2:0:0:0:0:6, \
                  write arpq.ipaddr 10.0.0.100, write inj.ip 10.0.0.7";
    let r = run_router(
        &querier("", script),
        1,
        true,
        &[
            "out.lines",
            "q.lines",
            "arpq.table",
            "arpq.ipaddr",
            "arpq.length",
        ],
    );
    assert!(r[0].starts_with("020000000005020000000001"), "{}", r[0]);
    assert_eq!(r[0].lines().count(), 1);
    // The second packet, after delete, asked; the last asked from the new
    // address.
    let lines: Vec<&str> = r[1].lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[1].contains("0a000064"), "{}", lines[1]);
    assert!(r[2].contains("10.0.0.5 0 FF-FF-FF-FF-FF-FF"), "{}", r[2]);
    assert!(r[2].contains("10.0.0.6 1 02-00-00-00-00-06"), "{}", r[2]);
    assert_eq!(&r[3..], ["10.0.0.100", "2"]);
    let r = run_router(
        &querier("", "write inj.ip 10.0.0.5, write arpq.clear"),
        1,
        true,
        &["arpq.count", "arpq.length", "arpq.stats", "arpq.queries"],
    );
    assert_eq!(r, ["0", "0", "1 packets killed\n0 ARP queries sent", "0"]);
    let r = run_router(
        &querier("", "write arpq.insert 10.0.0.5"),
        1,
        true,
        &["arpq.count"],
    );
    assert_eq!(r, ["0"]);
}

#[test]
fn arpquerier_polls_a_known_address_before_it_expires() {
    let script = format!(
        "write inj.frame {}, write inj.ip 10.0.0.2, wait 0.09s, write inj.ip 10.0.0.2, \
         write inj.ip 10.0.0.2, wait 0.2s, write inj.ip 10.0.0.2",
        reply_hex([10, 0, 0, 2], HOST)
    );
    let r = run_router(
        &querier(", POLL_TIMEOUT 0.08s, TIMEOUT 0.15s", &script),
        1,
        true,
        &["q.lines", "out.count"],
    );
    let q: Vec<&str> = r[0].lines().collect();
    // One unicast poll at 0.09 s, then a broadcast query once expired.
    assert_eq!(q.len(), 2, "{}", r[0]);
    assert!(q[0].starts_with("020000000002"), "{}", q[0]);
    assert!(q[1].starts_with("ffffffffffff"), "{}", q[1]);
    assert_eq!(r[1], "3");
    let r = run_router(
        &querier(", POLL_TIMEOUT 0.08s, BROADCAST_POLL true", &script),
        1,
        true,
        &["q.lines"],
    );
    assert!(r[0].starts_with("ffffffffffff"), "{}", r[0]);
}

#[test]
fn queriers_share_an_arptable() {
    let cfg = format!(
        "arpt :: ARPTable(CAPACITY 100);
         inj :: Inject; inj2 :: Inject;
         inj[0] -> a1 :: ARPQuerier(10.0.0.1, 2:0:0:0:0:1, TABLE arpt) -> o1 :: Log -> Discard;
         inj[1] -> [1]a1;
         inj2[0] -> a2 :: ARPQuerier(10.0.0.1, 2:0:0:0:0:1, TABLE arpt) -> o2 :: Log -> Discard;
         inj2[1] -> [1]a2;
         a1[1] -> Discard; a2[1] -> Discard;
         Script(write inj2.ip 10.0.0.2, write inj.frame {}, write inj2.ip 10.0.0.2,
                write arpt.insert 10.0.0.3 2:0:0:0:0:3, write inj.ip 10.0.0.3, stop);",
        reply_hex([10, 0, 0, 2], HOST)
    );
    let r = run_router(
        &cfg,
        1,
        true,
        &["o1.count", "o2.count", "arpt.count", "a2.count", "a2.table"],
    );
    // The reply through a1 sent a2's waiting packet (out of a1) and
    // taught a2.
    assert_eq!(&r[..4], ["2", "1", "2", "2"]);
    // Connected, so the errors are the configuration's and not unused ports.
    let q = |args: &str| {
        check_err(&format!(
            "d :: Discard; Idle -> a :: ARPQuerier({args}) -> d; Idle -> [1]a; a[1] -> Discard;"
        ))
    };
    assert_eq!(q("10.0.0.1, 2:0:0:0:0:1"), "");
    assert!(q("10.0.0.1, 2:0:0:0:0:1, TABLE nothere").contains("TABLE: no element named 'nothere'"));
    assert!(q("10.0.0.1, 2:0:0:0:0:1, TABLE d").contains("TABLE"));
    assert!(q("10.0.0.1").contains("ETH"));
    assert!(check_err("ARPTable(CAPACITY_SLIM_FACTOR 0)").contains("CAPACITY_SLIM_FACTOR"));
}

#[test]
fn an_addressinfo_name_gives_both_addresses() {
    let cfg = "AddressInfo(me 10.0.0.1/24 2:0:0:0:0:1);
               inj :: Inject; inj[0] -> arpq :: ARPQuerier(me) -> Discard; inj[1] -> [1]arpq;
               arpq[1] -> q :: Log -> Discard; Script(write inj.ip 10.0.0.2, stop)";
    let r = run_router(cfg, 1, true, &["arpq.ipaddr", "arpq.broadcast", "q.lines"]);
    // Click reads IP with IPPrefixArg(true): a bare name is its address,
    // a /32, so the broadcast address is 255.255.255.255; `me:ipnet`
    // names the prefix.
    assert_eq!(&r[..2], ["10.0.0.1", "255.255.255.255"]);
    assert!(r[2].starts_with("ffffffffffff020000000001"), "{}", r[2]);
    let r = run_router(
        &cfg.replace("ARPQuerier(me)", "ARPQuerier(me:ipnet, me)"),
        1,
        true,
        &["arpq.ipaddr", "arpq.broadcast"],
    );
    assert_eq!(r, ["10.0.0.1", "10.0.0.255"]);
}

/// A flood of unresolved destinations: the table stays within its
/// bounds and every packet it frees is counted.
#[test]
fn a_flood_of_unresolved_destinations_is_bounded_and_counted() {
    // Click's limits as given, then Click's "unlimited" (0), which is our
    // DEFAULT_ENTRY_BOUND entries and DEFAULT_PACKET_BOUND packets.
    for (args, entries, packets) in [
        (", ENTRY_CAPACITY 4096, CAPACITY 512", 4096, 512),
        (
            ", ENTRY_CAPACITY 0, CAPACITY 0",
            u64::from(click_elements::DEFAULT_ENTRY_BOUND),
            u64::from(click_elements::DEFAULT_PACKET_BOUND),
        ),
    ] {
        let cfg = querier(
            args,
            "write inj.ips 11.0.0.1 50000, write inj.ips 12.0.0.1 50000",
        )
        .replace(
            "arpq[1] -> q :: Log -> Discard;",
            "arpq[1] -> q :: Counter -> Discard;",
        );
        let r = run_router(
            &cfg,
            1,
            true,
            &[
                "arpq.count",
                "arpq.length",
                "arpq.stats",
                "arpq.evictions",
                "q.count",
            ],
        );
        let count: u64 = r[0].parse().unwrap();
        let length: u64 = r[1].parse().unwrap();
        assert!(count == entries && length <= packets, "{args}: {r:?}");
        // Every packet is either still waiting or counted as killed.
        let killed: u64 = r[2].split_whitespace().next().unwrap().parse().unwrap();
        assert_eq!(killed + length, 100_000, "{args}: {r:?}");
        assert_eq!(
            r[3].parse::<u64>().unwrap() + count,
            100_000,
            "{args}: {r:?}"
        );
        // One query per destination.
        assert_eq!(r[4], "100000", "{args}: {r:?}");
    }
}

/// Two threads through one ARPQuerier: a source on thread 0 sends IP
/// packets for an unknown host, which wait; the reply comes in on thread
/// 1 (its own source), teaches the one shared table and sets them free;
/// thread 0's later packets find the address at once.
#[test]
fn a_reply_on_one_thread_serves_the_other() {
    let ip = "45000014000000004006000001000001 0a000002";
    let cfg = format!(
        "rs :: RatedSource(DATA \\<{ip}>, RATE 200, LIMIT 40, STOP true)
           -> SetIPAddress(10.0.0.2) -> arpq :: ARPQuerier(10.0.0.1, 2:0:0:0:0:1)
           -> out :: Log -> c :: Counter -> Discard;
         ts :: TimedSource(0.05, \\<{}>, LIMIT 1) -> [1]arpq;
         arpq[1] -> q :: Counter -> Discard;
         StaticThreadSched(rs 0, ts 1);",
        reply_hex([10, 0, 0, 2], HOST)
    );
    let r = run_router(
        &cfg,
        2,
        false,
        &[
            "out.lines",
            "c.count",
            "q.count",
            "arpq.responses",
            "arpq.table",
            "arpq.length",
        ],
    );
    // `out` answers from its first instance, thread 0's: the packets it
    // sent itself, with the address thread 1's reply put in the table.
    let lines: Vec<&str> = r[0].lines().collect();
    assert!(!lines.is_empty(), "{r:?}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("020000000002020000000001")),
        "{}",
        r[0]
    );
    // Every packet went out, on one thread or the other.
    assert_eq!(r[1], "40", "{r:?}");
    assert!(r[2].parse::<u32>().unwrap() >= 1);
    assert_eq!(r[3], "1");
    assert!(r[4].starts_with("10.0.0.2 1 02-00-00-00-00-02"), "{}", r[4]);
    assert_eq!(r[5], "0");
}

/// Every frame of `bad-packets.pcap` through each Ethernet and ARP
/// element: no panic (a panic ends the run with an error), and each
/// element's verdicts are Click's for those bytes.
#[test]
fn the_ethernet_elements_take_every_frame_of_bad_packets_without_a_panic() {
    let pcap = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/pcaps/bad-packets.pcap"
    );
    let cfg = format!(
        "fd :: FromDump({pcap}, STOP true) -> all :: Counter -> t :: Tee(7);
         t[0] -> [1]arpq :: ARPQuerier(10.0.1.1/24, 2:0:0:0:0:1, CAPACITY 8, ENTRY_CAPACITY 4)
              -> ipout :: Counter -> Discard;
         t[1] -> Strip(14) -> GetIPAddress(16) -> arpq; arpq[1] -> queries :: Counter -> Discard;
         t[2] -> ar :: ARPResponder(0/0 2:0:0:0:0:1) -> answered :: Counter -> Discard;
         ar[1] -> Discard;
         t[3] -> EtherRewrite(1:1:1:1:1:1, 2:2:2:2:2:2) -> rewritten :: Counter -> Discard;
         t[4] -> sea :: StoreEtherAddress(1:1:1:1:1:1, 60) -> stored :: Counter -> Discard;
         sea[1] -> short :: Counter -> Discard;
         t[5] -> EtherEncap(0x0800, 1:1:1:1:1:1, 2:2:2:2:2:2) -> encapped :: Counter -> Discard;
         t[6] -> Strip(14) -> GetIPAddress(16) -> arpq2 :: ARPQuerier(10.0.1.1, 2:0:0:0:0:1)
              -> Discard; Idle -> [1]arpq2; arpq2[1] -> Discard;"
    );
    let r = run_router(
        &cfg,
        1,
        false,
        &[
            "all.count",
            "arpq.responses",
            "arpq.count",
            "arpq.length",
            "answered.count",
            "rewritten.count",
            "stored.count",
            "short.count",
            "encapped.count",
        ],
    );
    // 96 frames (bad-packets.txt), 88 of them at least 42 bytes long:
    // Click counts each as a response before looking at its contents.
    assert_eq!(&r[..2], ["96", "88"], "{r:?}");
    assert!(
        r[2].parse::<u32>().unwrap() <= 4 && r[3].parse::<u32>().unwrap() <= 8,
        "{r:?}"
    );
    // Click's ARPResponder checks the hardware type, protocol and opcode
    // but not the address lengths: frames 67, 68 and 69 are answered.
    assert_eq!(r[4], "3", "{r:?}");
    // Only the 10-byte frame cannot hold two Ethernet addresses.
    assert_eq!(r[5], "95", "{r:?}");
    // Bytes 60..66 exist in 8 frames; the other 88 go to output 1.
    assert_eq!(&r[6..8], ["8", "88"], "{r:?}");
    assert_eq!(r[8], "96", "{r:?}");
}

#[test]
fn delayunqueue_holds_each_packet_for_its_delay() {
    let cfg = "InfiniteSource(LIMIT 3, STOP false) -> SetTimestamp -> Queue -> d :: DelayUnqueue(0.5s) -> c :: Counter -> Discard;
               Script(wait 0.4s, read c.count, wait 0.2s, stop)";
    let r = run_router(cfg, 1, true, &["c.count", "d.delay"]);
    assert_eq!(r, ["3", "0.5"]);
    let cfg = "InfiniteSource(LIMIT 3, STOP false) -> SetTimestamp -> Queue -> d :: DelayUnqueue(0.5s) -> c :: Counter -> Discard;
               Script(wait 0.4s, stop)";
    assert_eq!(run_router(cfg, 1, true, &["c.count"]), ["0"]);
}
