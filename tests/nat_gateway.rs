//! configs/nat-gateway.click between an inside host and an outside host
//! in network namespaces, on each method (AF_PACKET and AF_XDP), checked
//! with real clients: ping, iperf3, tcpdump, tshark, and small Python
//! servers and clients. The harness (tests/common/netns.rs) builds
//!
//! ```text
//!   inside host                      gateway                        outside host
//!   a0 10.1.1.2 ── r0 10.1.1.1 [nat-gateway.click] 10.1.2.1 r1 ── b0 10.1.2.2
//! ```
//!
//! and tears it down, also when a check fails. The outside host is also
//! the gateway's default next hop and holds a far address (`FAR_IP`) of
//! its own. It routes everything via the gateway, inside addresses too:
//! the gateway itself must keep it out. Needs root and the clients
//! (`.ci/run` installs them); fails, never skips, without them.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::netns::*;

/// A second address of the inside host: a second inside host to the
/// gateway.
const A2_IP: &str = "10.1.1.3";
/// An address beyond the outside host, reached by the default route.
const FAR_IP: &str = "198.51.100.7";
/// The rate of the TCP transfers (see `tcp_and_udp`).
const TCP_RATE: &str = "200M";

fn router_bin() -> &'static str {
    env!("CARGO_BIN_EXE_router")
}

fn conf() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs/nat-gateway.click")
}

/// A network and the gateway running in its middle. Fields drop in
/// order: the router stops before the namespaces go.
struct Setup {
    router: Option<Router>,
    /// The router's control socket (a Unix socket in the scratch
    /// directory), for handler reads while traffic runs.
    sock: PathBuf,
    net: Net,
}

impl Setup {
    /// Stops the router: the `-h` handlers' values and its log.
    fn stop(&mut self) -> (String, String) {
        self.router.take().expect("router running").stop()
    }

    /// Reads `handler` through the control socket while the router runs.
    fn read(&self, handler: &str) -> String {
        let reply = control(&self.sock, &format!("READ {handler}\r\n"));
        assert!(
            reply.contains("200 Read handler"),
            "READ {handler}: {reply}\n{}",
            self.log()
        );
        reply
    }
}

impl RouterLog for Setup {
    fn log(&self) -> String {
        self.router.as_ref().map(Router::log).unwrap_or_default()
    }
}

/// Builds the network, starts configs/nat-gateway.click on `method` with
/// `-h` handlers `handlers` (printed when it stops), and waits until the
/// inside host reaches the gateway.
fn setup(tag: &str, method: &str, handlers: &[&str]) -> Setup {
    setup_with(tag, method, NetOpts::default(), &[], handlers)
}

/// As `setup`, with network options `opts` and `extra` settings
/// (NAME=VALUE) for the configuration.
fn setup_with(tag: &str, method: &str, opts: NetOpts, extra: &[&str], handlers: &[&str]) -> Setup {
    require(&["ip", "ethtool", "ping"]);
    let net = Net::new(tag, opts);
    // The far address: the outside host answers for it, and the
    // gateway reaches it through its default route.
    net.b
        .ok(&["ip", "addr", "add", &format!("{FAR_IP}/32"), "dev", "lo"]);
    let sock = net.file("control");
    let mut args: Vec<String> = vec!["-u".into(), sock.to_str().unwrap().into()];
    for h in handlers {
        args.push("-h".into());
        args.push(h.to_string());
    }
    args.push(conf().to_str().unwrap().into());
    for (k, v) in [
        ("IN_DEV", "r0"),
        ("IN_IP", R0_IP),
        ("IN_NET", "10.1.1.0/24"),
        ("IN_BCAST", "10.1.1.255"),
        ("IN_MAC", R0_MAC),
        ("OUT_DEV", "r1"),
        ("OUT_IP", R1_IP),
        ("OUT_NET", "10.1.2.0/24"),
        ("OUT_BCAST", "10.1.2.255"),
        ("OUT_MAC", R1_MAC),
        ("OUT_GW", B_IP),
        ("METHOD", method),
    ] {
        args.push(format!("{k}={v}"));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut router = net.start_router(router_bin(), &args);
    net.wait_reachable(&net.a, R0_IP, &mut router, Duration::from_secs(20));
    Setup {
        router: Some(router),
        sock,
        net,
    }
}

crate::on_each_method!(
    pings,
    tcp_and_udp,
    distinct_ports,
    outside_blocked,
    errors_and_fragments,
    icmp_errors_back
);

/// The shipped configuration checks clean with its defaults and with
/// README's example values (no devices or privileges needed).
#[test]
fn config_checks() {
    let conf = conf();
    let conf = conf.to_str().unwrap();
    common::router(&["--check", conf]);
    common::router(&[
        "--check",
        conf,
        "IN_IP=192.168.1.1",
        "IN_NET=192.168.1.0/24",
        "IN_BCAST=192.168.1.255",
        "OUT_IP=203.0.113.5",
        "OUT_NET=203.0.113.0/24",
        "OUT_BCAST=203.0.113.255",
        "OUT_GW=203.0.113.1",
        "NAT_PORTS=50000-65535#",
    ]);
}

/// Starts tcpdump on `dev` in `ns`, writing `file` with `filter`, and
/// waits until it listens; stop it with SIGINT.
fn capture(n: &Net, ns: &Ns, dev: &str, file: &str, filter: &str) -> Bg {
    ns.spawn_ready(
        &[
            "tcpdump",
            "-n",
            "-U",
            "--immediate-mode",
            "-i",
            dev,
            "-w",
            file,
            filter,
        ],
        &n.file(&format!("{dev}.tcpdump")),
        "listening on",
    )
}

/// One line per captured ICMP frame: IP source, destination, ICMP type,
/// identifier, and the IP and ICMP checksums' status (1: good).
fn read_icmp(ns: &Ns, file: &str) -> Vec<Vec<String>> {
    let fields = [
        "ip.src",
        "ip.dst",
        "icmp.type",
        "icmp.ident",
        "ip.checksum.status",
        "icmp.checksum.status",
    ];
    tshark_fields(ns, file, &["ip.check_checksum:TRUE"], &fields)
}

/// Pings from the inside host reach the outside host and the far address
/// behind it with no loss; the outside host sees them come from the
/// gateway's outside address, with good checksums, and answers that
/// address. The gateway's addresses answer pings (both from the inside,
/// the outside one from the outside), and `pingnat.table` lists the ping
/// flow while pings run.
fn pings(method: &str) {
    require(&["tcpdump", "tshark"]);
    let mut s = setup(
        "ping",
        method,
        &[
            "from_inside.method",
            "from_outside.method",
            "pingnat.table_size",
            "blocked.count",
        ],
    );
    let n = &s.net;
    ping_all(&s, &n.a, R0_IP, &[]);
    ping_all(&s, &n.a, R1_IP, &[]);
    ping_all(&s, &n.b, R1_IP, &[]);

    let fb = n.file("b.pcap");
    let fb = fb.to_str().unwrap();
    let tb = capture(n, &n.b, "b0", fb, "icmp");
    ping_all(&s, &n.a, B_IP, &["-c", "5"]);
    ping_all(&s, &n.a, FAR_IP, &["-c", "5"]);
    std::thread::sleep(Duration::from_millis(300));
    tb.signal(libc::SIGINT);
    let b = read_icmp(&n.b, fb);
    let req: Vec<_> = b.iter().filter(|f| f[2] == "8").collect();
    let rep: Vec<_> = b.iter().filter(|f| f[2] == "0").collect();
    assert_eq!(
        req.len(),
        10,
        "echo requests seen by the outside host: {b:?}"
    );
    assert_eq!(
        rep.len(),
        10,
        "echo replies sent by the outside host: {b:?}"
    );
    for f in &req {
        assert_eq!(f[0], R1_IP, "requests come from the gateway: {f:?}");
        assert!(f[1] == B_IP || f[1] == FAR_IP, "{f:?}");
        assert_eq!(
            (f[4].as_str(), f[5].as_str()),
            ("1", "1"),
            "checksums: {f:?}"
        );
    }
    for f in &rep {
        assert_eq!(f[1], R1_IP, "replies go to the gateway: {f:?}");
    }
    assert!(
        !b.iter().any(|f| f.contains(&A_IP.to_string())),
        "the inside address leaked to the outside: {b:?}"
    );

    // The table while a ping runs: the inside host's echo to the far
    // address, mapped to the outside address.
    let pinger = n.a.spawn(&["ping", "-n", "-c", "20", "-i", "0.1", FAR_IP]);
    std::thread::sleep(Duration::from_millis(700));
    let table = s.read("pingnat.table");
    let _ = pinger.wait(Duration::from_secs(10));
    let flow = table
        .lines()
        .find(|l| l.starts_with(&format!("({A_IP}, ")) && l.contains(FAR_IP))
        .unwrap_or_else(|| panic!("no ping flow from {A_IP} to {FAR_IP}: {table}"));
    assert!(
        flow.contains(&format!("=> ({R1_IP}, ")),
        "mapped to the outside address: {flow}"
    );

    let (out, log) = s.stop();
    let v = handler_values(&out);
    let name = if method == "PACKET" { "LINUX" } else { method };
    assert_eq!(v[..2], [name; 2], "methods used: {out}\n{log}");
    let flows: u64 = v[2].parse().expect("pingnat.table_size");
    assert!(flows >= 3, "ping flows made: {out}\n{log}");
    assert_eq!(v[3], "0", "nothing was blocked: {out}\n{log}");
}

/// Every string value of `"key"` in `json`.
fn json_strings<'a>(json: &'a str, key: &str) -> Vec<&'a str> {
    let pat = format!("\"{key}\":");
    json.match_indices(&pat)
        .filter_map(|(at, _)| {
            let rest = json[at + pat.len()..].trim_start().strip_prefix('"')?;
            Some(&rest[..rest.find('"')?])
        })
        .collect()
}

/// Runs an iperf3 client in the inside host against a one-off server in
/// the outside host, reading `handler` through the control socket a
/// second in: the client's and the server's JSON, and the handler's
/// text.
fn iperf(s: &Setup, args: &[&str], handler: &str) -> (String, String, String) {
    let n = &s.net;
    let server = n.b.spawn(&["iperf3", "-s", "-1", "-J", "-B", B_IP]);
    std::thread::sleep(Duration::from_millis(500));
    let mut argv = vec!["iperf3", "-c", B_IP, "-J"];
    argv.extend_from_slice(args);
    let client = n.a.spawn(&argv);
    std::thread::sleep(Duration::from_millis(1200));
    let table = s.read(handler);
    let out = client.wait(Duration::from_secs(30));
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && !json.contains("\"error\""),
        "iperf3 {args:?}: {json}{}\nrouter log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    let server = server.wait(Duration::from_secs(10));
    let server = String::from_utf8_lossy(&server.stdout).into_owned();
    (json, server, table)
}

/// Every number value of `"key"` in `json`.
fn json_numbers(json: &str, key: &str) -> Vec<f64> {
    let pat = format!("\"{key}\":");
    json.match_indices(&pat)
        .filter_map(|(at, _)| {
            let rest = json[at + pat.len()..].trim_start();
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            rest[..end].parse().ok()
        })
        .collect()
}

/// Asserts that the outside host's iperf3 server saw only the gateway's
/// outside address as its client, from ports of the NAT's range, and
/// that `table` (the NAT's table read while the test ran) mapped a flow
/// of the inside host to each of those ports.
fn assert_client_is_gateway(server: &str, table: &str, what: &str) {
    let hosts = json_strings(server, "remote_host");
    assert!(
        !hosts.is_empty() && hosts.iter().all(|h| *h == R1_IP),
        "{what}: the server's clients: {hosts:?}\n{server}"
    );
    assert!(
        !server.contains(A_IP),
        "{what}: the inside address reached the outside:\n{server}"
    );
    let ports: Vec<u16> = json_numbers(server, "remote_port")
        .into_iter()
        .map(|p| p as u16)
        .collect();
    let mapped = mapped_ports(table, 5201);
    assert!(!ports.is_empty(), "{what}: no client port:\n{server}");
    for p in &ports {
        assert!(
            (20000..=65535).contains(p),
            "{what}: client port {p} not from the NAT's range"
        );
        assert!(
            mapped.contains(p),
            "{what}: the server saw port {p}; the NAT's table while it ran: {table}"
        );
    }
}

/// The table lines of the flows from the inside host to the outside
/// host's `port`, and the outside port each was mapped to.
fn mapped_ports(table: &str, port: u16) -> Vec<u16> {
    let prefix = format!("({A_IP}, ");
    table
        .lines()
        .filter(|l| l.starts_with(&prefix) && l.contains(&format!("{B_IP}, {port})")))
        .filter_map(|l| {
            let rewritten = l.split("=> (").nth(1)?;
            let mut words = rewritten.split(", ");
            (words.next()? == R1_IP).then_some(())?;
            words.next()?.parse().ok()
        })
        .collect()
}

/// An iperf3 TCP transfer from the inside host to the outside host
/// completes both ways (-R), and UDP at a fixed rate arrives without a
/// loss both ways; the outside host's server sees the gateway's outside
/// address as its client, and the NAT's tables list the flows while the
/// transfers run.
fn tcp_and_udp(method: &str) {
    require(&["iperf3"]);
    let mut s = setup(
        "iperf",
        method,
        &[
            "from_inside.kernel_drops",
            "from_outside.kernel_drops",
            "q_inside.drops",
            "q_outside.drops",
            "blocked.count",
            "refused.count",
            "nat.mapping_failures",
        ],
    );
    ping_all(&s, &s.net.a, B_IP, &[]);
    let mut lost = Vec::new();
    for dir in [&[][..], &["-R"][..]] {
        // TCP at a bounded rate: unbounded, a debug router and the hosts
        // take both cores, and another test's UDP run at the same time
        // (this binary's tests run in parallel) loses datagrams in
        // starved rings and sockets, which is not this gateway's doing.
        let mut args = vec!["-t", "3", "-b", TCP_RATE];
        args.extend_from_slice(dir);
        let (json, server, table) = iperf(&s, &args, "nat.tcp_table");
        let bytes = json_last(&json, "bytes").unwrap_or(0.0);
        assert!(bytes > 1e6, "TCP {dir:?}: {bytes} bytes received\n{json}");
        assert_client_is_gateway(&server, &table, &format!("TCP {dir:?}"));

        let mut args = vec!["-u", "-b", "8M", "-l", "1000", "-t", "3"];
        args.extend_from_slice(dir);
        let (json, server, table) = iperf(&s, &args, "nat.udp_table");
        let end = &json[json.rfind("\"end\"").expect("end section")..];
        let packets = json_last(end, "packets").expect("packets");
        assert!(packets >= 2000.0, "UDP {dir:?}: {packets} packets\n{json}");
        lost.push(json_last(end, "lost_packets").expect("lost_packets"));
        assert_client_is_gateway(&server, &table, &format!("UDP {dir:?}"));
    }
    let (out, log) = s.stop();
    let v = handler_values(&out);
    assert_eq!(
        lost,
        [0.0, 0.0],
        "UDP packets lost each way; kernel drops inside, outside; queue drops inside, outside: {:?}\n{log}",
        &v[..4]
    );
    assert_eq!(v[4..], ["0", "0", "0"], "blocked, refused, failures: {out}");
}

/// A UDP and TCP echo server on the outside host: it reports each
/// client it sees (`udp ADDR PORT`, `tcp ADDR PORT` on standard error)
/// and echoes what the client sent.
const ECHO_SERVER: &str = r#"
import select, socket, sys
addr = sys.argv[1]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((addr, 7000))
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((addr, 7001))
t.listen(8)
print("ready", file=sys.stderr, flush=True)
for _ in range(4):
    r, _, _ = select.select([u, t], [], [])
    if u in r:
        d, a = u.recvfrom(100)
        print("udp", a[0], a[1], file=sys.stderr, flush=True)
        u.sendto(d, a)
    else:
        c, a = t.accept()
        print("tcp", a[0], a[1], file=sys.stderr, flush=True)
        c.settimeout(3)
        c.sendall(c.recv(100))
        c.close()
"#;

/// A client of ECHO_SERVER: from `src`, port `sport`, one UDP datagram
/// (to port 7000) and one TCP connection (7001, from `sport` + 1), each
/// answered; prints `ok` when both came back.
const ECHO_CLIENT: &str = r#"
import socket, sys
src, sport, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
msg = ("hello from " + src).encode()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((src, sport))
u.settimeout(3)
u.sendto(msg, (dst, 7000))
assert u.recvfrom(100)[0] == msg, "udp echo"
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((src, sport + 1))
t.settimeout(3)
t.connect((dst, 7001))
t.sendall(msg)
assert t.recv(100) == msg, "tcp echo"
t.close()
print("ok")
"#;

/// Pings from each of `argv[2:]` to `argv[1]`, all with identifier 1234,
/// twice over, on raw sockets: prints `ok` when each source got its own
/// replies (to its address, with its payload and identifier 1234, both
/// checksums good).
const SAME_ID_PINGS: &str = r#"
import socket, struct, sys
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
dst, srcs = sys.argv[1], sys.argv[2:]
socks = []
for src in srcs:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.bind((src, 0))
    s.settimeout(3)
    socks.append((src, s))
for seq in range(2):
    for src, s in socks:
        data = ("from " + src).encode()
        h = struct.pack("!BBHHH", 8, 0, 0, 1234, seq)
        s.sendto(struct.pack("!BBHHH", 8, 0, csum(h + data), 1234, seq) + data, (dst, 0))
    for src, s in socks:
        while True:
            d = s.recv(200)
            hl = (d[0] & 15) * 4
            t, _, _, ident, sq = struct.unpack("!BBHHH", d[hl:hl + 8])
            if t == 0 and socket.inet_ntoa(d[16:20]) == src:
                break
        assert (ident, sq) == (1234, seq), (src, ident, sq)
        assert d[hl + 8:] == ("from " + src).encode(), (src, d)
        assert csum(d[:hl]) == 0 and csum(d[hl:]) == 0, (src, "checksum")
print("ok")
"#;

/// The identifier the ping flow of `src` to the outside host with
/// identifier `id` has outside, from `pingnat.table`'s text.
fn outside_id(table: &str, src: &str, id: u16) -> u16 {
    let line = table
        .lines()
        .find(|l| l.starts_with(&format!("({src}, {B_IP}, {id}) => ({R1_IP}, {B_IP}, ")))
        .unwrap_or_else(|| panic!("no ping flow of {src}: {table}"));
    let rewritten = line.split("=> (").nth(1).expect("a mapping");
    let rewritten = &rewritten[..rewritten.find(')').expect("a mapping")];
    rewritten
        .split(", ")
        .nth(2)
        .expect("an identifier")
        .parse()
        .expect("a number")
}

/// Two inside hosts use the same source port to the same outside
/// service, by UDP and by TCP: the outside host sees two distinct ports
/// of the gateway's outside address (the first flow kept its own port,
/// which is in the NAT's range and was free), and each answer reaches
/// the host that asked. Their pings with one identifier get distinct
/// identifiers outside (`pingnat.table`), and each its own replies.
fn distinct_ports(method: &str) {
    require(&["python3"]);
    let mut s = setup(
        "ports",
        method,
        &["nat.table_size", "pingnat.table_size", "blocked.count"],
    );
    let n = &s.net;
    n.a.ok(&["ip", "addr", "add", &format!("{A2_IP}/24"), "dev", "a0"]);
    let log = n.file("echo.log");
    let server =
        n.b.spawn_ready(&["python3", "-c", ECHO_SERVER, B_IP], &log, "ready");
    for src in [A_IP, A2_IP] {
        let out =
            n.a.exec(&["python3", "-c", ECHO_CLIENT, src, "40000", B_IP]);
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ok"),
            "echo client from {src}: {}{}\nserver: {}\nrouter log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default(),
            s.log()
        );
    }
    let _ = server.wait(Duration::from_secs(5));
    let seen = std::fs::read_to_string(&log).unwrap();
    for (proto, own) in [("udp", 40000u16), ("tcp", 40001)] {
        let clients: Vec<(String, u16)> = seen
            .lines()
            .filter_map(|l| {
                let w: Vec<&str> = l.split(' ').collect();
                (w.len() == 3 && w[0] == proto).then(|| (w[1].to_string(), w[2].parse().unwrap()))
            })
            .collect();
        assert_eq!(clients.len(), 2, "{proto} clients seen: {seen}");
        assert!(
            clients.iter().all(|(a, _)| a == R1_IP),
            "{proto}: the outside host saw {clients:?}"
        );
        let (p1, p2) = (clients[0].1, clients[1].1);
        assert_ne!(p1, p2, "{proto}: both inside hosts got one port");
        assert_eq!(p1, own, "{proto}: the first flow keeps its free port");
        assert!((20000..=65535).contains(&p2), "{proto}: port {p2}");
    }

    let out =
        n.a.exec(&["python3", "-c", SAME_ID_PINGS, B_IP, A_IP, A2_IP]);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ok"),
        "pings with one identifier: {}{}\nrouter log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    let table = s.read("pingnat.table");
    let ids: Vec<u16> = [A_IP, A2_IP]
        .iter()
        .map(|src| outside_id(&table, src, 1234))
        .collect();
    assert_eq!(ids[0], 1234, "the first keeps its free identifier: {table}");
    assert_ne!(ids[0], ids[1], "one outside identifier for both: {table}");

    let (out, log) = s.stop();
    let v = handler_values(&out);
    assert_eq!(
        v,
        ["4", "2", "0"],
        "flows made (TCP and UDP, ping), blocked: {out}\n{log}"
    );
}

/// A TCP and UDP listener on the inside host: it reports what reached
/// it (`tcp ADDR`, `udp ADDR` on standard output) for `secs` seconds.
/// First it opens a UDP flow of its own, from port 40000 to port 7000
/// of `outside`, and reports what comes back to that port (`flow ADDR
/// PORT`).
const INSIDE_LISTENER: &str = r#"
import select, socket, sys, time
addr, secs, outside = sys.argv[1], float(sys.argv[2]), sys.argv[3]
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((addr, 7002))
t.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((addr, 7003))
f = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
f.bind((addr, 40000))
f.sendto(b"out", (outside, 7000))
print("ready", file=sys.stderr, flush=True)
end = time.time() + secs
while time.time() < end:
    r, _, _ = select.select([t, u, f], [], [], max(0, end - time.time()))
    if t in r:
        print("tcp", t.accept()[1][0], flush=True)
    if u in r:
        print("udp", u.recvfrom(100)[1][0], flush=True)
    if f in r:
        a = f.recvfrom(100)[1]
        print("flow", a[0], a[1], flush=True)
"#;

/// Sends a UDP datagram from port `sport` of the outside host to
/// (`addr`, `port`).
const OUTSIDE_DATAGRAM: &str = r#"
import socket, sys
src, sport, addr, port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((src, sport))
u.sendto(b"knock", (addr, port))
"#;

/// Tries, from the outside host, a TCP connection to (`addr`, `port`)
/// (2 s) and sends a UDP datagram to (`addr`, `port` + 1): prints
/// `connected` or `refused` or `timeout`.
const OUTSIDE_PROBE: &str = r#"
import socket, sys
addr, port = sys.argv[1], int(sys.argv[2])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"knock", (addr, port + 1))
t = socket.socket()
t.settimeout(2)
try:
    t.connect((addr, port))
    print("connected")
except socket.timeout:
    print("timeout")
except OSError as e:
    print("refused", e)
"#;

/// The outside host cannot reach the inside host: pings to its address
/// go unanswered, a TCP connection to a port it listens on times out and
/// a UDP datagram never arrives; a TCP connection and a datagram to the
/// gateway's outside address on a port no flow maps go nowhere either.
/// A flow's outside port takes answers from the flow's far end only:
/// a datagram to it from another port of the outside host is dropped,
/// one from the far end's port arrives. The gateway counts what it
/// dropped (`blocked.count`), and the inside host still reaches the
/// outside afterwards.
fn outside_blocked(method: &str) {
    require(&["python3"]);
    let mut s = setup("block", method, &["blocked.count", "nat.table_size"]);
    let n = &s.net;
    ping_all(&s, &n.a, B_IP, &["-c", "2"]);
    let inside_log = n.file("inside.log");
    let listener = n.a.spawn_ready(
        &["python3", "-c", INSIDE_LISTENER, A_IP, "8", B_IP],
        &inside_log,
        "ready",
    );
    let start = Instant::now();
    // The listener's own flow and its port outside.
    std::thread::sleep(Duration::from_millis(300));
    let table = s.read("nat.udp_table");
    let prefix = format!("({A_IP}, 40000, {B_IP}, 7000) => ({R1_IP}, ");
    let port = table
        .lines()
        .find_map(|l| l.strip_prefix(&prefix)?.split(',').next())
        .unwrap_or_else(|| panic!("no flow from {A_IP} port 40000: {table}"))
        .to_string();
    for sport in ["7001", "7000"] {
        n.b.ok(&["python3", "-c", OUTSIDE_DATAGRAM, B_IP, sport, R1_IP, &port]);
    }

    let out = ping(&n.b, A_IP, &["-c", "3", "-i", "0.2"]);
    assert!(
        out.contains("100% packet loss"),
        "the outside host pinged the inside host: {out}"
    );
    for (addr, what) in [(A_IP, "the inside host"), (R1_IP, "the gateway")] {
        let out = n.b.exec(&["python3", "-c", OUTSIDE_PROBE, addr, "7002"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("timeout"),
            "TCP from the outside host to {what}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The listener runs out its time: nothing reached it.
    let left = Duration::from_secs(12).saturating_sub(start.elapsed());
    let heard = listener.wait(left);
    let heard = String::from_utf8_lossy(&heard.stdout).into_owned();
    assert_eq!(
        heard,
        format!("flow {B_IP} 7000\n"),
        "what reached the inside host"
    );

    // The inside still gets out, and its answers in.
    ping_all(&s, &n.a, B_IP, &["-c", "3"]);
    let (out, log) = s.stop();
    let v = handler_values(&out);
    let blocked: u64 = v[0].parse().expect("blocked.count");
    // 3 pings, the datagram from the wrong port, and per probe a
    // datagram and at least two SYNs (the first and its retransmission
    // after 1 s).
    assert!(blocked >= 3 + 1 + 2 * 3, "blocked.count: {out}\n{log}");
    assert_eq!(v[1], "1", "the inside's flow only: {out}\n{log}");
}

/// The outside link has an MTU of 1000. The gateway's ICMP errors about
/// inside hosts' packets reach the inside host from the gateway's inside
/// address (they are made before the translation): time exceeded for a
/// TTL-1 ping, and fragmentation needed for a 1400-byte ping with DF
/// set. Without DF, 1400- and 3000-byte pings (the latter fragmented by
/// the inside host) get through both ways: the gateway reassembles them
/// for the rewriter and fragments them for the link, and every fragment
/// on the outside link carries the gateway's outside address. TCP finds
/// the smaller MTU (path MTU discovery through the NAT).
fn errors_and_fragments(method: &str) {
    require(&["tcpdump", "tshark", "iperf3"]);
    let s = setup_with(
        "frag",
        method,
        NetOpts {
            mtu_b: Some(1000),
            ..NetOpts::default()
        },
        &["OUT_MTU=1000"],
        &[],
    );
    let n = &s.net;
    for to in [B_IP, FAR_IP] {
        let out = ping(&n.a, to, &["-c", "1", "-t", "1"]);
        assert!(
            out.contains(&format!("From {R0_IP} icmp_seq=1 Time to live exceeded")),
            "TTL 1 ping to {to}: {out}\n{}",
            s.log()
        );
    }
    ping_all(&s, &n.a, FAR_IP, &["-t", "2"]);
    let out = ping(&n.a, FAR_IP, &["-c", "1", "-s", "1400", "-M", "do"]);
    assert!(
        out.contains(&format!(
            "From {R0_IP} icmp_seq=1 Frag needed and DF set (mtu = 1000)"
        )),
        "DF ping over the small MTU: {out}\n{}",
        s.log()
    );

    let fb = n.file("frag.pcap");
    let fb = fb.to_str().unwrap();
    let tb = capture(n, &n.b, "b0", fb, "ip");
    ping_all(&s, &n.a, FAR_IP, &["-c", "5", "-s", "1400", "-M", "dont"]);
    ping_all(&s, &n.a, B_IP, &["-c", "5", "-s", "3000", "-M", "dont"]);
    std::thread::sleep(Duration::from_millis(300));
    tb.signal(libc::SIGINT);
    // Each fragment as it was, not the datagram they make.
    let frames = tshark_fields(
        &n.b,
        fb,
        &["ip.defragment:FALSE"],
        &["ip.src", "ip.dst", "ip.frag_offset", "ip.len"],
    );
    let from_gateway: Vec<_> = frames.iter().filter(|f| f[0] == R1_IP).collect();
    // 5 pings in 2 fragments, 5 in 4 (3028 bytes over 976-byte pieces).
    assert!(
        from_gateway.len() >= 5 * 2 + 5 * 4,
        "frames from the gateway: {frames:?}"
    );
    assert!(
        from_gateway.iter().any(|f| f[2] != "0"),
        "no later fragment from the gateway: {frames:?}"
    );
    for f in &frames {
        assert!(
            !f.iter().any(|field| field == A_IP),
            "the inside address on the outside link: {f:?}"
        );
        let len: u32 = f[3].parse().unwrap_or(0);
        assert!(len <= 1000, "a frame over the link's MTU: {f:?}");
    }

    let server = n.b.spawn(&["iperf3", "-s", "-1", "-B", B_IP]);
    std::thread::sleep(Duration::from_millis(500));
    let out =
        n.a.exec(&["iperf3", "-c", B_IP, "-J", "-t", "2", "-b", TCP_RATE]);
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && !json.contains("\"error\""),
        "iperf3 over the small MTU: {json}{}\nrouter log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    let bytes = json_last(&json, "bytes").unwrap_or(0.0);
    assert!(bytes > 1e6, "TCP over the small MTU: {bytes} bytes\n{json}");
    let _ = server.wait(Duration::from_secs(10));
}

/// An address on a link of the outside host's own (a veth pair with
/// both ends in its namespace, MTU 1000): a datagram to it is forwarded
/// by the outside host.
const BEYOND_IP: &str = "10.1.3.2";

/// From `argv[1]` (the inside host's address), three UDP probes on
/// sockets with IP_RECVERR, each connected to its destination: to a
/// closed port of `argv[2]`; to port 33434 of `argv[3]` with TTL 2; to
/// port 33435 of `argv[3]`, 1200 bytes with DF set. For each it reads
/// the error the kernel put on the socket's error queue (the kernel
/// puts it there only when the quoted packet's addresses and ports are
/// the socket's) and the ICMP error itself from a raw socket, and
/// checks the latter: addressed to the inside host, quoting the probe
/// as the inside host sent it (addresses, ports, payload), the outer IP,
/// ICMP and quoted IP checksums good, and the quoted UDP checksum good
/// when the whole datagram is quoted. Prints per probe: its name, the
/// ICMP type and code, the socket's errno name, the error's info (the
/// MTU for fragmentation needed) and who sent the error, then the
/// quoted UDP checksum's state (`whole`: checked good; `cut`: the
/// datagram was not all quoted).
const ERROR_PROBES: &str = r#"
import errno, socket, struct, sys, time
me, host, beyond = sys.argv[1], sys.argv[2], sys.argv[3]
IP_RECVERR, IP_MTU_DISCOVER, IP_PMTUDISC_DO = 11, 10, 2
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
raw.settimeout(3)
def probe(name, dst, port, size, ttl=None, df=False):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    if ttl:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
    if df:
        s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    s.bind((me, 0))
    s.connect((dst, port))
    sport = s.getsockname()[1]
    payload = (name.encode() + b" ") * (size // (len(name) + 1) + 1)
    payload = payload[:size]
    s.send(payload)
    end = time.time() + 3
    while True:
        try:
            data, anc, _, _ = s.recvmsg(2048, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
            break
        except BlockingIOError:
            assert time.time() < end, name + ": no error on the socket"
            time.sleep(0.05)
    assert payload.startswith(data), (name, "the error queue's payload", data[:40])
    ee = [d for (lvl, typ, d) in anc if lvl == socket.IPPROTO_IP and typ == IP_RECVERR]
    assert ee, (name, anc)
    err, origin, etype, ecode, _, info, _ = struct.unpack("=IBBBBII", ee[0][:16])
    assert origin == 2, (name, "not from ICMP", origin)
    offender = socket.inet_ntoa(ee[0][20:24])
    # The same error as it arrived.
    while True:
        d = raw.recv(2048)
        hl = (d[0] & 15) * 4
        icmp = d[hl:]
        q = icmp[8:]
        qhl = (q[0] & 15) * 4
        if icmp[0] in (3, 11) and q[9] == 17 and struct.unpack("!H", q[qhl:qhl + 2])[0] == sport:
            break
    assert socket.inet_ntoa(d[16:20]) == me, (name, "to", socket.inet_ntoa(d[16:20]))
    assert socket.inet_ntoa(d[12:16]) == offender, (name, "from")
    assert (icmp[0], icmp[1]) == (etype, ecode), name
    assert csum(d[:hl]) == 0, (name, "outer IP checksum")
    assert csum(icmp) == 0, (name, "ICMP checksum")
    assert csum(q[:qhl]) == 0, (name, "quoted IP checksum")
    assert socket.inet_ntoa(q[12:16]) == me, (name, "quoted source", socket.inet_ntoa(q[12:16]))
    assert socket.inet_ntoa(q[16:20]) == dst, (name, "quoted destination")
    u = q[qhl:]
    qsport, qdport, ulen, usum = struct.unpack("!HHHH", u[:8])
    assert (qsport, qdport) == (sport, port), (name, "quoted ports", qsport, qdport)
    assert payload.startswith(u[8:ulen]), (name, "quoted payload")
    if len(u) >= ulen and usum != 0:
        pseudo = q[12:20] + struct.pack("!BBH", 0, 17, ulen)
        assert csum(pseudo + u[:ulen]) == 0, (name, "quoted UDP checksum")
        udp = "whole"
    else:
        udp = "cut"
    print(name, etype, ecode, errno.errorcode[err], info, offender, udp, flush=True)
probe("closed", host, 7999, 40)
probe("ttl", beyond, 33434, 40, ttl=2)
probe("big", beyond, 33435, 1200, df=True)
"#;

/// From the outside host at `argv[1]` to the gateway at `argv[2]`, an
/// ICMP port unreachable about a UDP datagram from the gateway's port
/// 12345 that no flow of the inside sent.
const STRAY_ERROR: &str = r#"
import socket, struct, sys
me, gw = sys.argv[1], sys.argv[2]
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 1, 0, 64, 17, 0, socket.inet_aton(gw), socket.inet_aton(me))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
quote = ip + struct.pack("!HHHH", 12345, 7998, 8, 0)
icmp = struct.pack("!BBHI", 3, 3, 0, 0) + quote
icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.sendto(icmp, (gw, 0))
"#;

/// ICMP errors from beyond the gateway about its translated flows reach
/// the inside host (icmpnat): port unreachable from the outside host for
/// a UDP datagram to a closed port; time exceeded from the outside host,
/// made a router toward a link behind it (`BEYOND_IP`), for a TTL-2
/// probe to that link (the gateway takes one hop, the outside host the second),
/// for UDP and for a ping (traceroute's two kinds); fragmentation needed
/// (MTU 1000) from the outside host for a 1200-byte DF datagram toward
/// that link. Each arrives addressed to the inside host and quoting its
/// probe as it sent it, with good checksums (ERROR_PROBES), so the
/// inside host's kernel hands it to the probe's socket. An ICMP error
/// about no flow of the inside is blocked and counted.
fn icmp_errors_back(method: &str) {
    require(&["python3"]);
    let mut s = setup("icmperr", method, &["blocked.count"]);
    let n = &s.net;
    for cmd in [
        "ip link add b1 mtu 1000 type veth peer name b2 mtu 1000",
        "ip link set b2 up",
        "ip link set b1 up",
        "ip addr add 10.1.3.1/24 dev b1",
        "sysctl -qw net.ipv4.ip_forward=1",
    ] {
        n.b.sh(cmd);
    }
    let out = ping(&n.a, BEYOND_IP, &["-c", "1", "-t", "2"]);
    assert!(
        out.contains(&format!("From {B_IP} icmp_seq=1 Time to live exceeded")),
        "TTL 2 ping beyond the outside host: {out}\n{}",
        s.log()
    );
    let out =
        n.a.exec(&["python3", "-c", ERROR_PROBES, A_IP, B_IP, BEYOND_IP]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "error probes: {text}{}\nrouter log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            format!("closed 3 3 ECONNREFUSED 0 {B_IP} whole"),
            format!("ttl 11 0 EHOSTUNREACH 0 {B_IP} whole"),
            format!("big 3 4 EMSGSIZE 1000 {B_IP} cut"),
        ],
        "the errors the inside host got"
    );
    n.b.ok(&["python3", "-c", STRAY_ERROR, B_IP, R1_IP]);
    std::thread::sleep(Duration::from_millis(300));
    let (out, log) = s.stop();
    let v = handler_values(&out);
    assert_eq!(v, ["1"], "blocked: the stray error only: {out}\n{log}");
}
