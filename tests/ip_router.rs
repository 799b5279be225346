//! configs/ip-router.click (make-ip-conf.py's two-device router) between
//! two hosts in network namespaces, on each method (AF_PACKET and
//! AF_XDP), checked with real clients: ping, arping, iperf3, tcpdump and
//! tshark. The harness (tests/common/netns.rs) builds
//!
//! ```text
//!   host-a a0 10.1.1.2 ── r0 10.1.1.1 [router] 10.1.2.1 r1 ── b0 10.1.2.2 host-b
//! ```
//!
//! and tears it down, also when a check fails. Needs root and the
//! clients (`.ci/run` installs them); fails, never skips, without them.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::netns::*;

fn router_bin() -> &'static str {
    env!("CARGO_BIN_EXE_router")
}

fn conf() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs/ip-router.click")
}

/// A network and the router running in its middle. Fields drop in order:
/// the router stops before the namespaces go.
struct Setup {
    router: Option<Router>,
    net: Net,
}

impl Setup {
    /// Stops the router: the `-h` handlers' values and its log.
    fn stop(&mut self) -> (String, String) {
        self.router.take().expect("router running").stop()
    }
}

impl RouterLog for Setup {
    fn log(&self) -> String {
        self.router.as_ref().map(Router::log).unwrap_or_default()
    }
}

/// Builds the network, starts configs/ip-router.click on `method` in the
/// middle with `extra` settings and `-h` handlers, and waits until
/// host-a reaches the router.
fn setup(tag: &str, method: &str, opts: NetOpts, extra: &[&str]) -> Setup {
    require(&["ip", "ethtool", "ping"]);
    let net = Net::new(tag, opts);
    let conf = conf();
    let mut args: Vec<String> = vec![conf.to_str().unwrap().into()];
    for (k, v) in [
        ("DEV0", "r0"),
        ("DEV1", "r1"),
        ("MAC0", R0_MAC),
        ("MAC1", R1_MAC),
        ("METHOD", method),
    ] {
        args.push(format!("{k}={v}"));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    start(net, &args)
}

/// Starts the router in `net` with `args` and waits until host-a
/// reaches it.
fn start(net: Net, args: &[String]) -> Setup {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut router = net.start_router(router_bin(), &args);
    net.wait_reachable(&net.a, R0_IP, &mut router, Duration::from_secs(20));
    Setup {
        router: Some(router),
        net,
    }
}

/// make-ip-conf.py's configuration for this network's router, with
/// `args` before the devices: its text.
fn make_ip_conf(args: &[&str]) -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs/make-ip-conf.py");
    let r0 = format!("r0:{R0_IP}/24:{R0_MAC}");
    let r1 = format!("r1:{R1_IP}/24:{R1_MAC}");
    let out = common::output_ok(
        std::process::Command::new("python3")
            .arg(script)
            .args(args)
            .args([&r0, &r1]),
        &format!("make-ip-conf.py {args:?}"),
    );
    String::from_utf8(out.stdout).unwrap()
}

crate::on_each_method!(
    pings,
    icmp_errors,
    arp,
    tcp_and_udp,
    fragments,
    captures,
    two_threads,
    hot_swap
);

/// The router's two addresses answer from both sides, and it forwards
/// both ways: no ping lost. The devices ran on the method asked for.
fn pings(method: &str) {
    let mut s = setup(
        "ping",
        method,
        NetOpts::default(),
        &[
            "-h",
            "fromdevice0.method",
            "-h",
            "fromdevice1.method",
            "-h",
            "todevice0.method",
            "-h",
            "todevice1.method",
            "-h",
            "todevice1.count",
        ],
    );
    let n = &s.net;
    for (from, to) in [
        (&n.a, R0_IP),
        (&n.a, R1_IP),
        (&n.b, R1_IP),
        (&n.b, R0_IP),
        (&n.a, B_IP),
        (&n.b, A_IP),
    ] {
        ping_all(&s, from, to, &[]);
    }
    let (out, log) = s.stop();
    // `-h` prints each handler as `NAME:`, its value, a blank line.
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| !l.is_empty() && !l.ends_with(':'))
        .collect();
    let name = if method == "PACKET" { "LINUX" } else { method };
    assert_eq!(lines[..4], [name; 4], "methods used: {out}\n{log}");
    // host-b got 10 requests from host-a, 10 replies to its own, 20
    // replies from the router, plus ARP.
    let sent: u64 = lines[4].parse().expect("todevice1.count");
    assert!(sent >= 40, "todevice1 sent {sent}\n{log}");
}

/// A TTL-1 ping through the router gets time-exceeded from the router's
/// address on the sender's side; a destination no route covers gets net
/// unreachable; a packet too big with DF set gets needfrag.
fn icmp_errors(method: &str) {
    let s = setup("icmp", method, NetOpts::default(), &[]);
    let n = &s.net;
    let out = ping(&n.a, B_IP, &["-c", "1", "-t", "1"]);
    assert!(
        out.contains(&format!("From {R0_IP} icmp_seq=1 Time to live exceeded")),
        "TTL 1 ping: {out}"
    );
    let out = ping(&n.b, A_IP, &["-c", "1", "-t", "1"]);
    assert!(
        out.contains(&format!("From {R1_IP} icmp_seq=1 Time to live exceeded")),
        "TTL 1 ping from host-b: {out}"
    );
    // TTL 2 is enough: the router decrements it once.
    ping_all(&s, &n.a, B_IP, &["-t", "2"]);
    let out = ping(&n.a, "10.9.9.9", &["-c", "1"]);
    assert!(
        out.contains(&format!(
            "From {R0_IP} icmp_seq=1 Destination Net Unreachable"
        )),
        "ping to an unrouted address: {out}"
    );
}

/// ARP both ways: each host learns the router's address, the router
/// learns each host's; a neighbour that changes its MAC (and says so
/// with a gratuitous ARP reply) is learnt again.
fn arp(method: &str) {
    require(&["arping"]);
    let mut s = setup(
        "arp",
        method,
        NetOpts::default(),
        &["-h", "arpq0.table", "-h", "arpq1.table"],
    );
    let n = &s.net;
    ping_all(&s, &n.a, B_IP, &[]);
    let neigh_a = n.a.ok(&["ip", "neigh", "show", R0_IP, "dev", "a0"]);
    assert!(
        neigh_a.contains(R0_MAC),
        "host-a's neighbour table: {neigh_a}"
    );
    let neigh_b = n.b.ok(&["ip", "neigh", "show", R1_IP, "dev", "b0"]);
    assert!(
        neigh_b.contains(R1_MAC),
        "host-b's neighbour table: {neigh_b}"
    );

    // host-b takes a new MAC. The router still sends to the old one,
    // which host-b's stack now ignores: pings from host-a go unanswered.
    let new_mac = "02:00:00:00:02:99";
    n.b.ok(&["ip", "link", "set", "b0", "address", new_mac]);
    let out = ping(&n.a, B_IP, &["-c", "2", "-i", "0.2"]);
    assert!(
        out.contains("100% packet loss"),
        "the router should still use host-b's old MAC: {out}"
    );
    // An unsolicited ARP reply teaches the router the new MAC.
    n.b.ok(&["arping", "-q", "-A", "-c", "2", "-I", "b0", B_IP]);
    ping_all(&s, &n.a, B_IP, &[]);

    let (out, log) = s.stop();
    let out = out.to_ascii_lowercase().replace('-', ":");
    assert!(
        out.contains(A_IP) && out.contains(A_MAC),
        "router's table for r0 lacks host-a: {out}\n{log}"
    );
    assert!(
        out.contains(B_IP) && out.contains(new_mac),
        "router's table for r1 lacks host-b's new MAC: {out}\n{log}"
    );
}

/// `-h` arguments for the counts of every place the single-thread router
/// may drop a packet, printed when a check of loss fails.
const DROP_HANDLERS: [&str; 12] = [
    "-h",
    "fromdevice0.kernel_drops",
    "-h",
    "fromdevice1.kernel_drops",
    "-h",
    "out0.drops",
    "-h",
    "out1.drops",
    "-h",
    "todevice0.drops",
    "-h",
    "todevice1.drops",
];

/// Runs an iperf3 client in host-a against a one-off server in host-b:
/// the client's JSON output.
fn iperf(s: &Setup, args: &[&str]) -> String {
    let n = &s.net;
    let server = n.b.spawn(&["iperf3", "-s", "-1", "-B", B_IP]);
    std::thread::sleep(Duration::from_millis(500));
    let mut argv = vec!["iperf3", "-c", B_IP, "-J"];
    argv.extend_from_slice(args);
    let out = n.a.exec(&argv);
    let json = iperf_report(&out, &format!("{args:?}"), s);
    let _ = server.wait(Duration::from_secs(10));
    json
}

/// The JSON report of a finished iperf3 client, which must have succeeded.
fn iperf_report(out: &std::process::Output, what: &str, s: &Setup) -> String {
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && !json.contains("\"error\""),
        "iperf3 {what}: {json}{}\nrouter log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    json
}

/// A UDP report's datagrams sent and lost (its `end` section).
fn udp_sent_and_lost(json: &str) -> (f64, f64) {
    let end = &json[json.rfind("\"end\"").expect("end section")..];
    let packets = json_last(end, "packets").expect("packets");
    (
        packets,
        json_last(end, "lost_packets").expect("lost_packets"),
    )
}

/// An iperf3 TCP transfer completes both ways; UDP at a fixed rate
/// arrives with no loss, both ways.
fn tcp_and_udp(method: &str) {
    require(&["iperf3"]);
    let mut s = setup("iperf", method, NetOpts::default(), &DROP_HANDLERS);
    ping_all(&s, &s.net.a, B_IP, &[]);
    let mut lost = Vec::new();
    for dir in [&[][..], &["-R"][..]] {
        let mut args = vec!["-t", "2"];
        args.extend_from_slice(dir);
        let json = iperf(&s, &args);
        let bytes = json_last(&json, "bytes").unwrap_or(0.0);
        assert!(bytes > 1e6, "TCP {dir:?}: {bytes} bytes received\n{json}");
        let mut args = vec!["-u", "-b", "8M", "-l", "1000", "-t", "2"];
        args.extend_from_slice(dir);
        let json = iperf(&s, &args);
        let (packets, lost_now) = udp_sent_and_lost(&json);
        assert!(packets >= 1000.0, "UDP {dir:?}: {packets} packets\n{json}");
        lost.push(lost_now);
    }
    let (out, log) = s.stop();
    assert_eq!(
        lost,
        [0.0, 0.0],
        "UDP packets lost each way; the router's drops (kernel r0, r1; out0, out1; todevice0, 1): {out}\n{log}"
    );
}

/// host-b's link has an MTU of 1000: pings of 1400 bytes are fragmented
/// by the router on the way in and by host-b on the way back, and
/// answered; with DF set the router says what MTU to use.
fn fragments(method: &str) {
    let s = setup(
        "frag",
        method,
        NetOpts {
            mtu_b: Some(1000),
            ..NetOpts::default()
        },
        &["MTU1=1000"],
    );
    let n = &s.net;
    ping_all(&s, &n.a, B_IP, &["-s", "1400", "-M", "dont"]);
    ping_all(&s, &n.b, A_IP, &["-s", "1400", "-M", "dont"]);
    ping_all(&s, &n.a, B_IP, &["-s", "3000", "-M", "dont"]);
    let out = ping(&n.a, B_IP, &["-c", "1", "-s", "1400", "-M", "do"]);
    assert!(
        out.contains(&format!(
            "From {R0_IP} icmp_seq=1 Frag needed and DF set (mtu = 1000)"
        )),
        "DF ping over the small MTU: {out}"
    );
}

/// One line per captured frame: source and destination MAC, TTL, IP and
/// ICMP checksum status, ICMP type.
fn read_capture(ns: &Ns, file: &str) -> Vec<Vec<String>> {
    let fields = [
        "eth.src",
        "eth.dst",
        "ip.ttl",
        "ip.checksum.status",
        "icmp.checksum.status",
        "icmp.type",
        "ip.src",
    ];
    tshark_fields(ns, file, &["ip.check_checksum:TRUE"], &fields)
}

/// tcpdump on each host sees the router's work: requests from host-a
/// reach host-b with TTL 63, from the router's MAC to host-b's, and
/// replies the other way alike; IP and ICMP checksums good.
fn captures(method: &str) {
    require(&["tcpdump", "tshark"]);
    let s = setup("cap", method, NetOpts::default(), &[]);
    let n = &s.net;
    ping_all(&s, &n.a, B_IP, &["-c", "2"]);
    let fa = n.file("a.pcap");
    let fb = n.file("b.pcap");
    let fa = fa.to_str().unwrap();
    let fb = fb.to_str().unwrap();
    // Ping only once both captures are listening; immediate mode, or
    // libpcap hands frames over only when a ring block retires (up to a
    // second later) and tcpdump stopped before then has written none.
    let ta = n.a.spawn_ready(
        &[
            "tcpdump",
            "-n",
            "-U",
            "--immediate-mode",
            "-i",
            "a0",
            "-w",
            fa,
            "icmp",
        ],
        &n.file("a.tcpdump"),
        "listening on",
    );
    let tb = n.b.spawn_ready(
        &[
            "tcpdump",
            "-n",
            "-U",
            "--immediate-mode",
            "-i",
            "b0",
            "-w",
            fb,
            "icmp",
        ],
        &n.file("b.tcpdump"),
        "listening on",
    );
    ping_all(&s, &n.a, B_IP, &["-c", "5", "-t", "64"]);
    std::thread::sleep(Duration::from_millis(300));
    ta.signal(libc::SIGINT);
    tb.signal(libc::SIGINT);

    // On host-b's wire: requests (type 8) from the router to host-b,
    // TTL 64 - 1; its replies (type 0) leave with 64.
    let b = read_capture(&n.b, fb);
    let req: Vec<_> = b.iter().filter(|f| f[5] == "8").collect();
    assert_eq!(req.len(), 5, "requests seen by host-b: {b:?}");
    for f in &req {
        assert_eq!((f[0].as_str(), f[1].as_str()), (R1_MAC, B_MAC), "{f:?}");
        assert_eq!(f[2], "63", "TTL decremented once: {f:?}");
        assert_eq!(f[3], "1", "IP checksum good: {f:?}");
        assert_eq!(f[4], "1", "ICMP checksum good: {f:?}");
        assert_eq!(f[6], A_IP, "{f:?}");
    }
    // On host-a's wire: replies from the router to host-a, TTL 63.
    let a = read_capture(&n.a, fa);
    let rep: Vec<_> = a.iter().filter(|f| f[5] == "0").collect();
    assert_eq!(rep.len(), 5, "replies seen by host-a: {a:?}");
    for f in &rep {
        assert_eq!((f[0].as_str(), f[1].as_str()), (R0_MAC, A_MAC), "{f:?}");
        assert_eq!(f[2], "63", "TTL decremented once: {f:?}");
        assert_eq!(f[3], "1", "IP checksum good: {f:?}");
        assert_eq!(f[4], "1", "ICMP checksum good: {f:?}");
        assert_eq!(f[6], B_IP, "{f:?}");
    }
}

/// configs/ip-router.click is what make-ip-conf.py writes for it, so the
/// script and the shipped router do not drift apart.
#[test]
fn shipped_config_is_the_scripts_output() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("python3")
        .arg(root.join("configs/make-ip-conf.py"))
        .args([
            "eth0:10.1.1.1/24:02:00:00:00:01:01",
            "eth1:10.1.2.1/24:02:00:00:00:02:01",
        ])
        .output()
        .expect("python3 configs/make-ip-conf.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shipped = std::fs::read_to_string(root.join("configs/ip-router.click")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), shipped);
}

/// `router -j 2` on veths with two queues: one FromDevice per receive
/// queue and thread (an AF_XDP socket per queue, or a PACKET_FANOUT
/// group), the route and ARP tables shared by the threads' instances.
/// The same checks: pings both ways, ICMP errors, TCP and UDP both ways;
/// and both queues of each device carried packets.
fn two_threads(method: &str) {
    require(&["iperf3"]);
    let net = Net::new(
        "mq",
        NetOpts {
            queues: 2,
            ..NetOpts::default()
        },
    );
    let conf = net.file("ip-router-2.click");
    std::fs::write(&conf, make_ip_conf(&["--threads", "2", "--method", method])).unwrap();
    let mut args: Vec<String> = ["-j", "2", conf.to_str().unwrap()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for h in [
        "fromdevice0_0.count",
        "fromdevice0_1.count",
        "fromdevice1_0.count",
        "fromdevice1_1.count",
        "fromdevice0_1.method",
        "todevice1.method",
        "fromdevice0_0.kernel_drops",
        "fromdevice0_1.kernel_drops",
        "fromdevice1_0.kernel_drops",
        "fromdevice1_1.kernel_drops",
        "out0.drops",
        "out1.drops",
        "todevice0.drops",
        "todevice1.drops",
    ] {
        args.push("-h".into());
        args.push(h.into());
    }
    let mut s = start(net, &args);
    let n = &s.net;
    for (from, to) in [(&n.a, R0_IP), (&n.b, R0_IP), (&n.a, B_IP), (&n.b, A_IP)] {
        ping_all(&s, from, to, &[]);
    }
    let out = ping(&n.a, B_IP, &["-c", "1", "-t", "1"]);
    assert!(
        out.contains(&format!("From {R0_IP} icmp_seq=1 Time to live exceeded")),
        "TTL 1 ping: {out}"
    );
    let out = ping(&n.a, "10.9.9.9", &["-c", "1"]);
    assert!(
        out.contains(&format!(
            "From {R0_IP} icmp_seq=1 Destination Net Unreachable"
        )),
        "ping to an unrouted address: {out}"
    );
    let mut lost = Vec::new();
    // Eight connections each way: their hashes spread them over the
    // queues (all on one queue of a device: 2 in 2^16).
    for dir in [&[][..], &["-R"][..]] {
        let mut args = vec!["-t", "2", "-P", "8"];
        args.extend_from_slice(dir);
        let json = iperf(&s, &args);
        let bytes = json_last(&json, "bytes").unwrap_or(0.0);
        assert!(bytes > 1e6, "TCP {dir:?}: {bytes} bytes received\n{json}");
        // 500 packets a second: a fanout ring of a debug build starved on a
        // loaded machine overflowed at 1,000 (19 kernel drops in one run).
        let mut args = vec!["-u", "-b", "4M", "-l", "1000", "-t", "2"];
        args.extend_from_slice(dir);
        let json = iperf(&s, &args);
        let end = &json[json.rfind("\"end\"").expect("end section")..];
        lost.push(json_last(end, "lost_packets").expect("lost_packets"));
    }
    let (out, log) = s.stop();
    let v = handler_values(&out);
    // Drops (kernel, queues, devices) are handlers 7 to 14.
    assert_eq!(
        lost,
        [0.0, 0.0],
        "UDP packets lost each way; drops (kernel r0 q0, q1, r1 q0, q1; out0, out1; todevice0, 1): {:?}\n{log}",
        &v[6..]
    );
    for (i, count) in v[..4].iter().enumerate() {
        let c: u64 = count.parse().expect("count");
        assert!(
            c > 0,
            "queue {} of r{} received nothing: {out}\n{log}",
            i % 2,
            i / 2
        );
    }
    let name = if method == "PACKET" { "LINUX" } else { method };
    assert_eq!(v[4..6], [name; 2], "{out}");
}

/// A `hotconfig` write that adds a route while an iperf3 TCP transfer and
/// a fixed-rate UDP flow run: the new route works at once, the TCP
/// transfer ends normally (no reset, no error), and no UDP datagram is
/// lost: the devices' rings carry over to the new router, so frames that
/// arrive during the swap wait in them. The log says what the replaced
/// router dropped.
fn hot_swap(method: &str) {
    require(&["iperf3"]);
    let net = Net::new("swap", NetOpts::default());
    let conf = net.file("ip-router.click");
    std::fs::write(&conf, make_ip_conf(&["--method", method])).unwrap();
    let routed = make_ip_conf(&["--method", method, "--route", "10.9.0.0/16", B_IP]);
    let sock = net.file("control");
    let args: Vec<String> = [
        "-v",
        "-R",
        "-u",
        sock.to_str().unwrap(),
        conf.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let s = start(net, &args);
    let n = &s.net;
    // host-b has 10.9.9.9 too; the router has no route to it yet.
    n.b.ok(&["ip", "addr", "add", "10.9.9.9/32", "dev", "lo"]);
    let out = ping(&n.a, "10.9.9.9", &["-c", "1"]);
    assert!(
        out.contains("Destination Net Unreachable"),
        "before the swap: {out}"
    );

    let server = n.b.spawn(&["iperf3", "-s", "-1", "-B", B_IP]);
    let udp_server = n.b.spawn(&["iperf3", "-s", "-1", "-B", B_IP, "-p", "5202"]);
    std::thread::sleep(Duration::from_millis(500));
    // TCP at a rate the router keeps up with even on a loaded machine, so
    // that a UDP loss could only be the swap's.
    let client =
        n.a.spawn(&["iperf3", "-c", B_IP, "-J", "-t", "4", "-b", "100M"]);
    let udp_client = n.a.spawn(&[
        "iperf3", "-c", B_IP, "-p", "5202", "-J", "-u", "-b", "8M", "-l", "1000", "-t", "4",
    ]);
    std::thread::sleep(Duration::from_millis(1500));
    let reply = control(
        &sock,
        &format!("WRITEDATA hotconfig {}\r\n{routed}", routed.len()),
    );
    assert!(
        reply.contains("200"),
        "hotconfig write: {reply}\n{}",
        s.log()
    );
    let out = ping(&n.a, "10.9.9.9", &["-c", "3", "-i", "0.2"]);
    assert!(
        out.contains(" 0% packet loss"),
        "after the swap: {out}\n{}",
        s.log()
    );

    let json = iperf_report(&client.wait(Duration::from_secs(20)), "across the swap", &s);
    let bytes = json_last(&json, "bytes").unwrap_or(0.0);
    assert!(bytes > 1e6, "{bytes} bytes received\n{json}");
    let _ = server.wait(Duration::from_secs(10));

    let out = udp_client.wait(Duration::from_secs(20));
    let json = iperf_report(&out, "UDP across the swap", &s);
    let (packets, lost) = udp_sent_and_lost(&json);
    let _ = udp_server.wait(Duration::from_secs(10));
    assert!(packets >= 2000.0, "{packets} UDP packets\n{json}");
    let log = s.log();
    assert_eq!(lost, 0.0, "UDP packets lost across the swap\n{log}");
    assert!(
        log.contains("hot swap: the new configuration runs; the replaced one dropped")
            && log.contains("the replaced router's ring carries on"),
        "{log}"
    );
}
