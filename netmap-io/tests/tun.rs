//! KernelTun, KernelTap, FromHost and ToHost on real tun/tap devices, each
//! test in a network namespace of its own: the host's `ping` of an address
//! routed into the device is answered by the router (ICMPPingResponder)
//! back through it with no loss; ARP from the host reaches a tap; frames
//! the host side writes that are not IP, or not whole, are counted and
//! never stop the router; packets the router cannot send are dropped and
//! counted. Needs root, `ip` and `ping`: fails, never skips, without them.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{wait_for, Running};
use netmap_io::testnet::Netns;

/// Panics, saying what to do, unless `ping` is here.
fn require_ping() {
    let found = Command::new("sh")
        .args(["-c", "command -v ping"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "this test needs `ping`: apt-get install iputils-ping"
    );
}

/// Runs `ping -c COUNT ADDR` in `ns`; its output.
fn ping(ns: &Netns, addr: &str, count: u32) -> String {
    let out = ns
        .command("ping")
        .args(["-n", "-c", &count.to_string(), "-i", "0.2", "-W", "2", addr])
        .output()
        .expect("run ping");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_no_loss(out: &str, count: u32) {
    assert!(
        out.contains(&format!(
            "{count} packets transmitted, {count} received, 0% packet loss"
        )),
        "ping lost packets:\n{out}"
    );
}

/// The output of `cmd` run in `ns` (which must succeed).
fn output(ns: &Netns, cmd: &[&str]) -> String {
    let out = ns.command(cmd[0]).args(&cmd[1..]).output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether device `dev` exists in `ns`.
fn device_exists(ns: &Netns, dev: &str) -> bool {
    ns.command("ip")
        .args(["link", "show", dev])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Whether `dev` is gone within a second. The router closes its device
/// when it stops, but it runs in this process, where another test's
/// `fork` can hold a copy of the descriptor until its `exec` closes it
/// (O_CLOEXEC): the kernel deletes the device when the last copy closes.
fn gone_soon(ns: &Netns, dev: &str) -> bool {
    let start = std::time::Instant::now();
    while device_exists(ns, dev) {
        if start.elapsed() > std::time::Duration::from_secs(1) {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    true
}

/// Sends `frame` out of device `dev` with link-level protocol `proto`
/// through a packet socket (SOCK_DGRAM on a tun: `proto` becomes the
/// frame's packet information; SOCK_RAW on a tap: the frame as it is), as
/// the host's side of the device.
fn host_send(dev: &str, proto: u16, frame: &[u8]) {
    let ifindex = netmap_io::sys::ifindex(dev).expect("device");
    // SAFETY: no pointers; the descriptor is closed below.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
    assert!(
        fd >= 0,
        "packet socket: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: sockaddr_ll is plain data; zero is valid.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = proto.to_be();
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: a live buffer and a live sockaddr_ll of the sizes passed.
    let r = unsafe {
        libc::sendto(
            fd,
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    let err = std::io::Error::last_os_error();
    // SAFETY: our own descriptor.
    unsafe { libc::close(fd) };
    assert_eq!(r as usize, frame.len(), "sendto {dev}: {err}");
}

fn num(s: &str) -> u64 {
    s.trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

/// KernelTun with an address: the host pings an address routed into the
/// tun, the router answers through it; the device has the address and
/// MTU asked for, and is gone once the router stops.
#[test]
fn kerneltun_answers_the_hosts_ping() {
    require_ping();
    let ns = Netns::new("ktun");
    ns.enter();
    let r = Running::start(
        "tun :: KernelTun(10.77.0.1/24, DEVNAME ktun0, MTU 1400);
         tun -> c :: IPClassifier(icmp type echo, -);
         c[0] -> echo :: Counter -> ICMPPingResponder -> tun;
         c[1] -> other :: Counter -> Discard;",
        1,
        &["tun.packets", "tun.sent", "tun.drops", "echo.count"],
        "tun.dev_name",
    );
    assert_eq!(r.handle.read("tun.dev_name").unwrap().trim(), "ktun0");
    let addr = output(&ns, &["ip", "-o", "-4", "addr", "show", "dev", "ktun0"]);
    assert!(addr.contains("inet 10.77.0.1/24"), "{addr}");
    let link = output(&ns, &["ip", "-o", "link", "show", "dev", "ktun0"]);
    assert!(link.contains("mtu 1400") && link.contains(",UP"), "{link}");
    let out = ping(&ns, "10.77.0.2", 5);
    let reads = r.stop();
    assert_no_loss(&out, 5);
    // Every echo request read was answered and written back.
    let [packets, sent, drops, echo] = [0, 1, 2, 3].map(|i| num(&reads[i]));
    assert!(echo >= 5 && sent == echo && packets >= echo, "{reads:?}");
    assert_eq!(drops, 0, "{reads:?}");
    assert!(
        gone_soon(&ns, "ktun0"),
        "the tun device outlived the router"
    );
}

/// KernelTap: Ethernet frames. The host's ARP query for the router's
/// address reaches the router (counted by a Classifier on the ARP
/// request's fields); with a neighbour entry for it, the host's ping is
/// answered with no loss.
#[test]
fn kerneltap_carries_ethernet_frames() {
    require_ping();
    let ns = Netns::new("ktap");
    ns.enter();
    let r = Running::start(
        "tap :: KernelTap(10.78.0.1/24, DEVNAME ktap0, ETHER 02:00:00:00:78:01);
         tap -> c :: Classifier(12/0806 20/0001 38/0a4e0002, 12/0800, -);
         c[0] -> arp :: Counter -> Discard;
         c[1] -> ip :: Counter -> Strip(14) -> CheckIPHeader
              -> ICMPPingResponder -> Unstrip(14) -> EtherMirror -> tap;
         c[2] -> Discard;",
        1,
        &["tap.packets", "tap.sent", "tap.drops", "ip.count"],
        "tap.dev_name",
    );
    let link = output(&ns, &["ip", "-o", "link", "show", "dev", "ktap0"]);
    assert!(link.contains("link/ether 02:00:00:00:78:01"), "{link}");
    // No neighbour entry yet: the host asks, and gets no answer.
    let out = ping(&ns, "10.78.0.2", 1);
    assert!(out.contains("100% packet loss"), "{out}");
    assert!(
        wait_for(Duration::from_secs(3), || num(&r
            .handle
            .read("arp.count")
            .unwrap())
            >= 1),
        "no ARP request for 10.78.0.2 reached the router"
    );
    ns.exec_ok(&[
        "ip",
        "neigh",
        "replace",
        "10.78.0.2",
        "lladdr",
        "02:00:00:00:78:02",
        "dev",
        "ktap0",
        "nud",
        "permanent",
    ]);
    let out = ping(&ns, "10.78.0.2", 5);
    let reads = r.stop();
    assert_no_loss(&out, 5);
    let [packets, sent, drops, ip] = [0, 1, 2, 3].map(|i| num(&reads[i]));
    assert!(ip >= 5 && sent == ip && packets >= ip, "{reads:?}");
    assert_eq!(drops, 0, "{reads:?}");
}

/// Frames that are not IP, or not whole, written by the host's side of a
/// tun go to output 1 and are counted; packets the router pushes that the
/// tun cannot take (no IP header, IP version 5) are dropped and counted;
/// the router runs on and still answers pings.
#[test]
fn kerneltun_survives_malformed_frames() {
    require_ping();
    let ns = Netns::new("ktunbad");
    ns.enter();
    let r = Running::start(
        "tun :: KernelTun(10.76.0.1/24, DEVNAME ktunbad0);
         tun -> c :: IPClassifier(icmp type echo, -);
         c[0] -> ICMPPingResponder -> tun;
         c[1] -> good :: Counter -> Discard;
         tun[1] -> bad :: Counter -> Discard;
         InfiniteSource(LENGTH 10, LIMIT 3, STOP false) -> tun;
         InfiniteSource(LENGTH 100, LIMIT 2, STOP false) -> MarkIPHeader -> tun;",
        1,
        &["tun.drops", "bad.count", "good.count", "tun.packets"],
        "tun.dev_name",
    );
    let mut header = [0u8; 20];
    header[0] = 0x45;
    header[9] = 17;
    header[12..16].copy_from_slice(&[10, 76, 0, 1]);
    header[16..20].copy_from_slice(&[10, 76, 0, 9]);
    let mut long_hl = header;
    long_hl[0] = 0x4f; // 60-byte header in 20 bytes
    let mut v7 = header;
    v7[0] = 0x75;
    let malformed: Vec<(u16, Vec<u8>)> = vec![
        (0x0806, vec![0u8; 28]),         // ARP on a tun: not IP
        (0x88b5, (0..64).collect()),     // some other protocol
        (0x0800, vec![0x45]),            // one byte of IPv4
        (0x0800, header[..19].to_vec()), // a header cut short
        (0x0800, long_hl.to_vec()),      // a header length past the data
        (0x0800, v7.to_vec()),           // version 7
        (0x86dd, vec![0x60; 10]),        // IPv6 cut short
    ];
    for (proto, f) in &malformed {
        host_send("ktunbad0", *proto, f);
    }
    // A bare IPv4 header (total length a lie): IP, so output 0.
    host_send("ktunbad0", 0x0800, &header);
    assert!(
        wait_for(Duration::from_secs(3), || {
            num(&r.handle.read("bad.count").unwrap()) >= malformed.len() as u64
                && num(&r.handle.read("good.count").unwrap()) >= 1
        }),
        "the malformed frames did not all come out: bad {:?} good {:?}",
        r.handle.read("bad.count"),
        r.handle.read("good.count")
    );
    let out = ping(&ns, "10.76.0.2", 3);
    let reads = r.stop();
    assert_no_loss(&out, 3);
    assert_eq!(
        num(&reads[0]),
        5,
        "3 without an IP header, 2 of IP version 5: {reads:?}"
    );
    assert_eq!(num(&reads[1]), malformed.len() as u64, "{reads:?}");
    assert_eq!(num(&reads[2]), 1, "{reads:?}");
}

/// Frames of any content written by the host's side of a tap reach the
/// router whole and break nothing; frames too short or too long for the
/// tap are dropped and counted.
#[test]
fn kerneltap_survives_malformed_frames() {
    require_ping();
    let ns = Netns::new("ktapbad");
    ns.enter();
    let r = Running::start(
        "tap :: KernelTap(10.75.0.1/24, DEVNAME ktapbad0, ETHER 02:00:00:00:75:01);
         tap -> c :: Classifier(12/0800, -);
         c[0] -> Strip(14) -> CheckIPHeader -> ICMPPingResponder
              -> Unstrip(14) -> EtherMirror -> tap;
         c[1] -> other :: Counter -> Discard;
         InfiniteSource(LENGTH 10, LIMIT 3, STOP false) -> tap;
         InfiniteSource(LENGTH 1600, LIMIT 2, STOP false) -> tap;",
        1,
        &["tap.drops", "other.count"],
        "tap.dev_name",
    );
    let mac = [2, 0, 0, 0, 0x75, 1];
    let mut frames: Vec<Vec<u8>> = Vec::new();
    for (len, ethertype) in [
        (14, 0x0800u16),
        (15, 0x0800),
        (34, 0x0800),
        (20, 0x0806),
        (60, 0x8100),
        (14, 0x86dd),
    ] {
        let mut f = vec![0u8; len];
        f[..6].copy_from_slice(&mac);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0x75, 9]);
        f[12..14].copy_from_slice(&ethertype.to_be_bytes());
        if len > 14 {
            f[14] = 0x4f;
        }
        frames.push(f);
    }
    for f in &frames {
        host_send("ktapbad0", 0, f);
    }
    let ip_frames = 3;
    assert!(
        wait_for(Duration::from_secs(3), || {
            num(&r.handle.read("other.count").unwrap()) >= (frames.len() - ip_frames) as u64
        }),
        "the frames did not come out: {:?}",
        r.handle.read("other.count")
    );
    ns.exec_ok(&[
        "ip",
        "neigh",
        "replace",
        "10.75.0.2",
        "lladdr",
        "02:00:00:00:75:02",
        "dev",
        "ktapbad0",
        "nud",
        "permanent",
    ]);
    let out = ping(&ns, "10.75.0.2", 3);
    let reads = r.stop();
    assert_no_loss(&out, 3);
    assert_eq!(num(&reads[0]), 5, "3 too short, 2 too long: {reads:?}");
    assert_eq!(
        num(&reads[1]),
        (frames.len() - ip_frames) as u64,
        "{reads:?}"
    );
}

/// FromHost and ToHost: the host's frames to the tap device come out of
/// FromHost, and what the router hands ToHost the host receives: its ping
/// is answered with no loss.
#[test]
fn fromhost_and_tohost_answer_the_hosts_ping() {
    require_ping();
    let ns = Netns::new("fromhost");
    ns.enter();
    let r = Running::start(
        "fh :: FromHost(fake0, 10.79.0.1/24, ETHER 02:00:00:00:79:01)
           -> c :: Classifier(12/0806, 12/0800, -);
         c[0] -> arp :: Counter -> Discard;
         c[1] -> ip :: Counter -> Strip(14) -> CheckIPHeader -> ICMPPingResponder
              -> Unstrip(14) -> EtherMirror -> th :: ToHost(fake0);
         c[2] -> Discard;",
        1,
        &["fh.packets", "th.count", "th.drops", "ip.count"],
        "fh.dev_name",
    );
    let addr = output(&ns, &["ip", "-o", "-4", "addr", "show", "dev", "fake0"]);
    assert!(addr.contains("inet 10.79.0.1/24"), "{addr}");
    ns.exec_ok(&[
        "ip",
        "neigh",
        "replace",
        "10.79.0.2",
        "lladdr",
        "02:00:00:00:79:02",
        "dev",
        "fake0",
        "nud",
        "permanent",
    ]);
    let out = ping(&ns, "10.79.0.2", 5);
    let reads = r.stop();
    assert_no_loss(&out, 5);
    let [packets, count, drops, ip] = [0, 1, 2, 3].map(|i| num(&reads[i]));
    assert!(ip >= 5 && count == ip && packets >= ip, "{reads:?}");
    assert_eq!(drops, 0, "{reads:?}");
    assert!(
        gone_soon(&ns, "fake0"),
        "the tap device outlived the router"
    );
}

/// FromHost on one thread and ToHost on another share the device's one
/// descriptor, whichever initializes first.
#[test]
fn fromhost_and_tohost_on_two_threads() {
    require_ping();
    let ns = Netns::new("fromhost2");
    ns.enter();
    let r = Running::start(
        "fh :: FromHost(fake1, 10.73.0.1/24, ETHER 02:00:00:00:73:01)
           -> c :: Classifier(12/0800, -);
         c[0] -> Strip(14) -> CheckIPHeader -> ICMPPingResponder
              -> Unstrip(14) -> EtherMirror -> ThreadSafeQueue -> u :: Unqueue
              -> th :: ToHost(fake1);
         c[1] -> Discard;
         StaticThreadSched(fh 1, u 0);",
        2,
        &["fh.home_thread", "u.home_thread", "th.count", "th.drops"],
        "fh.dev_name",
    );
    ns.exec_ok(&[
        "ip",
        "neigh",
        "replace",
        "10.73.0.2",
        "lladdr",
        "02:00:00:00:73:02",
        "dev",
        "fake1",
        "nud",
        "permanent",
    ]);
    let out = ping(&ns, "10.73.0.2", 5);
    let reads = r.stop();
    assert_no_loss(&out, 5);
    assert_eq!((num(&reads[0]), num(&reads[1])), (1, 0), "{reads:?}");
    assert!(num(&reads[2]) >= 5 && num(&reads[3]) == 0, "{reads:?}");
}

/// Configuration errors say what is wrong, as Click's do.
#[test]
fn configuration_errors() {
    for (config, want) in [
        ("KernelTun(10.0.0.1/24, 10.1.0.1) -> Discard", "bad GATEWAY"),
        (
            "KernelTun(10.0.0.1/24, MTU 10) -> Discard",
            "MTU must be greater than 20",
        ),
        (
            "KernelTun(10.0.0.1/24, BURST 0) -> Discard",
            "BURST must be >= 1",
        ),
        (
            "KernelTap(10.0.0.1/24, HEADROOM 9000) -> Discard",
            "HEADROOM too big",
        ),
        (
            "FromHost(fake0, 10.0.0.1/24, GATEWAY 10.2.0.1) -> Discard",
            "bad GATEWAY",
        ),
    ] {
        let err = match common::build(config) {
            Ok(_) => panic!("{config}: accepted"),
            Err(e) => e,
        };
        assert!(err.contains(want), "{config}: {err}");
    }
}

/// KernelTun with a pull input (a Queue in front, as Click allows): its
/// task pulls the answers while the queue has some, and sleeps otherwise.
#[test]
fn kerneltun_pulls_from_a_queue() {
    require_ping();
    let ns = Netns::new("ktunpull");
    ns.enter();
    let r = Running::start(
        "tun :: KernelTun(10.74.0.1/24, DEVNAME ktunpull0);
         tun -> c :: IPClassifier(icmp type echo, -);
         c[0] -> ICMPPingResponder -> q :: Queue -> tun;
         c[1] -> Discard;",
        1,
        &["tun.sent", "tun.drops", "tun.scheduled"],
        "tun.dev_name",
    );
    let out = ping(&ns, "10.74.0.2", 5);
    // Nothing to read or pull: the task sleeps.
    assert!(
        wait_for(Duration::from_secs(2), || r
            .handle
            .read("tun.scheduled")
            .unwrap()
            .trim()
            == "false"),
        "the task does not sleep while idle"
    );
    let reads = r.stop();
    assert_no_loss(&out, 5);
    assert!(num(&reads[0]) >= 5, "{reads:?}");
    assert_eq!(num(&reads[1]), 0, "{reads:?}");
}
