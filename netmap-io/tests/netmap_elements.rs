//! The device elements on netmap, with the emulated kernel standing in
//! for /dev/netmap (`netmap::set_kernel`): Click configurations name
//! netmap ports (`FromDevice(netmap:p}1)`, `ToDevice(netmap:p{2)`), take
//! METHOD NETMAP for a device name, and pick netmap by default where a
//! netmap kernel is there. A sender and a receiver on the test's thread
//! drive the far ends of the pipes slot by slot.

mod common;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::{build, Running};
use netmap_io::netmap::emu::{Config, EmuKernel, Nic};
use netmap_io::netmap::{set_kernel, Dir, RawPort};
use netmap_io::testnet::{frame, seq_of};

/// The process's emulated kernel, behind the elements.
fn kernel() -> EmuKernel {
    static K: OnceLock<EmuKernel> = OnceLock::new();
    K.get_or_init(|| {
        let k = EmuKernel::with_config(Config {
            pipe_slots: 256,
            ..Config::default()
        });
        set_kernel(Arc::new(k.clone()));
        k
    })
    .clone()
}

fn tagged(seq: u32, idx: u32) -> Vec<u8> {
    let mut f = frame(seq, 60 + (seq as usize % 200));
    f[18..22].copy_from_slice(&idx.to_be_bytes());
    f
}

/// Sends `n` frames into `from` and checks them out of `to`, in order
/// and intact, the receiver reading nothing until `pause` frames were
/// sent (so the router's TX ring fills and ToDevice waits for room);
/// returns how many arrived in the very buffer they were sent in.
fn pump(k: &EmuKernel, from: &str, to: &str, n: u32, pause: u32) -> u32 {
    let mut tx = RawPort::open(k, from, Dir::Tx, 0).unwrap();
    let mut rx = RawPort::open(k, to, Dir::Rx, 0).unwrap();
    let (mut sent, mut got, mut same) = (0u32, 0u32, 0u32);
    let deadline = Instant::now() + Duration::from_secs(60);
    while got < n {
        assert!(Instant::now() < deadline, "{got} of {n} frames came out");
        if sent < n {
            let mut s = sent;
            tx.fill(0, (n - sent).min(128) as usize, |idx, buf| {
                let f = tagged(s, idx);
                buf[..f.len()].copy_from_slice(&f);
                s += 1;
                f.len()
            });
            sent = s;
            tx.sync().unwrap();
        }
        if sent < pause {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        rx.wait(5).unwrap();
        rx.sync().unwrap();
        rx.take(0, 1024, |idx, f| {
            assert_eq!(seq_of(f), Some(got), "out of order");
            let tag = u32::from_be_bytes([f[18], f[19], f[20], f[21]]);
            assert_eq!(f, &tagged(got, tag)[..], "frame {got} damaged");
            same += (tag == idx) as u32;
            got += 1;
        });
    }
    same
}

#[test]
fn a_router_forwards_pipe_to_pipe_by_swapping_buffers() {
    let k = kernel();
    let r = Running::start(
        "fd :: FromDevice(netmap:p}1, BURST 64) -> q :: Queue(2048) \
         -> td :: ToDevice(\"netmap:p{2\", BURST 128);",
        1,
        &[
            "fd.count",
            "fd.zero_copy",
            "fd.copies",
            "fd.method",
            "td.count",
            "td.zero_copy",
            "td.copies",
            "td.drops",
            "td.method",
            "q.drops",
        ],
        "fd.method",
    );
    let n = 20_000;
    let same = pump(&k, "netmap:p{1", "netmap:p}2", n, 1500);
    let reads = r.stop();
    assert_eq!(same, n, "frames that did not arrive in the sender's buffer");
    let n = n.to_string();
    assert_eq!(reads[0], n, "fd.count");
    assert_eq!(reads[1], n, "fd.zero_copy");
    assert_eq!(reads[2], "0", "fd.copies");
    assert_eq!(reads[3], "NETMAP");
    assert_eq!(reads[4], n, "td.count");
    assert_eq!(reads[5], n, "td.zero_copy");
    assert_eq!(reads[6], "0", "td.copies");
    assert_eq!(reads[7], "0", "td.drops");
    assert_eq!(reads[8], "NETMAP");
    assert_eq!(reads[9], "0", "q.drops");
    assert!(k.errors().is_empty(), "{:?}", k.errors());
}

#[test]
fn method_netmap_and_the_default_use_netmap_for_a_device_name() {
    let k = kernel();
    let w = k.add_nic("nm0", Nic::default()).unwrap();
    let _w2 = k.add_nic("nm1", Nic::default()).unwrap();
    // METHOD NETMAP on a plain name, and the default of PollDevice and
    // ToDevice where a netmap kernel is there.
    let r = Running::start(
        "fd :: FromDevice(nm0, METHOD NETMAP, SNIFFER false) -> Discard; \
         pd :: PollDevice(nm1) -> Queue -> td :: ToDevice(nm0);",
        1,
        &["fd.method", "pd.method", "td.method", "fd.count"],
        "fd.method",
    );
    w.inject(0, &frame(1, 64));
    let deadline = Instant::now() + Duration::from_secs(10);
    while r.handle.read("fd.count").unwrap().trim() != "1" {
        assert!(Instant::now() < deadline, "the frame did not come");
        std::thread::sleep(Duration::from_millis(5));
    }
    let reads = r.stop();
    assert_eq!(reads[..3], ["NETMAP", "NETMAP", "NETMAP"]);
    // A sniffer keeps LINUX by default: netmap would take the device from
    // the kernel's stack (and nm0 is no Linux device).
    let e = run_error("FromDevice(nm0) -> Discard;");
    assert!(e.contains("no network device 'nm0'"), "{e}");
}

#[test]
fn a_netmap_port_name_takes_no_other_method() {
    kernel();
    let e = run_error("FromDevice(netmap:q}1, METHOD LINUX) -> Discard;");
    assert!(
        e.contains("is a netmap port name, but METHOD is LINUX"),
        "{e}"
    );
    let e = run_error("Idle -> ToDevice(\"netmap:q{1\", TX_RING true);");
    assert!(e.contains("TX_RING needs METHOD LINUX"), "{e}");
}

/// The error a configuration that must not start fails with.
fn run_error(config: &str) -> String {
    let r = match build(config) {
        Ok(r) => r,
        Err(e) => return e,
    };
    match r.run(&Default::default()) {
        Ok(_) => panic!("{config} ran"),
        Err(ds) => ds
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}
