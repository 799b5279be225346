//! Every ICMPError of a process draws its IP IDs from one counter that
//! starts at 1, as Click's do (a test binary of its own: the counter is
//! the process's).

use click_elements::ICMPError;
use click_engine::args::Args;
use click_engine::packet::Batch;
use click_engine::{ConfigureCtx, Element, ElementClass, Harness, Packet, Processing};

fn make(config: &str) -> ICMPError {
    let ctx = ConfigureCtx {
        name: "e",
        inputs: &[Processing::Push],
        outputs: &[Processing::Push],
    };
    ICMPError::configure(&mut Args::new(config), &ctx).unwrap()
}

/// A UDP packet from 10.0.1.2 to 10.0.2.2, its IP header marked.
fn udp() -> Packet {
    let mut p = Packet::from_slice(&[
        0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 1, 2, 10, 0, 2, 2, 0, 1, 0, 2, 0, 8, 0, 0,
    ])
    .unwrap();
    p.set_network_header(0, 20).unwrap();
    p
}

#[test]
fn all_icmperrors_share_one_id_counter_from_1() {
    let mut a = make("10.0.0.1, unreachable, port");
    let mut b = make("10.0.0.1, timeexceeded");
    let mut h = Harness::new("e");
    let mut ids = Vec::new();
    for which in [0, 1, 0, 0, 1] {
        let e = if which == 0 { &mut a } else { &mut b };
        let mut batch = Batch::new();
        batch.push(udp());
        h.with(|ctx| e.push(0, batch, ctx));
        let q = h.take_output(0).pop().unwrap();
        ids.push(u16::from_be_bytes([q.data()[4], q.data()[5]]));
    }
    assert_eq!(ids, [1, 2, 3, 4, 5]);
}
