//! The netmap backend against a real netmap kernel, in the test guest
//! (netmap-io/tests/guest/): a sender and a receiver that checks every
//! frame, as separate commands around a running router, and a forwarder
//! built from the library alone.
//!
//! ```text
//! netmap_guest send PORT N [--pps R] [--len L]
//!     N frames out of PORT, numbered, each carrying the index of the
//!     buffer it was written in; at most R per second (0: no limit).
//! netmap_guest recv PORT N [--same-buffer] [--timeout S] [--name NAME]
//!     N frames in from PORT, checked in order and intact, the rate
//!     printed as `RATE NAME pps`; --same-buffer: each must arrive in the
//!     very buffer the sender wrote it in (no copy anywhere).
//! netmap_guest forward IN OUT N [--swap] [--same-buffer] [--pps R]
//!                     [--from PORT] [--to PORT] [--name NAME]
//!     sender -> IN -> (NetmapRx, NetmapTx) -> OUT -> receiver on three
//!     threads of this process, the sender at most 256 frames ahead of
//!     the receiver; --swap: the forwarder checks after each send that the
//!     TX slots hold the received packets' own buffers, and that nothing
//!     was copied. IN and OUT are the forwarder's ports; the sender and
//!     receiver use the other ends of pipes, or --from/--to.
//! netmap_guest pair FROM TO N [--same-buffer] [--name NAME]
//!     a sender on FROM and a checking receiver on TO, two threads of
//!     this process, the sender at most 256 frames ahead of the receiver
//!     (so nothing overflows a ring, even where a VALE switch or netmap's
//!     emulated mode would drop): around a router running beside it.
//! netmap_guest relay IN OUT SECONDS
//!     the forwarder alone, for rates with pkt-gen at both ends.
//! ```
//! Exits non-zero, saying why, on the first frame lost, reordered,
//! damaged or copied where it must not be.

use std::process::exit;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use click_engine::packet::Batch;
use netmap_io::netmap::{DevNetmap, Dir, NetmapRx, NetmapTx, PortName, RawPort};
use netmap_io::ring::{RxRing, TxRing};
use netmap_io::testnet::{frame, seq_of};
use netmap_io::RxConfig;

/// Frames the sender may be ahead of the receiver: a quarter of a
/// 1024-slot ring, so that a ring stays short of full even while the
/// forwarder between them holds slots it has read but not yet handed back
/// (it does at its next rxsync).
const WINDOW: u32 = 256;

fn fail(msg: String) -> ! {
    eprintln!("netmap_guest: FAIL: {msg}");
    exit(1);
}

/// Frame `seq` of `len` bytes, carrying buffer index `idx` at 18..22.
fn tagged(seq: u32, idx: u32, len: usize) -> Vec<u8> {
    let mut f = frame(seq, len);
    f[18..22].copy_from_slice(&idx.to_be_bytes());
    f
}

fn tag_of(f: &[u8]) -> u32 {
    u32::from_be_bytes([f[18], f[19], f[20], f[21]])
}

fn len_for(seq: u32, len: usize) -> usize {
    if len > 0 {
        len
    } else {
        60 + (seq as usize * 37) % 1455
    }
}

struct Opts {
    pps: u64,
    len: usize,
    same: bool,
    swap: bool,
    timeout: u64,
    name: String,
    from: Option<String>,
    to: Option<String>,
}

fn opts(args: &[String]) -> Opts {
    let mut o = Opts {
        pps: 0,
        len: 0,
        same: false,
        swap: false,
        timeout: 30,
        name: "run".into(),
        from: None,
        to: None,
    };
    let mut i = 0;
    while i < args.len() {
        let v = || args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--pps" => o.pps = v().parse().unwrap_or(0),
            "--len" => o.len = v().parse().unwrap_or(0),
            "--timeout" => o.timeout = v().parse().unwrap_or(30),
            "--name" => o.name = v(),
            "--from" => o.from = Some(v()),
            "--to" => o.to = Some(v()),
            "--same-buffer" => {
                o.same = true;
                i += 1;
                continue;
            }
            "--swap" => {
                o.swap = true;
                i += 1;
                continue;
            }
            a => fail(format!("unknown option {a}")),
        }
        i += 2;
    }
    o
}

fn open(port: &str, dir: Dir) -> RawPort {
    RawPort::open(&DevNetmap, port, dir, 0).unwrap_or_else(|e| fail(e))
}

/// The sender: N frames, paced to `pps` if not 0, flow-controlled by
/// `window` (frames ahead of `received`) when given.
/// Pins the calling thread to `cpu`. A veth in netmap's emulated mode
/// transmits in the txsync caller's context, and the frame enters the
/// peer through the backlog of the CPU it was sent from: a sender that
/// moves between CPUs has its frames delivered out of order (seen in the
/// guest). Every thread that transmits on a veth stays on one CPU.
fn pin(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes
    // inside it (cpu < CPU_SETSIZE); sched_setaffinity(0) reads it for the
    // calling thread.
    let ok = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    };
    if !ok {
        fail(format!(
            "pinning a thread to CPU {cpu}: {}",
            std::io::Error::last_os_error()
        ));
    }
}

fn send(port: &str, n: u32, o: &Opts, window: Option<(&AtomicU32, u32)>) {
    pin(0);
    let mut tx = open(port, Dir::Tx);
    let start = Instant::now();
    let mut sent = 0u32;
    while sent < n {
        let mut room = (n - sent) as usize;
        if o.pps > 0 {
            let due = (start.elapsed().as_secs_f64() * o.pps as f64) as u64 + 1;
            room = room.min(due.saturating_sub(sent as u64) as usize);
        }
        if let Some((received, w)) = window {
            let ahead = sent - received.load(Ordering::Acquire);
            room = room.min(w.saturating_sub(ahead) as usize);
        }
        if room == 0 {
            std::thread::sleep(Duration::from_micros(200));
            continue;
        }
        let mut s = sent;
        let filled = tx.fill(0, room.min(512), |idx, buf| {
            let f = tagged(s, idx, len_for(s, o.len));
            buf[..f.len()].copy_from_slice(&f);
            s += 1;
            f.len()
        });
        sent = s;
        tx.sync()
            .unwrap_or_else(|e| fail(format!("{port}: txsync: {e}")));
        if filled == 0 {
            tx.wait(10)
                .unwrap_or_else(|e| fail(format!("{port}: poll: {e}")));
        }
    }
    // Wait until the ring has handed everything over.
    let deadline = Instant::now() + Duration::from_secs(10);
    while tx.space(0) + 1 < tx.slots(0) && Instant::now() < deadline {
        tx.wait(10).ok();
        tx.sync().ok();
    }
    eprintln!(
        "netmap_guest: sent {n} frames on {port} in {:.3} s",
        start.elapsed().as_secs_f64()
    );
}

/// The receiver: checks N frames in order; returns (frames, seconds from
/// the first to the last).
fn recv(port: &str, n: u32, o: &Opts, received: Option<&AtomicU32>) -> f64 {
    let mut rx = open(port, Dir::Rx);
    let mut got = 0u32;
    let mut foreign = 0u64;
    let mut first: Option<Instant> = None;
    let mut last_progress = Instant::now();
    let mut copied = 0u32;
    while got < n {
        if last_progress.elapsed() > Duration::from_secs(o.timeout) {
            fail(format!(
                "{port}: {got} of {n} frames after {} s without progress",
                o.timeout
            ));
        }
        if rx.space(0) == 0 {
            // poll(2) on a netmap descriptor makes the rxsync itself.
            rx.wait(100)
                .unwrap_or_else(|e| fail(format!("{port}: poll: {e}")));
        }
        let mut err = None;
        let took = rx.take(0, 1024, |idx, f| {
            if err.is_some() {
                return;
            }
            let Some(seq) = seq_of(f) else {
                foreign += 1;
                return;
            };
            let want = tagged(seq, tag_of(f), len_for(seq, o.len));
            let intact = f == &want[..];
            if seq != got {
                err = Some(format!(
                    "{port}: frame {seq} where {got} was due (frame {seq} {})",
                    if intact { "intact" } else { "damaged" }
                ));
                return;
            }
            if !intact {
                err = Some(format!("{port}: frame {seq} damaged ({} bytes)", f.len()));
                return;
            }
            if tag_of(f) != idx {
                copied += 1;
                if o.same {
                    err = Some(format!(
                        "{port}: frame {seq} arrived in buffer {idx}, written in {}: copied",
                        tag_of(f)
                    ));
                    return;
                }
            }
            got += 1;
        });
        if let Some(e) = err {
            fail(e);
        }
        if took > 0 {
            first.get_or_insert_with(Instant::now);
            last_progress = Instant::now();
            // Hand the slots back before counting the frames received:
            // the sender's window must count what still fills this ring
            // (a VALE switch or netmap's emulated mode drops past a full
            // ring).
            rx.sync()
                .unwrap_or_else(|e| fail(format!("{port}: rxsync: {e}")));
            if let Some(r) = received {
                r.store(got, Ordering::Release);
            }
        }
    }
    let secs = first.map_or(0.0, |t| t.elapsed().as_secs_f64()).max(1e-9);
    println!(
        "netmap_guest: received {n} frames on {port} in order and intact ({} in their sender's buffer, {foreign} foreign)",
        n - copied
    );
    println!("RATE {} {:.0} pps", o.name, n as f64 / secs);
    secs
}

/// The forwarder from the library: NetmapRx on `inp`, NetmapTx on `out`,
/// checking that each packet's buffer is what its TX slot got.
fn forwarder(inp: &str, out: &str, stop: &AtomicBool, same: bool) -> (u64, u64, u64) {
    pin(1);
    let cfg = RxConfig::new(inp);
    let name_in = PortName::parse(inp).unwrap_or_else(|e| fail(e));
    let name_out = PortName::parse(out).unwrap_or_else(|e| fail(e));
    let mut r = NetmapRx::open_with(&DevNetmap, &name_in, &cfg).unwrap_or_else(|e| fail(e));
    let mut t = NetmapTx::open_with(&DevNetmap, &name_out).unwrap_or_else(|e| fail(e));
    eprintln!(
        "netmap_guest: forwarder {inp} (region {}) -> {out} (region {})",
        r.mem_id(),
        t.mem_id()
    );
    if same && r.region() != t.region() {
        fail(format!("{inp} and {out} are in different memory regions"));
    }
    let mut checked = 0u64;
    while !stop.load(Ordering::Acquire) {
        let mut b = Batch::new();
        match r.recv(&mut b, 32) {
            Ok(0) => {
                t.flush().unwrap_or_else(|e| fail(format!("{out}: {e}")));
                poll1(r.fd(), libc::POLLIN, 1);
                continue;
            }
            Ok(_) => {}
            Err(e) => fail(format!("{inp}: {e}")),
        }
        let tokens: Vec<u32> = b
            .iter()
            .map(|p| p.external_buffer().map_or(0, |e| e.token as u32))
            .collect();
        let mut done = 0;
        while !b.is_empty() {
            let before = b.len();
            let took = t
                .send(&mut b)
                .unwrap_or_else(|e| fail(format!("{out}: {e}")));
            if same && took > 0 {
                let slots = t.recent_buffers(took);
                if slots[..] != tokens[done..done + took] {
                    fail(format!(
                        "{out}: TX slots hold {slots:?}, the packets had {:?}: not a swap",
                        &tokens[done..done + took]
                    ));
                }
                checked += took as u64;
            }
            done += took;
            if b.len() == before {
                t.flush().ok();
                poll1(t.fd(), libc::POLLOUT, 1);
            }
        }
    }
    t.flush().ok();
    let (rs, ts) = (r.stats(), t.stats());
    eprintln!("netmap_guest: forwarder RX {rs:?}");
    eprintln!("netmap_guest: forwarder TX {ts:?}, {checked} swaps checked by buffer index");
    if same && (ts.copies != 0 || ts.zero_copy != rs.packets) {
        fail(format!(
            "forwarder: {} swaps, {} copies for {} packets",
            ts.zero_copy, ts.copies, rs.packets
        ));
    }
    (rs.packets, ts.zero_copy, checked)
}

fn poll1(fd: i32, events: i16, ms: i32) {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one live pollfd.
    unsafe { libc::poll(&mut p, 1, ms) };
}

/// The sender's and receiver's ends of the forwarder's ports: a pipe's
/// other end, or what --from/--to say.
fn peer(port: &str, given: &Option<String>) -> String {
    if let Some(g) = given {
        return g.clone();
    }
    if let Some(i) = port.find('}') {
        return format!("{}{{{}", &port[..i], &port[i + 1..]);
    }
    if let Some(i) = port.find('{') {
        return format!("{}}}{}", &port[..i], &port[i + 1..]);
    }
    fail(format!(
        "{port}: say --from/--to for a port that is not a pipe"
    ))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |s: Option<&String>| -> u32 {
        s.and_then(|s| s.parse().ok())
            .unwrap_or_else(|| fail("a frame count".into()))
    };
    match args.first().map(String::as_str) {
        Some("send") if args.len() >= 3 => {
            let o = opts(&args[3..]);
            send(&args[1], num(args.get(2)), &o, None);
        }
        Some("recv") if args.len() >= 3 => {
            let o = opts(&args[3..]);
            recv(&args[1], num(args.get(2)), &o, None);
        }
        Some("forward") if args.len() >= 4 => {
            let (inp, out, n) = (args[1].clone(), args[2].clone(), num(args.get(3)));
            let o = Arc::new(opts(&args[4..]));
            let from = peer(&inp, &o.from);
            let to = peer(&out, &o.to);
            let stop = Arc::new(AtomicBool::new(false));
            let received = Arc::new(AtomicU32::new(0));
            let fwd = {
                let (stop, o) = (stop.clone(), o.clone());
                std::thread::spawn(move || forwarder(&inp, &out, &stop, o.swap))
            };
            // Let the forwarder register first: a receiver or sender alone
            // on a pipe would otherwise make its pair before it.
            std::thread::sleep(Duration::from_millis(300));
            let rcv = {
                let (o, received) = (o.clone(), received.clone());
                std::thread::spawn(move || recv(&to, n, &o, Some(&received)))
            };
            std::thread::sleep(Duration::from_millis(100));
            send(&from, n, &o, Some((&received, WINDOW)));
            rcv.join()
                .unwrap_or_else(|_| fail("receiver panicked".into()));
            stop.store(true, Ordering::Release);
            let (packets, swaps, checked) = fwd
                .join()
                .unwrap_or_else(|_| fail("forwarder panicked".into()));
            println!(
                "netmap_guest: forwarded {packets} packets, {swaps} by buffer swap, {checked} swaps seen in the TX slots"
            );
        }
        Some("pair") if args.len() >= 4 => {
            let (from, to, n) = (args[1].clone(), args[2].clone(), num(args.get(3)));
            let o = Arc::new(opts(&args[4..]));
            let received = Arc::new(AtomicU32::new(0));
            let rcv = {
                let (o, received) = (o.clone(), received.clone());
                std::thread::spawn(move || recv(&to, n, &o, Some(&received)))
            };
            // The receiver registers first: frames sent before it would
            // be lost on a switch, or make a pipe's pair before it.
            std::thread::sleep(Duration::from_millis(300));
            send(&from, n, &o, Some((&received, WINDOW)));
            rcv.join()
                .unwrap_or_else(|_| fail("receiver panicked".into()));
        }
        Some("relay") if args.len() >= 4 => {
            // The forwarder alone for SECONDS (pkt-gen at both ends): the
            // library's rate without the router around it.
            let (inp, out) = (args[1].clone(), args[2].clone());
            let secs: u64 = args[3].parse().unwrap_or(5);
            let stop = Arc::new(AtomicBool::new(false));
            let fwd = {
                let stop = stop.clone();
                std::thread::spawn(move || forwarder(&inp, &out, &stop, false))
            };
            std::thread::sleep(Duration::from_secs(secs));
            stop.store(true, Ordering::Release);
            let (packets, swaps, _) = fwd
                .join()
                .unwrap_or_else(|_| fail("forwarder panicked".into()));
            println!("netmap_guest: relayed {packets} packets, {swaps} by buffer swap");
        }
        _ => {
            eprintln!("usage: netmap_guest send PORT N [--pps R] [--len L]");
            eprintln!(
                "       netmap_guest recv PORT N [--same-buffer] [--timeout S] [--name NAME]"
            );
            eprintln!(
                "       netmap_guest forward IN OUT N [--swap] [--same-buffer] [--from P] [--to P]"
            );
            eprintln!("       netmap_guest pair FROM TO N [--same-buffer] [--name NAME]");
            eprintln!("       netmap_guest relay IN OUT SECONDS");
            exit(2);
        }
    }
}
