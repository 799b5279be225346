//! An idle router with a FromDevice (and a ToDevice) on a veth sleeps in
//! epoll on the devices' descriptors: under 1% of a core, for each
//! method, and it still wakes for the next frame. (A test binary of its
//! own, so that the process's CPU time is the router's.)

mod common;

use std::time::Duration;

use common::{collected, new_id, wait_for, Running};
use netmap_io::testnet::{frame, Netns, RawSocket};

/// This process's CPU time (user + system).
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills a live rusage struct.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn idle(method: &str) {
    let ns = Netns::new("idle");
    ns.veth("va", "vb", 1);
    ns.enter();
    let id = new_id();
    let r = Running::start(
        &format!(
            "fd :: FromDevice(vb, METHOD {method}) -> t :: Tee(2);
             t[0] -> Collect({id});
             t[1] -> Queue -> td :: ToDevice(vb, METHOD {method});"
        ),
        1,
        &["fd.count", "fd.calls", "td.count"],
        "td.method",
    );
    let sock = RawSocket::open("va");
    // Some traffic first, so that the idle time follows real work.
    for i in 0..100 {
        sock.send(&frame(i, 100));
    }
    assert!(wait_for(Duration::from_secs(5), || collected(id).len() >= 100));
    std::thread::sleep(Duration::from_millis(300));
    let cpu0 = cpu_time();
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_time() - cpu0;
    // It still wakes at once for the next frame.
    sock.send(&frame(100, 100));
    let woke = wait_for(Duration::from_secs(2), || collected(id).len() >= 101);
    let reads = r.stop();
    eprintln!("{method}: idle for 1 s, the router used {used:?} of CPU; reads {reads:?}");
    assert!(
        used < Duration::from_millis(10),
        "{method}: idle for 1 s, the router used {used:?} of CPU"
    );
    assert!(
        woke,
        "{method}: the frame after the idle second never came out"
    );
    assert_eq!(reads[0], "101");
    assert_eq!(reads[2], "101");
}

#[test]
fn an_idle_router_with_devices_uses_under_one_percent_of_a_core() {
    // One method after the other: the process's CPU time is shared.
    idle("LINUX");
    idle("XDP");
}
