//! The netmap backend against the emulated kernel (`netmap::emu`): the
//! same memory layout and ring protocol as netmap's, peers that play
//! txsync and rxsync, and checks of everything the backend hands over.
//! Runs anywhere, as any user.
//!
//! Each test ends with the emulation's census: every buffer of the memory
//! region is free or in a ring exactly once, none lost or doubled, and the
//! emulated kernel saw no fault (a bad index, a ring moved backwards, a
//! buffer given back twice).

mod common;

use std::time::{Duration, Instant};

use click_engine::packet::{Batch, Packet};
use netmap_io::netmap::emu::{Config, EmuKernel, Nic, Wire};
use netmap_io::netmap::{Dir, Kernel, NetmapRx, NetmapTx, PortName, RawPort};
use netmap_io::ring::{RxRing, TxRing};
use netmap_io::testnet::{frame, seq_of};
use netmap_io::RxConfig;

fn name(s: &str) -> PortName {
    PortName::parse(s).unwrap()
}

fn rx(k: &EmuKernel, port: &str) -> NetmapRx {
    NetmapRx::open_with(k, &name(port), &RxConfig::new(port)).unwrap()
}

fn tx(k: &EmuKernel, port: &str) -> NetmapTx {
    NetmapTx::open_with(k, &name(port)).unwrap()
}

fn small() -> EmuKernel {
    EmuKernel::with_config(Config {
        pipe_slots: 128,
        ..Config::default()
    })
}

/// Frame `seq`, `len` bytes, the sender's buffer index at bytes 18..22.
fn tagged(seq: u32, idx: u32, len: usize) -> Vec<u8> {
    let mut f = frame(seq, len);
    f[18..22].copy_from_slice(&idx.to_be_bytes());
    f
}

fn tag_of(f: &[u8]) -> u32 {
    u32::from_be_bytes([f[18], f[19], f[20], f[21]])
}

fn len_of(seq: u32) -> usize {
    64 + (seq as usize * 37) % 1451
}

/// After everything is closed: every buffer of region `mem` accounted
/// for once, and no fault seen.
fn assert_clean(k: &EmuKernel, mem: u16) {
    assert_eq!(k.errors(), Vec::<String>::new(), "faults the kernel saw");
    let (usable, found) = k.census(mem).unwrap();
    assert_eq!(found, usable, "buffers lost in region {mem}");
}

/// Receives until `n` packets came, keeping what `keep` says.
fn recv_all(r: &mut NetmapRx, n: usize, mut keep: impl FnMut(Batch)) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = 0;
    while got < n {
        let mut b = Batch::new();
        let m = r.recv(&mut b, 32).unwrap();
        got += m;
        if m == 0 {
            assert!(Instant::now() < deadline, "{got} of {n} packets came");
            std::thread::yield_now();
            continue;
        }
        keep(b);
    }
    got
}

#[test]
fn receiving_wraps_the_ring_without_copies() {
    let k = EmuKernel::new();
    let wire = k
        .add_nic(
            "eth0",
            Nic {
                slots: 64,
                ..Nic::default()
            },
        )
        .unwrap();
    let mut r = rx(&k, "netmap:eth0");
    let frames: Vec<Vec<u8>> = (0..1000).map(|i| frame(i, len_of(i))).collect();
    for f in &frames {
        assert!(wire.inject(0, f));
    }
    let mut got = Vec::new();
    recv_all(&mut r, frames.len(), |b| {
        for p in b.iter() {
            let e = p.external_buffer().expect("a netmap buffer, not a copy");
            assert_eq!(e.region, r_region(&k));
            assert_eq!(e.offset, 0);
            got.push(p.data().to_vec());
        }
    });
    assert_eq!(got, frames);
    let s = r.stats();
    assert_eq!(
        (s.packets, s.zero_copy, s.copies, s.drops),
        (1000, 1000, 0, 0)
    );
    // A ring of 64 holds 63: about one sync per 63 frames, never one per
    // batch.
    assert!(
        s.syscalls >= 1000 / 63 && s.syscalls <= 1000 / 63 + 4,
        "{s:?}"
    );
    drop(r);
    drop(wire);
    assert_clean(&k, 1);
}

fn r_region(k: &EmuKernel) -> click_engine::packet::RegionId {
    k.region(1)
}

#[test]
fn partial_syncs_deliver_everything_in_order() {
    let k = EmuKernel::new();
    let wire = k
        .add_nic(
            "eth0",
            Nic {
                slots: 16,
                ..Nic::default()
            },
        )
        .unwrap();
    wire.set_rx_per_sync(Some(5));
    let mut r = rx(&k, "netmap:eth0");
    for i in 0..300 {
        wire.inject(0, &frame(i, 64));
    }
    let mut seqs = Vec::new();
    let mut biggest = 0;
    recv_all(&mut r, 300, |b| {
        biggest = biggest.max(b.len());
        seqs.extend(b.iter().map(|p| seq_of(p.data()).unwrap()));
    });
    assert_eq!(seqs, (0..300).collect::<Vec<_>>());
    assert!(biggest <= 5, "a sync gave {biggest}");
    drop(r);
    drop(wire);
    assert_clean(&k, 1);
}

#[test]
fn frames_over_several_slots_are_dropped_whole() {
    let k = EmuKernel::new();
    let wire = k.add_nic("eth0", Nic::default()).unwrap();
    let mut r = rx(&k, "netmap:eth0");
    wire.inject(0, &frame(1, 100));
    wire.inject(0, &frame(2, 5000)); // three slots, NS_MOREFRAG
    wire.inject(0, &frame(3, 100));
    let mut seqs = Vec::new();
    recv_all(&mut r, 2, |b| {
        seqs.extend(b.iter().map(|p| seq_of(p.data()).unwrap()))
    });
    assert_eq!(seqs, [1, 3]);
    assert_eq!(r.stats().drops, 3);
    drop(r);
    drop(wire);
    assert_clean(&k, 1);
}

#[test]
fn snaplen_truncates_and_counts_the_rest() {
    let k = EmuKernel::new();
    let wire = k.add_nic("eth0", Nic::default()).unwrap();
    let mut cfg = RxConfig::new("netmap:eth0");
    cfg.snaplen = 100;
    let mut r = NetmapRx::open_with(&k, &name("netmap:eth0"), &cfg).unwrap();
    let f = frame(7, 300);
    wire.inject(0, &f);
    recv_all(&mut r, 1, |b| {
        let p = &b.as_slice()[0];
        assert_eq!(p.data(), &f[..100]);
        assert_eq!(p.anno().extra_length(), 200);
        assert_eq!(p.mac_header_offset(), Some(0));
    });
    drop(r);
    drop(wire);
    assert_clean(&k, 1);
}

fn send_all(t: &mut NetmapTx, frames: &[Vec<u8>]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    for chunk in frames.chunks(32) {
        let mut b = Batch::new();
        for f in chunk {
            b.push(Packet::from_slice(f).unwrap());
        }
        while !b.is_empty() {
            t.send(&mut b).unwrap();
            assert!(Instant::now() < deadline, "the ring stayed full");
        }
    }
    t.flush().unwrap();
}

#[test]
fn transmitting_copies_pool_packets_in_order() {
    let k = EmuKernel::new();
    let wire = k
        .add_nic(
            "eth1",
            Nic {
                slots: 64,
                ..Nic::default()
            },
        )
        .unwrap();
    let mut t = tx(&k, "netmap:eth1");
    let frames: Vec<Vec<u8>> = (0..500).map(|i| frame(i, len_of(i))).collect();
    send_all(&mut t, &frames);
    let sent: Vec<Vec<u8>> = wire.take_sent(0).into_iter().map(|s| s.data).collect();
    assert_eq!(sent, frames);
    let s = t.stats();
    assert_eq!(
        (s.packets, s.copies, s.zero_copy, s.drops),
        (500, 500, 0, 0)
    );
    // One sync per half ring (32 slots) or flush, not one per packet.
    assert!(s.syscalls <= 500 / 32 + 3, "{s:?}");
    drop(t);
    drop(wire);
    assert_clean(&k, 1);
}

#[test]
fn a_stalled_wire_fills_the_ring_and_the_rest_waits() {
    let k = EmuKernel::new();
    let wire = k
        .add_nic(
            "eth1",
            Nic {
                slots: 32,
                ..Nic::default()
            },
        )
        .unwrap();
    wire.stall_tx(true);
    let mut t = tx(&k, "netmap:eth1");
    let frames: Vec<Vec<u8>> = (0..200).map(|i| frame(i, 80)).collect();
    let mut b = Batch::new();
    let mut left = frames.iter();
    let mut taken = 0;
    // Fill until the ring refuses: 31 of 32 slots.
    loop {
        while b.len() < 32 {
            match left.next() {
                Some(f) => b.push(Packet::from_slice(f).unwrap()),
                None => break,
            }
        }
        let n = t.send(&mut b).unwrap();
        taken += n;
        if n == 0 {
            break;
        }
    }
    assert_eq!(taken, 31);
    assert!(wire.take_sent(0).is_empty());
    // Restarting the wire sends them and makes room.
    wire.stall_tx(false);
    let mut sent: Vec<Vec<u8>> = wire.take_sent(0).into_iter().map(|s| s.data).collect();
    assert_eq!(sent.len(), 31);
    let rest: Vec<Vec<u8>> = b
        .iter()
        .map(|p| p.data().to_vec())
        .chain(left.cloned())
        .collect();
    drop(b);
    send_all(&mut t, &rest);
    sent.extend(wire.take_sent(0).into_iter().map(|s| s.data));
    assert_eq!(sent, frames);
    drop(t);
    drop(wire);
    assert_clean(&k, 1);
}

/// A sender on `from` (writing each slot's buffer index into its frame), a
/// forwarder from `fwd_in` to `fwd_out`, a receiver on `to` that checks
/// every frame, all on one thread; returns, per frame, whether the
/// receiver got the sender's very buffer.
fn forward(
    k: &EmuKernel,
    from: &str,
    fwd_in: &str,
    fwd_out: &str,
    to: &str,
    n: u32,
    receiver_pause: Option<(u32, u32)>,
) -> (Vec<bool>, netmap_io::RingStats, netmap_io::RingStats) {
    let mut sender = RawPort::open(k, from, Dir::Tx, 0).unwrap();
    let mut r = rx(k, fwd_in);
    let mut t = tx(k, fwd_out);
    let mut receiver = RawPort::open(k, to, Dir::Rx, 0).unwrap();
    let mut next_send = 0;
    let mut next_recv = 0;
    let mut same = Vec::new();
    let mut held: Option<Batch> = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut refused = 0;
    while next_recv < n {
        assert!(
            Instant::now() < deadline,
            "{next_recv} of {n} frames arrived"
        );
        if next_send < n {
            let want = (n - next_send) as usize;
            let mut s = next_send;
            sender.fill(0, want.min(64), |idx, buf| {
                let f = tagged(s, idx, len_of(s));
                buf[..f.len()].copy_from_slice(&f);
                s += 1;
                f.len()
            });
            next_send = s;
            sender.sync().unwrap();
        }
        // The forwarder: a batch at a time, as FromDevice -> ToDevice.
        let mut b = held.take().unwrap_or_default();
        if b.is_empty() {
            r.recv(&mut b, 32).unwrap();
        }
        if !b.is_empty() {
            let before = b.len();
            let took = t.send(&mut b).unwrap();
            if took < before {
                refused += 1;
            }
            if !b.is_empty() {
                held = Some(b);
            }
        }
        t.flush().unwrap();
        let paused = receiver_pause.is_some_and(|(a, z)| next_recv >= a && refused < z);
        if !paused {
            receiver.sync().unwrap();
            receiver.take(0, 1024, |idx, f| {
                assert_eq!(seq_of(f), Some(next_recv), "frame out of order");
                let want = tagged(next_recv, tag_of(f), len_of(next_recv));
                assert_eq!(f, &want[..], "frame {next_recv} damaged");
                same.push(tag_of(f) == idx);
                next_recv += 1;
            });
        }
    }
    if let Some((_, z)) = receiver_pause {
        assert!(refused >= z, "the forwarder's ring never filled");
    }
    let stats = (r.stats(), t.stats());
    drop((sender, r, t, receiver));
    (same, stats.0, stats.1)
}

#[test]
fn forwarding_between_pipes_of_one_region_swaps_buffers() {
    let k = small();
    let n = 5000;
    let (same, rs, ts) = forward(
        &k,
        "netmap:x{1",
        "netmap:x}1",
        "netmap:x{2",
        "netmap:x}2",
        n,
        None,
    );
    // Every frame reached the receiver in the buffer the sender wrote:
    // pipes move buffers by index, and so did the forwarder.
    assert!(
        same.iter().all(|&s| s),
        "copied somewhere: {:?}",
        same.iter().position(|&s| !s)
    );
    assert_eq!((rs.zero_copy, rs.copies), (n as u64, 0));
    assert_eq!((ts.zero_copy, ts.copies, ts.drops), (n as u64, 0, 0));
    assert_clean(&k, 1);
}

#[test]
fn forwarding_between_regions_copies_and_counts() {
    let k = small();
    let y = k
        .add_nic(
            "y",
            Nic {
                mem_id: 2,
                ..Nic::default()
            },
        )
        .unwrap();
    let n = 2000;
    let (same, rs, ts) = forward(
        &k,
        "netmap:x{1",
        "netmap:x}1",
        "netmap:y{1",
        "netmap:y}1",
        n,
        None,
    );
    assert!(same.iter().all(|&s| !s), "a buffer crossed regions");
    assert_eq!(rs.zero_copy, n as u64);
    assert_eq!((ts.zero_copy, ts.copies), (0, n as u64));
    drop(y);
    assert_clean(&k, 1);
    assert_clean(&k, 2);
}

#[test]
fn a_receiver_that_stalls_holds_the_forwarder_back() {
    let k = small();
    let n = 3000;
    // The receiver stops reading at frame 500 until the forwarder's TX
    // ring refused packets 20 times, then drains.
    let (same, _, ts) = forward(
        &k,
        "netmap:x{5",
        "netmap:x}5",
        "netmap:x{6",
        "netmap:x}6",
        n,
        Some((500, 20)),
    );
    assert_eq!(same.len(), n as usize);
    assert_eq!((ts.zero_copy, ts.drops), (n as u64, 0));
    assert_clean(&k, 1);
}

#[test]
fn a_swap_into_a_nic_sends_the_received_buffer() {
    let k = EmuKernel::new();
    let a = k.add_nic("eth3", Nic::default()).unwrap();
    let b = k.add_nic("eth4", Nic::default()).unwrap();
    let mut r = rx(&k, "netmap:eth3");
    let mut t = tx(&k, "netmap:eth4");
    for i in 0..100 {
        a.inject(0, &frame(i, 200));
    }
    let mut tokens = Vec::new();
    recv_all(&mut r, 100, |mut batch| {
        tokens.extend(
            batch
                .iter()
                .map(|p| p.external_buffer().unwrap().token as u32),
        );
        while !batch.is_empty() {
            t.send(&mut batch).unwrap();
        }
    });
    t.flush().unwrap();
    let sent = b.take_sent(0);
    assert_eq!(sent.len(), 100);
    let idx: Vec<u32> = sent.iter().map(|s| s.buf_idx).collect();
    assert_eq!(idx, tokens, "the TX slots did not get the received buffers");
    assert_eq!(t.stats().zero_copy, 100);
    drop((r, t, a, b));
    assert_clean(&k, 1);
}

#[test]
fn pulled_headers_are_moved_to_the_buffer_start() {
    let k = EmuKernel::new();
    let a = k.add_nic("eth3", Nic::default()).unwrap();
    let b = k.add_nic("eth4", Nic::default()).unwrap();
    let mut r = rx(&k, "netmap:eth3");
    let mut t = tx(&k, "netmap:eth4");
    let f = frame(9, 200);
    a.inject(0, &f);
    recv_all(&mut r, 1, |mut batch| {
        batch.as_mut_slice()[0].pull(14).unwrap();
        t.send(&mut batch).unwrap();
    });
    t.flush().unwrap();
    let sent = b.take_sent(0);
    assert_eq!(sent[0].data, &f[14..]);
    drop((r, t, a, b));
    assert_clean(&k, 1);
}

/// Receives from `port` until nothing more comes; the tags (ring << 16 |
/// n) of what came.
fn drain_tags(k: &EmuKernel, port: &str) -> Vec<u32> {
    let mut r = rx(k, port);
    let mut tags = Vec::new();
    for _ in 0..100 {
        let mut b = Batch::new();
        if r.recv(&mut b, 32).unwrap() == 0 {
            continue;
        }
        tags.extend(b.iter().map(|p| seq_of(p.data()).unwrap()));
    }
    tags.sort();
    tags
}

#[test]
fn rings_a_name_chooses() {
    let k = EmuKernel::new();
    // Four hardware rings and two host rings each way: RX ring i sits
    // past both host TX rings (netmap_sys's NETMAP_RXRING would miss).
    let w = k
        .add_nic(
            "eth5",
            Nic {
                tx_rings: 4,
                rx_rings: 4,
                host_rings: 2,
                slots: 32,
                mem_id: 0,
            },
        )
        .unwrap();
    let inject = |w: &Wire| {
        for ring in 0..6u32 {
            for n in 0..3u32 {
                w.inject(ring, &frame(ring << 16 | n, 64));
            }
        }
    };
    let tags = |rings: &[u32]| -> Vec<u32> {
        let mut v: Vec<u32> = rings
            .iter()
            .flat_map(|&r| (0..3).map(move |n| r << 16 | n))
            .collect();
        v.sort();
        v
    };
    inject(&w);
    assert_eq!(drain_tags(&k, "netmap:eth5"), tags(&[0, 1, 2, 3]));
    assert_eq!(drain_tags(&k, "netmap:eth5^"), tags(&[4, 5]));
    inject(&w);
    assert_eq!(drain_tags(&k, "netmap:eth5-2"), tags(&[2]));
    assert_eq!(drain_tags(&k, "netmap:eth5^1"), tags(&[5]));
    assert_eq!(drain_tags(&k, "netmap:eth5*"), tags(&[0, 1, 3, 4]));
    // Transmit rings too: all four hardware ones take turns as they fill.
    let mut t = tx(&k, "netmap:eth5-3");
    let mut b = Batch::new();
    b.push(Packet::from_slice(&frame(1, 64)).unwrap());
    t.send(&mut b).unwrap();
    t.flush().unwrap();
    assert_eq!(w.take_sent(3).len(), 1);
    assert!(w.take_sent(0).is_empty());
    drop(t);
    drop(w);
    assert_clean(&k, 1);
}

#[test]
fn held_packets_use_up_the_spares_then_receiving_copies() {
    let k = EmuKernel::new();
    let wire = k
        .add_nic(
            "eth6",
            Nic {
                slots: 128,
                ..Nic::default()
            },
        )
        .unwrap();
    let mut r = rx(&k, "netmap:eth6");
    let spares = r.population();
    assert!(spares > 1000, "{spares} spare buffers");
    let n = spares + 500;
    for i in 0..n as u32 {
        wire.inject(0, &frame(i, 64));
    }
    let mut held = Vec::new();
    recv_all(&mut r, n, |b| held.push(b));
    let s = r.stats();
    assert_eq!((s.zero_copy, s.copies), (spares as u64, 500));
    let seqs: Vec<u32> = held
        .iter()
        .flat_map(|b| b.iter().map(|p| seq_of(p.data()).unwrap()))
        .collect();
    assert_eq!(seqs, (0..n as u32).collect::<Vec<_>>());
    // Freed, the buffers come home and receiving is zero-copy again.
    drop(held);
    for i in 0..100 {
        wire.inject(0, &frame(i, 64));
    }
    recv_all(&mut r, 100, drop);
    assert_eq!(r.stats().zero_copy, spares as u64 + 100);
    drop(r);
    drop(wire);
    assert_clean(&k, 1);
}

#[test]
fn packets_outliving_their_ring_come_home_to_the_kernel() {
    let k = EmuKernel::new();
    let wire = k.add_nic("eth7", Nic::default()).unwrap();
    let mut r = rx(&k, "netmap:eth7");
    for i in 0..50 {
        wire.inject(0, &frame(i, 64));
    }
    let mut held = Vec::new();
    recv_all(&mut r, 50, |b| held.push(b));
    drop(r);
    // The port stays open while packets hold its buffers ...
    let free = k.free_buffers(1);
    drop(held);
    // ... and gives them all back when the last is freed.
    assert!(k.free_buffers(1) > free);
    drop(wire);
    assert_clean(&k, 1);
}

#[test]
fn the_kernel_side_refuses_what_the_real_one_refuses() {
    let k = EmuKernel::new();
    let _w = k.add_nic("eth8", Nic::default()).unwrap();
    use netmap_io::netmap::abi::{regif_request, NR_REG_ALL_NIC};
    // netmap_sys's NETMAP_API (11): refused.
    let mut req = regif_request("eth8", NR_REG_ALL_NIC, 0, 0, 0, 0).unwrap();
    req.nr_version = netmap_sys_api();
    assert_eq!(
        k.register(&mut req).err().and_then(|e| e.raw_os_error()),
        Some(libc::EINVAL)
    );
    // The name with libnetmap's prefix: no such port.
    let mut req = regif_request("netmap:eth8", NR_REG_ALL_NIC, 0, 0, 0, 0).unwrap();
    assert_eq!(
        k.register(&mut req).err().and_then(|e| e.raw_os_error()),
        Some(libc::ENXIO)
    );
    // Exclusive use.
    let a = RawPort::open(&k, "netmap:eth8/x", Dir::Rx, 0).unwrap();
    assert!(RawPort::open(&k, "netmap:eth8", Dir::Rx, 0).is_err());
    drop(a);
    // A ring the port lacks.
    assert!(RawPort::open(&k, "netmap:eth8-3", Dir::Rx, 0).is_err());
    // A ring moved past what the user owns is a fault.
    let mut raw = RawPort::open(&k, "netmap:eth8", Dir::Rx, 0).unwrap();
    let (h, _, t) = raw.pointers(0);
    assert_eq!((h, t), (0, 0));
    raw.take(0, 10, |_, _| {}); // nothing to take: no move
    assert!(raw.sync().is_ok());
    assert!(k.errors().is_empty());
}

fn netmap_sys_api() -> u32 {
    11
}

#[test]
fn vale_ports_copy_between_their_regions() {
    let k = EmuKernel::new();
    let mut a = RawPort::open(&k, "vale0:a", Dir::Tx, 0).unwrap();
    let mut b = RawPort::open(&k, "vale0:b", Dir::Rx, 0).unwrap();
    assert_ne!(a.mem_id(), b.mem_id(), "VALE ports have private regions");
    a.fill(0, 10, |idx, buf| {
        let f = tagged(1, idx, 100);
        buf[..100].copy_from_slice(&f);
        100
    });
    a.sync().unwrap();
    b.sync().unwrap();
    let mut got = 0;
    b.take(0, 64, |idx, f| {
        assert_ne!(tag_of(f), idx);
        got += 1;
    });
    assert_eq!(got, 10);
    // `@1`: a VALE port in the global region.
    let c = RawPort::open(&k, "vale0:c@1", Dir::Rx, 0).unwrap();
    assert_eq!(c.mem_id(), 1);
    drop((a, b, c));
    assert!(k.errors().is_empty());
}

/// Several TX rings: a ring that fills spills into the next; with the
/// wire stalled every ring holds `slots - 1` and the rest is refused;
/// restarted, and then completing only a few slots per txsync (a partial
/// sync), each ring sends its frames in order, each frame once.
#[test]
fn transmitting_spills_over_several_rings_and_survives_partial_syncs() {
    let k = EmuKernel::new();
    let w = k
        .add_nic(
            "eth7",
            Nic {
                tx_rings: 4,
                rx_rings: 1,
                host_rings: 1,
                slots: 16,
                mem_id: 0,
            },
        )
        .unwrap();
    w.stall_tx(true);
    let mut t = tx(&k, "netmap:eth7");
    let frames: Vec<Vec<u8>> = (0..64).map(|i| frame(i, 60 + i as usize)).collect();
    let mut b = Batch::new();
    for f in &frames[..32] {
        b.push(Packet::from_slice(f).unwrap());
    }
    assert_eq!(t.send(&mut b).unwrap(), 15, "ring 0 holds 15 of 16 slots");
    assert_eq!(t.send(&mut b).unwrap(), 15, "ring 1 takes the next 15");
    assert_eq!(t.send(&mut b).unwrap(), 2);
    for f in &frames[32..] {
        b.push(Packet::from_slice(f).unwrap());
    }
    assert_eq!(t.send(&mut b).unwrap(), 13, "ring 2 full");
    assert_eq!(t.send(&mut b).unwrap(), 15, "ring 3 full");
    assert_eq!(t.send(&mut b).unwrap(), 0, "every ring full: nothing taken");
    assert_eq!(b.len(), 4);
    for ring in 0..4 {
        assert!(w.take_sent(ring).is_empty(), "a stalled wire sent");
    }
    w.stall_tx(false);
    let per_ring: Vec<Vec<u32>> = (0..4)
        .map(|r| {
            w.take_sent(r)
                .iter()
                .map(|s| seq_of(&s.data).unwrap())
                .collect()
        })
        .collect();
    assert_eq!(per_ring[0], (0..15).collect::<Vec<_>>());
    assert_eq!(per_ring[1], (15..30).collect::<Vec<_>>());
    assert_eq!(per_ring[2], (30..45).collect::<Vec<_>>());
    assert_eq!(per_ring[3], (45..60).collect::<Vec<_>>());
    drop(b);
    // Partial syncs: the hardware completes 3 slots per txsync, so the
    // rings stay nearly full and sending goes on as slots come back.
    w.set_tx_per_sync(Some(3));
    let more: Vec<Vec<u8>> = (100..400).map(|i| frame(i, 64)).collect();
    send_all(&mut t, &more);
    let mut seen: Vec<Vec<u32>> = vec![Vec::new(); 4];
    let take = |seen: &mut Vec<Vec<u32>>| {
        for (r, s) in seen.iter_mut().enumerate() {
            s.extend(
                w.take_sent(r as u32)
                    .iter()
                    .map(|s| seq_of(&s.data).unwrap()),
            );
        }
    };
    take(&mut seen);
    let early: usize = seen.iter().map(Vec::len).sum();
    assert!((300 - 4 * 15..300).contains(&early), "{early} sent so far");
    // Full completions again: the next sync sends what waits.
    w.set_tx_per_sync(None);
    send_all(&mut t, &[frame(400, 64)]);
    take(&mut seen);
    for s in &seen {
        assert!(s.windows(2).all(|p| p[0] < p[1]), "a ring reordered: {s:?}");
    }
    let mut all: Vec<u32> = seen.concat();
    all.sort();
    assert_eq!(all, (100..401).collect::<Vec<_>>(), "each frame once");
    let s = t.stats();
    assert_eq!((s.packets, s.copies, s.drops), (361, 361, 0));
    drop(t);
    drop(w);
    assert_clean(&k, 1);
}

/// Several RX rings filled at once, each through a ring of 8 slots (so
/// every ring wraps many times), with a NIC FIFO that overflows: what the
/// NIC dropped is counted there, and of the rest each ring's frames come
/// in that ring's order, each once, every one in its own netmap buffer.
#[test]
fn receiving_from_several_full_rings_keeps_each_rings_order() {
    let k = EmuKernel::with_config(Config {
        fifo: 50,
        ..Config::default()
    });
    let w = k
        .add_nic(
            "eth8",
            Nic {
                tx_rings: 1,
                rx_rings: 3,
                host_rings: 1,
                slots: 8,
                mem_id: 0,
            },
        )
        .unwrap();
    for n in 0..60u32 {
        for ring in 0..3u32 {
            let accepted = w.inject(ring, &frame(ring << 16 | n, 64 + n as usize));
            assert_eq!(accepted, n < 50, "ring {ring} frame {n}");
        }
    }
    assert_eq!(w.drops(), 30);
    let mut r = rx(&k, "netmap:eth8");
    let mut per_ring: Vec<Vec<u32>> = vec![Vec::new(); 3];
    recv_all(&mut r, 150, |b| {
        for p in b.iter() {
            assert!(p.external_buffer().is_some(), "copied");
            let tag = seq_of(p.data()).unwrap();
            assert_eq!(p.len(), 64 + (tag & 0xffff) as usize);
            per_ring[(tag >> 16) as usize].push(tag & 0xffff);
        }
    });
    for (ring, got) in per_ring.iter().enumerate() {
        assert_eq!(got, &(0..50).collect::<Vec<_>>(), "ring {ring}");
    }
    let s = r.stats();
    assert_eq!(
        (s.packets, s.zero_copy, s.copies, s.drops),
        (150, 150, 0, 0)
    );
    let mut b = Batch::new();
    assert_eq!(r.recv(&mut b, 32).unwrap(), 0, "nothing more");
    drop(r);
    drop(w);
    assert_clean(&k, 1);
}

/// A buffer swapped into a NIC's slot must carry NS_BUF_CHANGED (the
/// driver reloads the slot's DMA mapping only then): the emulated kernel
/// refuses a changed index without it, as the backend's own tests rely on.
#[test]
fn a_swap_without_ns_buf_changed_is_a_fault() {
    let k = EmuKernel::new();
    let w = k.add_nic("eth9", Nic::default()).unwrap();
    let mut raw = RawPort::open(&k, "netmap:eth9", Dir::Tx, 2).unwrap();
    let spare = raw.spares().pop().unwrap();
    let (head, _, _) = raw.pointers(0);
    // With the flag: sent from the new buffer.
    let old = raw.swap(0, head, spare);
    raw.fill(0, 1, |_, b| {
        let f = frame(1, 64);
        b[..f.len()].copy_from_slice(&f);
        f.len()
    });
    raw.sync().unwrap();
    let sent = w.take_sent(0);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].buf_idx, spare);
    assert!(k.errors().is_empty(), "{:?}", k.errors());
    // Without: a fault.
    let (head, _, _) = raw.pointers(0);
    raw.swap(0, head, old);
    raw.set_flags(0, head, 0);
    raw.fill(0, 1, |_, _| 60);
    assert!(raw.sync().is_err());
    let e = k.errors();
    assert!(
        e.iter().any(|e| e.contains("without NS_BUF_CHANGED")),
        "{e:?}"
    );
}
