//! The device elements from the binary, on veth pairs in namespaces of
//! the tests' own: Click's own device configurations load unchanged and
//! run, and under load a forwarding router makes at most one system call
//! per 16 packets, counted by `strace -c -f` (see docs/PERFORMANCE.md).
//! Needs root, ip, ethtool and strace: fails, never skips, without them.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use netmap_io::testnet::{frame, seq_of, Netns, RawSocket};

fn router_bin() -> &'static str {
    env!("CARGO_BIN_EXE_router")
}

fn click_conf(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/click-conf")
        .join(name);
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

/// Stops a router child as Ctrl-C would, and waits for it.
fn interrupt(child: &mut std::process::Child) -> std::process::Output {
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let mut out = std::process::Output {
        status: child.wait().expect("wait"),
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    use std::io::Read;
    if let Some(mut s) = child.stdout.take() {
        s.read_to_end(&mut out.stdout).unwrap();
    }
    if let Some(mut s) = child.stderr.take() {
        s.read_to_end(&mut out.stderr).unwrap();
    }
    out
}

/// Click's test-device.click, unchanged: `FromDevice(eth0) -> Print(ok)
/// -> Discard`, with eth0 one end of a veth pair.
#[test]
fn click_test_device_conf_runs_unchanged() {
    let ns = Netns::new("testdev");
    ns.veth("eth0", "peer0", 1);
    ns.enter();
    let mut child = ns
        .command(router_bin())
        .arg(click_conf("test-device.click"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run router");
    // The ring is set up within a few milliseconds; give it plenty.
    std::thread::sleep(Duration::from_millis(500));
    let sock = RawSocket::open("peer0");
    for i in 0..5 {
        sock.send(&frame(i, 80));
    }
    std::thread::sleep(Duration::from_millis(300));
    let out = interrupt(&mut child);
    let err = String::from_utf8_lossy(&out.stderr);
    let lines = err.lines().filter(|l| l.starts_with("ok:")).count();
    assert_eq!(lines, 5, "Print(ok) lines: {err}");
    assert!(err.lines().all(|l| !l.contains("panicked")), "{err}");
}

/// The device lines of Click's ip-router-default.click, unchanged:
/// `PollDevice(ethN) -> cN` and `outN :: Queue(200) -> todeviceN ::
/// ToDevice(ethN)`. The rest of that configuration (Classifier, ARP, the
/// IP path) needs elements of later issues, so here each `cN` is a
/// Counter crossing over to the other device's queue: frames sent into
/// eth0 come out of eth1 and back.
#[test]
fn ip_router_default_device_lines_run_unchanged() {
    let text = std::fs::read_to_string(click_conf("ip-router-default.click")).unwrap();
    let device_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("PollDevice(") || l.contains("ToDevice("))
        .collect();
    assert_eq!(device_lines.len(), 4, "{device_lines:?}");
    let config = format!(
        "c0 :: Counter;\nc1 :: Counter;\n{}\nc0 -> out1;\nc1 -> out0;\n",
        device_lines.join("\n")
    );
    let ns = Netns::new("iprouter");
    ns.veth("eth0", "peer0", 1);
    ns.veth("eth1", "peer1", 1);
    ns.enter();
    let mut child = ns
        .command(router_bin())
        .args(["-v", "-e", &config])
        .args(["-h", "c0.count", "-h", "c1.count", "-h", "todevice1.count"])
        .args(["-h", "todevice1.method", "-h", "PollDevice@3.method"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run router");
    std::thread::sleep(Duration::from_millis(500));
    let in0 = RawSocket::open("peer0");
    let out1 = RawSocket::open("peer1");
    let frames: Vec<Vec<u8>> = (0..100).map(|i| frame(i, 60 + i as usize)).collect();
    for f in &frames {
        in0.send(f);
    }
    let got = out1.recv_up_to(frames.len(), Duration::from_secs(3));
    let out = interrupt(&mut child);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(got.len(), frames.len(), "frames through: {stderr}");
    assert!(
        got.iter().zip(&frames).all(|(g, f)| g == f),
        "frames changed or reordered: first got seq {:?}",
        got.first().and_then(|g| seq_of(g))
    );
    let values: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.ends_with(':') && !l.is_empty())
        .collect();
    assert!(values.len() >= 5, "{stdout}\n{stderr}");
    assert_eq!(values[0], "100", "c0.count: {stdout}");
    assert_eq!(values[2], "100", "todevice1.count: {stdout}");
    // PollDevice takes the frames from the kernel: XDP where it works.
    assert_eq!(values[4], "XDP", "{stdout}\n{stderr}");
}

/// Total calls in an `strace -c` summary.
fn strace_total(summary: &str) -> u64 {
    let line = summary
        .lines()
        .find(|l| l.trim_end().ends_with("total"))
        .unwrap_or_else(|| panic!("no total in strace output:\n{summary}"));
    let fields: Vec<&str> = line.split_whitespace().collect();
    fields[3].parse().unwrap_or_else(|_| panic!("{line}"))
}

/// Sends `count` copies of the frame `hex` out of a0 (METHOD LINUX), in
/// bursts of `burst`, from a router that stops after `wait`.
fn send_from_a0(ns: &Netns, hex: &str, count: u32, burst: u32, wait: &str) {
    let generator = format!(
        "InfiniteSource(DATA \\<{hex}>, LIMIT {count}, BURST {burst}) -> Queue(4096) -> ToDevice(a0, METHOD LINUX);
         DriverManager(wait {wait}, stop);"
    );
    common::output_ok(
        ns.command(router_bin()).args(["-e", &generator]),
        "the generator",
    );
}

/// Forwards from one veth pair to another under load, `strace -c -f` on
/// the forwarder: at most one system call per 16 packets, start-up and
/// idle waits included.
fn syscalls_under_load(method: &str) {
    let strace = Command::new("sh")
        .args(["-c", "command -v strace"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        strace,
        "this test needs strace: apt-get install strace (.ci/run installs it)"
    );
    let ns = Netns::new("strace");
    ns.veth("a0", "a1", 1);
    ns.veth("b0", "b1", 1);
    let dir = std::env::temp_dir().join(format!("nmio-strace-{}-{method}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let summary = dir.join("summary");
    let forwarder = format!(
        "fd :: FromDevice(a1, METHOD {method}) -> q :: Queue(10000) -> td :: ToDevice(b1, METHOD {method});
         DriverManager(wait 5s, stop);"
    );
    let fwd = ns
        .command("strace")
        .args(["-c", "-f", "-o"])
        .arg(&summary)
        .args([router_bin(), "-e", &forwarder])
        .args(["-h", "fd.count", "-h", "td.count", "-h", "fd.kernel_drops"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run strace");
    std::thread::sleep(Duration::from_millis(1500));
    let data = frame(0, 64)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    send_from_a0(&ns, &data, 600_000, 32, "2.5s");
    let out = fwd.wait_with_output().expect("forwarder");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let values: Vec<u64> = stdout
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let (received, sent) = (values[0], values[1]);
    let text = std::fs::read_to_string(&summary).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let calls = strace_total(&text);
    eprintln!(
        "{method}: forwarded {sent} of {received} packets with {calls} system calls \
         (1 per {:.1} packets)\n{text}",
        sent as f64 / calls as f64
    );
    assert!(received >= 100_000, "not under load: {received} packets");
    assert!(
        calls * 16 <= sent,
        "{method}: {calls} system calls for {sent} packets forwarded:\n{text}"
    );
}

#[test]
fn forwarding_under_load_makes_one_system_call_per_16_packets_linux() {
    syscalls_under_load("LINUX");
}

#[test]
fn forwarding_under_load_makes_one_system_call_per_16_packets_xdp() {
    syscalls_under_load("XDP");
}

/// Frames the kernel's IPv4 stack in namespace `ns` has received
/// (`Ip: InReceives` of its /proc/net/snmp).
fn ip_in_receives(ns: &Netns) -> u64 {
    let out = common::output_ok(
        ns.command("cat").arg("/proc/net/snmp"),
        "cat /proc/net/snmp",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut ip = text.lines().filter(|l| l.starts_with("Ip:"));
    let (names, values) = (ip.next().unwrap(), ip.next().unwrap());
    let i = names
        .split_whitespace()
        .position(|n| n == "InReceives")
        .expect("InReceives");
    values.split_whitespace().nth(i).unwrap().parse().unwrap()
}

/// FromDevice with SNIFFER false takes the frames from the kernel with
/// METHOD LINUX too (Click's KernelFilter `drop dev`), and with SNIFFER
/// true (the default) the kernel's stack gets them as well.
#[test]
fn a_packet_source_that_is_not_a_sniffer_keeps_the_kernel_from_the_frames() {
    let ns = Netns::new("steal");
    ns.veth("a0", "a1", 1);
    ns.exec_ok(&["ip", "link", "set", "a1", "address", "02:00:00:00:0a:01"]);
    // 64 bytes of IPv4/UDP to a1's MAC, which the kernel's stack would take.
    let frame = "02000000 0a01 02000000 0a00 0800 4500003200000000401164b70a0000010a010203 04d2162e001e0000 000000000000000000000000000000000000000000000000"
        .replace(' ', "");
    for sniffer in [false, true] {
        let receiver = format!(
            "FromDevice(a1, METHOD LINUX, SNIFFER {sniffer}) -> c :: Counter -> Discard;
             DriverManager(wait 3s, stop);"
        );
        let fwd = ns
            .command(router_bin())
            .args(["-e", &receiver, "-h", "c.count"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the receiver");
        std::thread::sleep(Duration::from_millis(1000));
        let before = ip_in_receives(&ns);
        send_from_a0(&ns, &frame, 1000, 8, "0.5s");
        let out = fwd.wait_with_output().expect("receiver");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let kernel = ip_in_receives(&ns) - before;
        let received: u64 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("c.count");
        assert_eq!(received, 1000, "SNIFFER {sniffer}: the router's count");
        if sniffer {
            assert!(
                kernel >= 1000,
                "SNIFFER true: the kernel got {kernel} of 1000"
            );
        } else {
            assert!(
                kernel < 10,
                "SNIFFER false: the kernel got {kernel} of 1000"
            );
        }
    }
}
