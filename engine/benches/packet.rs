//! Micro-benchmarks of the packet pool: `cargo bench -p click-engine --bench
//! packet`. Each figure is the best of 5 runs, in nanoseconds per operation
//! (per packet for batch operations), in CPU time of the thread (from
//! `/proc/thread-self/schedstat`, so a loaded machine does not inflate it)
//! and in wall time (`Instant`).

use std::hint::black_box;
use std::time::Instant;

use std::ptr::NonNull;

use click_engine::packet::{
    register_buffer_owner, token_queue, Batch, Packet, RegionId, RxBuffer, BATCH_CAPACITY,
};

const ITERS: u64 = 30_000_000;

/// Nanoseconds this thread has run on a CPU, if the kernel tells.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn bench(name: &str, ops_per_iter: u64, mut f: impl FnMut()) {
    let iters = ITERS / ops_per_iter;
    for _ in 0..iters / 10 {
        f();
    }
    let ops = (iters * ops_per_iter) as f64;
    let (mut best_cpu, mut best_wall) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..5 {
        let (c, t) = (cpu_ns(), Instant::now());
        for _ in 0..iters {
            f();
        }
        best_wall = best_wall.min(t.elapsed().as_secs_f64() * 1e9 / ops);
        if let (Some(c0), Some(c1)) = (c, cpu_ns()) {
            best_cpu = best_cpu.min((c1 - c0) as f64 / ops);
        }
    }
    println!(
        "{name:<44} cpu {best_cpu:>6.2} ns/op ({:>6.1} Mop/s)  wall {best_wall:>6.2} ns/op",
        1e3 / best_cpu
    );
}

fn main() {
    let src = Packet::from_slice(&[0xab; 64]).unwrap();

    let mut x = 0u64;
    bench("baseline: empty loop (black_box counter)", 1, || {
        x = black_box(x + 1);
    });

    bench("alloc+drop (Packet::with_headroom(128, 0))", 1, || {
        drop(black_box(Packet::with_headroom(128, 0)));
    });
    bench("alloc+drop (Packet::new(64), zero-filled)", 1, || {
        drop(black_box(Packet::new(64)));
    });
    bench("alloc+drop (Packet::from_slice(64 B))", 1, || {
        drop(black_box(Packet::from_slice(black_box(&[1u8; 64]))));
    });
    bench("clone+drop", 1, || {
        drop(black_box(src.try_clone()));
    });
    bench(
        "batch: 32 x try_clone + push, drop batch",
        BATCH_CAPACITY as u64,
        || {
            let mut b = Batch::new();
            for _ in 0..BATCH_CAPACITY {
                b.push(src.try_clone().unwrap());
            }
            drop(black_box(b));
        },
    );
    bench(
        "batch: clone_into(32), drop batch",
        BATCH_CAPACITY as u64,
        || {
            let mut b = Batch::new();
            src.clone_into(BATCH_CAPACITY, &mut b);
            drop(black_box(b));
        },
    );
    let mut count = 0u64;
    let mut bytes = 0u64;
    bench(
        "source->counter->discard (clone_into 32)",
        BATCH_CAPACITY as u64,
        || {
            let mut b = Batch::new();
            src.clone_into(BATCH_CAPACITY, &mut b);
            for p in &b {
                count += 1;
                bytes += p.len() as u64;
            }
            drop(black_box(b));
        },
    );
    black_box((count, bytes));
    bench("clone+make_unique (64 B copy)+drop", 1, || {
        let mut c = src.try_clone().unwrap();
        c.make_unique().unwrap();
        drop(black_box(c));
    });
    let mut p = Packet::from_slice(&[0u8; 64]).unwrap();
    bench("push(14)+pull(14) on a unique packet", 1, || {
        black_box(p.push(14).unwrap());
        p.pull(14).unwrap();
    });
    let mut slot = Some(p);
    bench("into_send+into_packet (unique)", 1, || {
        let q = slot.take().unwrap().into_send();
        slot = Some(black_box(q).into_packet());
    });

    // Zero-copy receive: 32 ring buffers wrapped in one call, the batch
    // dropped (one release_batch into a token queue), the tokens drained
    // back as a ring thread would.
    let mem: &'static mut [u8] = Box::leak(vec![0u8; 2048 * BATCH_CAPACITY].into_boxed_slice());
    let base = NonNull::new(mem.as_mut_ptr()).unwrap();
    let bufs: Vec<RxBuffer> = (0..BATCH_CAPACITY)
        .map(|i| RxBuffer {
            token: i as u64,
            buf: NonNull::new(base.as_ptr().wrapping_add(i * 2048)).unwrap(),
            cap: 2048,
            head: 64,
            len: 64,
        })
        .collect();
    let (tx, mut rx) = token_queue(BATCH_CAPACITY);
    let owner = register_buffer_owner(Box::new(tx), RegionId(1)).unwrap();
    let mut back = [0u64; BATCH_CAPACITY];
    bench(
        "external: wrap 32, drop batch, drain tokens",
        BATCH_CAPACITY as u64,
        || {
            let mut b = Batch::new();
            // SAFETY: a leaked buffer per token, each wrapped only after
            // its token came back.
            let n = unsafe { b.wrap_external(&owner, &bufs) };
            drop(black_box(b));
            assert_eq!(rx.drain(&mut back), n);
        },
    );
    drop(owner);

    bench("large: alloc+drop (Packet::new(9000))", 1, || {
        drop(black_box(Packet::new(black_box(9000))));
    });
}
