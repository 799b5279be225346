//! Unit tests of the packet module. They share the process-wide pool (with
//! the default configuration) with the tests that run in parallel, so leak
//! checks use the calling thread's counters; exhaustion and whole-pool
//! accounting are in `engine/tests/packet_pool.rs`, a process of its own.

use std::net::Ipv4Addr;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use super::*;

/// Runs `f` and checks that it returned every entry it took (all on this
/// thread).
fn no_leak<R>(f: impl FnOnce() -> R) -> R {
    let before = PacketPool::thread_stats();
    let r = f();
    let after = PacketPool::thread_stats();
    assert_eq!(
        after.allocs - before.allocs,
        after.frees - before.frees,
        "entries leaked: {before:?} -> {after:?}"
    );
    r
}

fn pkt(data: &[u8]) -> Packet {
    Packet::from_slice(data).expect("pool has room")
}

#[test]
fn sizes() {
    assert_eq!(std::mem::size_of::<Packet>(), 8);
    assert_eq!(std::mem::size_of::<Option<Packet>>(), 8);
    assert_eq!(std::mem::size_of::<Anno>(), 64);
}

#[test]
fn new_and_from_slice() {
    no_leak(|| {
        let p = Packet::new(60).unwrap();
        assert_eq!(p.len(), 60);
        assert!(p.data().iter().all(|&b| b == 0));
        assert_eq!(p.headroom(), DEFAULT_HEADROOM);
        assert_eq!(p.buffer_capacity(), DEFAULT_BUF_SIZE);
        assert_eq!(p.tailroom(), DEFAULT_BUF_SIZE - DEFAULT_HEADROOM - 60);
        assert!(!p.is_shared());
        assert_eq!(p.anno(), &Anno::DEFAULT);

        let q = pkt(b"hello");
        assert_eq!(q.data(), b"hello");
        assert_eq!(q.headroom(), DEFAULT_HEADROOM);

        // Too long for the headroom: less headroom; too long at all: None.
        let big = vec![7u8; DEFAULT_BUF_SIZE - 10];
        let r = Packet::from_slice(&big).unwrap();
        assert_eq!(r.headroom(), 10);
        assert!(Packet::from_slice(&vec![0; DEFAULT_BUF_SIZE + 1]).is_none());
        assert!(Packet::new(DEFAULT_BUF_SIZE).is_none());
        assert!(Packet::with_headroom(0, DEFAULT_BUF_SIZE).is_some());
        assert!(Packet::with_headroom(DEFAULT_BUF_SIZE + 1, 0).is_none());
        let w = Packet::with_headroom(4, 10).unwrap();
        assert_eq!((w.headroom(), w.len()), (4, 10));
    });
}

#[test]
fn fresh_packet_data_is_zeroed_even_after_reuse() {
    no_leak(|| {
        for _ in 0..1000 {
            drop(pkt(&[0xaa; 200]));
        }
        let p = Packet::new(200).unwrap();
        assert!(p.data().iter().all(|&b| b == 0));
    });
}

#[test]
fn clone_shares_buffer_and_copies_annotations() {
    no_leak(|| {
        let mut p = pkt(b"abcdef");
        p.anno_mut().set_paint(3);
        p.anno_mut().set_dst_ip(Ipv4Addr::new(10, 0, 0, 1));
        let mut c = p.try_clone().unwrap();
        assert_eq!(c.data().as_ptr(), p.data().as_ptr());
        assert!(p.is_shared() && c.is_shared());
        assert_eq!(c.anno().paint(), 3);
        assert_eq!(c.anno().dst_ip(), Ipv4Addr::new(10, 0, 0, 1));
        // Annotations are per packet.
        c.anno_mut().set_paint(9);
        assert_eq!(p.anno().paint(), 3);
        // Window moves are per packet and need no copy.
        c.pull(2).unwrap();
        c.take(1).unwrap();
        assert_eq!(c.data(), b"cde");
        assert_eq!(p.data(), b"abcdef");
        assert!(c.is_shared());
    });
}

#[test]
fn drop_orders_keep_data_alive() {
    no_leak(|| {
        // Holder first, then clone.
        let p = pkt(b"xyz");
        let c = p.try_clone().unwrap();
        drop(p);
        assert_eq!(c.data(), b"xyz");
        assert!(!c.is_shared());
        drop(c);

        // Clone first, then holder.
        let p = pkt(b"xyz");
        let c = p.try_clone().unwrap();
        drop(c);
        assert!(!p.is_shared());
        assert_eq!(p.data(), b"xyz");
    });
}

#[test]
fn clone_chains_all_drop_orders() {
    // Packet 0 is the original; 1 a clone of 0; 2 a clone of 1; 3 of 2.
    let orders = permutations(4);
    assert_eq!(orders.len(), 24);
    no_leak(|| {
        for order in orders {
            let mut v: Vec<Option<Packet>> = vec![Some(pkt(b"chain"))];
            for i in 1..4 {
                let c = v[i - 1].as_ref().unwrap().try_clone().unwrap();
                v.push(Some(c));
            }
            for &i in &order {
                v[i] = None;
                for q in v.iter().flatten() {
                    assert_eq!(q.data(), b"chain");
                }
                let alive = v.iter().flatten().count();
                for q in v.iter().flatten() {
                    assert_eq!(q.is_shared(), alive > 1);
                }
            }
        }
    });
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn make_unique_of_clone_copies_into_own_buffer() {
    no_leak(|| {
        let p = pkt(b"original");
        let mut c = p.try_clone().unwrap();
        c.data_mut().unwrap()[0] = b'O';
        assert_eq!(c.data(), b"Original");
        assert_eq!(p.data(), b"original");
        assert_ne!(c.data().as_ptr(), p.data().as_ptr());
        assert!(!c.is_shared() && !p.is_shared());
        assert_eq!(c.headroom(), p.headroom());
    });
}

#[test]
fn copy_on_write_keeps_the_headroom() {
    // Click's uniqueify copies the headroom too: bytes a pull moved there
    // (a Strip) come back with a push (an Unstrip) after the copy.
    no_leak(|| {
        let mut p = pkt(b"ABCD");
        p.pull(2).unwrap();
        let mut c = p.try_clone().unwrap();
        c.make_unique().unwrap();
        c.push(2).unwrap();
        assert_eq!(c.data(), b"ABCD");
        // The holder moving to a fresh entry keeps it as well.
        let keep = p.try_clone().unwrap();
        p.make_unique().unwrap();
        p.push(2).unwrap();
        assert_eq!(p.data(), b"ABCD");
        drop(keep);
    });
}

#[test]
fn copy_on_write_keeps_bytes_written_in_the_headroom() {
    // Copies skip headroom that never held data, but not bytes an element
    // wrote there through `buffer_mut`: a later push reveals them.
    no_leak(|| {
        let mut p = pkt(b"data");
        let hr = p.headroom();
        p.buffer_mut().unwrap()[hr - 2..hr].copy_from_slice(b"x=");
        for holder_moves in [false, true] {
            let mut c = p.try_clone().unwrap();
            let copied = if holder_moves { &mut p } else { &mut c };
            copied.data_mut().unwrap()[0] = b'D';
            assert_eq!(copied.push(2).unwrap(), b"x=");
            assert_eq!(copied.data(), b"x=Data");
            copied.pull(2).unwrap();
            if holder_moves {
                drop(c);
            }
        }
    });
}

#[test]
fn make_unique_of_holder_moves_to_fresh_entry() {
    no_leak(|| {
        let mut p = pkt(b"original");
        p.anno_mut().set_paint(5);
        let c1 = p.try_clone().unwrap();
        let c2 = c1.try_clone().unwrap();
        let old = p.entry_index();
        p.data_mut().unwrap()[0] = b'O';
        assert_ne!(p.entry_index(), old);
        assert_eq!(p.anno().paint(), 5);
        assert_eq!(p.data(), b"Original");
        assert_eq!(c1.data(), b"original");
        assert!(!p.is_shared());
        assert!(c1.is_shared() && c2.is_shared());
        drop(c1);
        assert!(!c2.is_shared());
        assert_eq!(c2.data(), b"original");
    });
}

#[test]
fn last_clone_writes_in_place() {
    no_leak(|| {
        let p = pkt(b"abc");
        let mut c = p.try_clone().unwrap();
        let ptr = c.data().as_ptr();
        drop(p);
        c.data_mut().unwrap()[0] = b'A';
        assert_eq!(c.data().as_ptr(), ptr, "unique clone must not copy");
        assert_eq!(c.data(), b"Abc");
        // Cloning it again shares the same (former holder's) buffer.
        let d = c.try_clone().unwrap();
        assert_eq!(d.data().as_ptr(), ptr);
    });
}

#[test]
fn push_pull_put_take() {
    no_leak(|| {
        let mut p = pkt(b"payload");
        p.push(3).unwrap().copy_from_slice(b"hdr");
        assert_eq!(p.data(), b"hdrpayload");
        assert_eq!(p.headroom(), DEFAULT_HEADROOM - 3);
        p.put(2).unwrap().copy_from_slice(b"!!");
        assert_eq!(p.data(), b"hdrpayload!!");
        p.extend_from_slice(b"?").unwrap();
        p.pull(3).unwrap();
        p.take(3).unwrap();
        assert_eq!(p.data(), b"payload");
        assert_eq!(p.pull(8), Err(PacketError::OutOfBounds));
        assert_eq!(p.take(8), Err(PacketError::OutOfBounds));
        assert_eq!(p.data(), b"payload");
        p.truncate(3);
        assert_eq!(p.data(), b"pay");
        p.truncate(10);
        assert_eq!(p.data(), b"pay");
        p.pull(3).unwrap();
        assert!(p.is_empty());
    });
}

#[test]
fn push_without_headroom_moves_data() {
    no_leak(|| {
        let mut p = Packet::with_headroom(2, 0).unwrap();
        p.extend_from_slice(b"data").unwrap();
        p.set_network_header(0, 2);
        let front = p.push(10).unwrap();
        assert_eq!(front.len(), 10);
        front.copy_from_slice(b"0123456789");
        assert_eq!(p.data(), b"0123456789data");
        assert_eq!(p.headroom(), DEFAULT_HEADROOM);
        assert_eq!(p.network_header_offset(), Some(10));
        assert_eq!(p.network_header(), Some(&b"data"[..]));
        assert_eq!(p.transport_header(), Some(&b"ta"[..]));
    });
}

#[test]
fn put_without_tailroom_moves_data() {
    no_leak(|| {
        let cap = DEFAULT_BUF_SIZE;
        let mut p = Packet::with_headroom(100, cap - 100).unwrap();
        assert_eq!(p.tailroom(), 0);
        p.data_mut().unwrap()[0] = 1;
        p.put(50).unwrap().fill(2);
        assert_eq!(p.headroom(), 50);
        assert_eq!(p.len(), cap - 50);
        assert_eq!(p.data()[0], 1);
        assert_eq!(p.data()[cap - 51], 2);
        // Whole buffer used: no more room either way, packet unchanged.
        p.push(50).unwrap();
        assert_eq!(p.push(1).unwrap_err(), PacketError::NoRoom);
        assert_eq!(p.put(1).unwrap_err(), PacketError::NoRoom);
        assert_eq!((p.headroom(), p.len()), (0, cap));
    });
}

#[test]
fn push_on_shared_packet_copies_first() {
    no_leak(|| {
        let p = pkt(b"body");
        let mut c = p.try_clone().unwrap();
        c.push(2).unwrap().copy_from_slice(b"h:");
        assert_eq!(c.data(), b"h:body");
        assert_eq!(p.data(), b"body");
        // The original's headroom bytes were not touched.
        let hr = p.headroom();
        assert_ne!(&p.buffer()[hr - 2..hr], b"h:");
        let mut d = p.try_clone().unwrap();
        d.put(1).unwrap()[0] = b'!';
        assert_eq!(d.data(), b"body!");
        assert_eq!(p.data(), b"body");
    });
}

#[test]
fn headers_survive_pull_push_and_copies() {
    no_leak(|| {
        let mut frame = vec![0u8; 14 + 20 + 8];
        frame[12] = 0x08;
        frame[14] = 0x45;
        frame[34] = 0x99;
        let mut p = pkt(&frame);
        p.set_mac_header(0);
        p.set_network_header(14, 20);
        assert_eq!(p.network_header_length(), Some(20));
        p.pull(14).unwrap();
        assert_eq!(p.mac_header_offset(), Some(-14));
        assert_eq!(p.mac_header().unwrap()[12], 0x08);
        assert_eq!(p.network_header_offset(), Some(0));
        assert_eq!(p.network_header().unwrap()[0], 0x45);
        assert_eq!(p.transport_header().unwrap()[0], 0x99);

        // A clone copied on write keeps the pulled MAC header bytes.
        let mut c = p.try_clone().unwrap();
        c.make_unique().unwrap();
        assert_ne!(c.data().as_ptr(), p.data().as_ptr());
        assert_eq!(c.mac_header_offset(), Some(-14));
        assert_eq!(c.mac_header().unwrap()[12], 0x08);
        assert_eq!(c.transport_header().unwrap()[0], 0x99);

        // Trimming the data hides headers past the end.
        c.take(9).unwrap();
        assert!(c.transport_header().is_none());
        assert_eq!(c.transport_header_offset(), Some(20));
        c.clear_headers();
        assert!(c.mac_header().is_none() && c.network_header_offset().is_none());
        p.set_transport_header(4);
        assert_eq!(p.transport_header_offset(), Some(4));
    });
}

#[test]
#[should_panic(expected = "header offset beyond packet data")]
fn header_beyond_data_panics() {
    let mut p = pkt(b"ab");
    p.set_network_header(1, 5);
}

#[test]
fn annotations() {
    no_leak(|| {
        let mut p = Packet::new(1).unwrap();
        let a = p.anno_mut();
        a.set_timestamp(Timestamp::from_nanos(42));
        a.set_packet_type(PacketType::Broadcast);
        a.set_vlan_tci(100);
        a.set_u32(8, 0xfeed).unwrap();
        let c = p.try_clone().unwrap();
        assert_eq!(c.anno(), p.anno());
        assert_eq!(c.anno().timestamp().as_nanos(), 42);
        assert_eq!(c.anno().packet_type(), PacketType::Broadcast);
        assert_eq!(c.anno().u32(8), Some(0xfeed));
        assert_eq!(c.anno().vlan_tci(), 100);
        // A fresh packet in a recycled entry starts clean.
        drop((p, c));
        let q = Packet::new(1).unwrap();
        assert_eq!(q.anno(), &Anno::DEFAULT);
    });
}

#[test]
fn send_packet_crosses_threads() {
    let p = pkt(b"to the other side");
    let c = p.try_clone().unwrap();
    // Shared: no copy crossing; the write on the other side copies, and
    // the clone keeps the original data.
    let s = p.into_send();
    let (tx, rx) = std::sync::mpsc::channel::<SendPacket>();
    let (back_tx, back_rx) = std::sync::mpsc::channel::<SendPacket>();
    let t = std::thread::spawn(move || {
        for s in rx {
            let mut p = s.into_packet();
            p.data_mut().unwrap()[0] = b'T';
            back_tx.send(p.into_send()).unwrap();
        }
        // Entries freed here go to this thread's cache, flushed at exit.
    });
    tx.send(s).unwrap();
    let back = back_rx.recv().unwrap().into_packet();
    assert_eq!(back.data(), b"To the other side");
    assert_eq!(c.data(), b"to the other side");
    // Many more, freed on the other thread.
    for _ in 0..2000 {
        tx.send(pkt(b"x").into_send()).unwrap();
        drop(back_rx.recv().unwrap());
    }
    drop(tx);
    t.join().unwrap();
}

#[test]
fn clones_cross_threads_without_a_copy() {
    // Clones of one packet go to another thread, batch by batch, while
    // this thread goes on cloning it; the other side clones some again,
    // writes to some (copy-on-write) and frees them all. The buffer's
    // count, atomic from the first crossing on, must come back to exactly
    // this thread's one user: a lost update would leave the buffer shared
    // for ever, or free it under a clone still reading it.
    const BATCHES: usize = 3000;
    let mut p = pkt(b"shared payload");
    let buf = p.data().as_ptr() as usize;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<SendPacket>>(4);
    let other = std::thread::spawn(move || {
        let mut n = 0;
        for batch in rx {
            for s in batch {
                let mut q = s.into_packet();
                assert_eq!(q.data(), b"shared payload");
                assert_eq!(q.data().as_ptr() as usize, buf, "crossed by copy");
                if n % 3 == 0 {
                    let mut more = Batch::new();
                    q.clone_into(4, &mut more);
                }
                if n % 5 == 0 {
                    q.data_mut().unwrap()[0] = b'S';
                    assert_eq!(q.data(), b"Shared payload");
                }
                n += 1;
            }
        }
        n
    });
    for _ in 0..BATCHES {
        let mut batch = Batch::new();
        assert_eq!(p.clone_into(BATCH_CAPACITY, &mut batch), BATCH_CAPACITY);
        tx.send(batch.drain().map(Packet::into_send).collect())
            .unwrap();
    }
    drop(tx);
    assert_eq!(other.join().unwrap(), BATCHES * BATCH_CAPACITY);
    assert!(!p.is_shared(), "every clone is gone");
    p.data_mut().unwrap()[0] = b'X';
    assert_eq!(p.data().as_ptr() as usize, buf, "written in place");
    assert_eq!(p.data(), b"Xhared payload");
}

#[test]
fn packets_freed_during_thread_teardown() {
    use std::cell::RefCell;
    thread_local! {
        static KEEP: RefCell<Vec<Packet>> = const { RefCell::new(Vec::new()) };
    }
    std::thread::spawn(|| {
        let p = pkt(b"late");
        let c = p.try_clone().unwrap();
        KEEP.with(|k| k.borrow_mut().extend([p, c]));
    })
    .join()
    .unwrap();
}

/// A fake I/O ring that records released tokens.
struct FakeRing {
    released: Mutex<Vec<u64>>,
}

impl BufferOwner for FakeRing {
    fn release(&self, token: u64) {
        self.released.lock().unwrap().push(token);
    }
}

fn fake_ring() -> (Arc<FakeRing>, OwnerId) {
    let ring = Arc::new(FakeRing {
        released: Mutex::new(Vec::new()),
    });
    let id = register_buffer_owner(Box::new(ring.clone())).unwrap();
    (ring, id)
}

/// A leaked 512-byte "ring buffer" filled with `fill`.
fn ring_buffer(fill: u8) -> NonNull<u8> {
    let b: &'static mut [u8] = Box::leak(vec![fill; 512].into_boxed_slice());
    NonNull::new(b.as_mut_ptr()).unwrap()
}

fn released(ring: &FakeRing) -> Vec<u64> {
    ring.released.lock().unwrap().clone()
}

#[test]
fn external_buffer_released_after_last_clone() {
    let (ring, id) = fake_ring();
    no_leak(|| {
        let buf = ring_buffer(0x11);
        // SAFETY: a leaked buffer of 512 initialised bytes, used by nothing else.
        let p = unsafe { Packet::from_external(id, 7, buf, 512, 16, 64) }.unwrap();
        assert_eq!(p.data().as_ptr(), unsafe { buf.as_ptr().add(16) });
        assert_eq!(p.data(), &[0x11; 64][..]);
        let ext = p.external_buffer().unwrap();
        assert_eq!((ext.owner, ext.token, ext.offset, ext.len), (id, 7, 16, 64));
        let c = p.try_clone().unwrap();
        assert_eq!(c.external_buffer().unwrap().token, 7);
        drop(p);
        assert!(released(&ring).is_empty());
        drop(c);
        assert_eq!(released(&ring), vec![7]);
    });
}

#[test]
fn external_buffer_copy_on_write() {
    let (ring, id) = fake_ring();
    no_leak(|| {
        // SAFETY: as above.
        let mut p = unsafe { Packet::from_external(id, 1, ring_buffer(0), 512, 0, 10) }.unwrap();
        // Unique: written in place, still external.
        p.data_mut().unwrap()[0] = 5;
        assert!(p.external_buffer().is_some());
        // Shared: the holder moves to a pool buffer, the clone keeps the ring's.
        let c = p.try_clone().unwrap();
        p.data_mut().unwrap()[1] = 6;
        assert!(p.external_buffer().is_none());
        assert_eq!(&p.data()[..2], &[5, 6]);
        assert_eq!(&c.data()[..2], &[5, 0]);
        drop(p);
        assert!(released(&ring).is_empty());
        // A shared clone copies into its own pool buffer and lets go.
        let mut c2 = c.try_clone().unwrap();
        c2.make_unique().unwrap();
        assert!(c2.external_buffer().is_none());
        drop(c);
        assert_eq!(released(&ring), vec![1]);
        assert_eq!(&c2.data()[..2], &[5, 0]);
    });
}

#[test]
fn into_external_hands_buffer_back_without_release() {
    let (ring, id) = fake_ring();
    no_leak(|| {
        // SAFETY: as above.
        let p = unsafe { Packet::from_external(id, 3, ring_buffer(0), 512, 8, 60) }.unwrap();
        let c = p.try_clone().unwrap();
        let p = p
            .into_external()
            .expect_err("shared buffer cannot be handed back");
        drop(p);
        // The last user is a clone whose holder's handle is gone.
        let ext = c.into_external().unwrap();
        assert_eq!((ext.owner, ext.token, ext.offset, ext.len), (id, 3, 8, 60));
        assert!(released(&ring).is_empty());
        // A pool packet has no external buffer.
        let q = pkt(b"pool");
        assert!(q.external_buffer().is_none());
        assert!(q.into_external().is_err());
    });
}

#[test]
fn release_hook_may_drop_packets() {
    struct Reentrant(Mutex<Option<SendPacket>>, Mutex<Vec<u64>>);
    impl BufferOwner for Reentrant {
        fn release(&self, token: u64) {
            self.1.lock().unwrap().push(token);
            let p = self.0.lock().unwrap().take();
            drop(p);
        }
    }
    let owner = Arc::new(Reentrant(Mutex::new(None), Mutex::new(Vec::new())));
    let id = register_buffer_owner(Box::new(owner.clone())).unwrap();
    no_leak(|| {
        // SAFETY: as above.
        let p1 = unsafe { Packet::from_external(id, 1, ring_buffer(0), 512, 0, 1) }.unwrap();
        // SAFETY: as above.
        let p2 = unsafe { Packet::from_external(id, 2, ring_buffer(0), 512, 0, 1) }.unwrap();
        *owner.0.lock().unwrap() = Some(p2.into_send());
        let mut b = Batch::new();
        b.push(p1);
        b.push(pkt(b"x"));
        drop(b); // releases 1, whose hook drops p2, releasing 2
        assert_eq!(*owner.1.lock().unwrap(), vec![1, 2]);
    });
}

#[test]
fn batch_basics() {
    no_leak(|| {
        let mut b = Batch::new();
        assert!(b.is_empty());
        for i in 0..BATCH_CAPACITY {
            b.push(pkt(&[i as u8]));
        }
        assert!(b.is_full());
        let extra = b.try_push(pkt(b"x")).unwrap_err();
        assert_eq!(extra.data(), b"x");
        assert_eq!(b[3].data(), &[3]);
        b[3].anno_mut().set_paint(1);
        for p in &mut b {
            p.pull(0).unwrap();
        }
        assert_eq!(b.iter().map(|p| p.data()[0] as usize).sum::<usize>(), 496);
        let dropped = b.retain(|p| p.data()[0] % 2 == 0);
        assert_eq!(dropped, 16);
        assert_eq!(b.len(), 16);
        assert_eq!(b.pop().unwrap().data(), &[30]);
        let firsts: Vec<u8> = b.drain().take(2).map(|p| p.data()[0]).collect();
        assert_eq!(firsts, vec![0, 2]);
        assert!(b.is_empty());
        b.push(pkt(b"a"));
        b.push(pkt(b"b"));
        let v: Vec<Vec<u8>> = b.into_iter().map(|p| p.data().to_vec()).collect();
        assert_eq!(v, vec![b"a".to_vec(), b"b".to_vec()]);
        let mut c = Batch::new();
        c.push(pkt(b"c"));
        c.clear();
        assert!(c.is_empty());
    });
}

#[test]
#[should_panic(expected = "batch overflow")]
fn batch_push_overflow_panics() {
    let mut b = Batch::new();
    for _ in 0..=BATCH_CAPACITY {
        b.push(pkt(b"x"));
    }
}

#[test]
fn batch_split_keeps_order_and_counts_drops() {
    no_leak(|| {
        let mut b = Batch::new();
        for i in 0..20u8 {
            b.push(pkt(&[i]));
        }
        let mut outs: [Batch; 3] = Default::default();
        let dropped = b.split_by(&mut outs, |p| match p.data()[0] % 5 {
            4 => None,
            3 => Some(7), // no such port
            n => Some(n as usize),
        });
        assert_eq!(dropped, 8);
        let got: Vec<Vec<u8>> = outs
            .iter()
            .map(|o| o.iter().map(|p| p.data()[0]).collect())
            .collect();
        assert_eq!(got[0], vec![0, 5, 10, 15]);
        assert_eq!(got[1], vec![1, 6, 11, 16]);
        assert_eq!(got[2], vec![2, 7, 12, 17]);
    });
}

#[test]
fn batch_drop_mixed_holders() {
    let (ring, id) = fake_ring();
    no_leak(|| {
        // SAFETY: a leaked buffer of 512 initialised bytes, used by nothing else.
        let ext = unsafe { Packet::from_external(id, 11, ring_buffer(1), 512, 0, 4) }.unwrap();
        let a = pkt(b"a");
        let keep = a.try_clone().unwrap();
        let mut b = Batch::new();
        a.clone_into(3, &mut b);
        ext.clone_into(2, &mut b);
        b.push(a.try_clone().unwrap());
        b.push(ext);
        let bc = b[0].try_clone().unwrap(); // a clone of a clone: holder is `a`
        b.push(bc);
        b.push(a);
        a_then_clones(&mut b);
        drop(b);
        assert_eq!(released(&ring), vec![11]);
        assert!(!keep.is_shared());
        assert_eq!(keep.data(), b"a");
    });

    fn a_then_clones(b: &mut Batch) {
        let first = pkt(b"z");
        let c = first.try_clone().unwrap();
        b.push(first);
        b.push(c);
    }
}

#[test]
fn clone_into_batch() {
    no_leak(|| {
        let src = pkt(b"infinite");
        let mut b = Batch::new();
        b.push(pkt(b"first"));
        assert_eq!(src.clone_into(100, &mut b), BATCH_CAPACITY - 1);
        assert!(b.is_full());
        assert!(b
            .iter()
            .skip(1)
            .all(|p| p.data() == b"infinite" && p.is_shared()));
        assert_eq!(src.clone_into(1, &mut b), 0);
        drop(b);
        assert!(!src.is_shared());
    });
}

#[test]
fn pool_stats_are_coherent() {
    let s = PacketPool::stats();
    assert_eq!(s.capacity, PacketPool::config().entries);
    assert_eq!(s.in_use + s.free, s.capacity);
    assert!(PacketPool::init(10, 256).is_err());
    PacketPool::flush_thread_cache();
}

mod model {
    //! Random operation sequences checked against a model of each packet's
    //! bytes; every entry taken must come back.
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        New(u8, u8),
        Clone(usize),
        Drop(usize),
        Write(usize, u8),
        Push(usize, u8),
        Pull(usize, u8),
        Put(usize, u8),
        Take(usize, u8),
        Send(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (any::<u8>(), any::<u8>()).prop_map(|(l, f)| Op::New(l, f)),
            any::<usize>().prop_map(Op::Clone),
            any::<usize>().prop_map(Op::Drop),
            (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Op::Write(i, v)),
            (any::<usize>(), any::<u8>()).prop_map(|(i, n)| Op::Push(i, n)),
            (any::<usize>(), any::<u8>()).prop_map(|(i, n)| Op::Pull(i, n)),
            (any::<usize>(), any::<u8>()).prop_map(|(i, n)| Op::Put(i, n)),
            (any::<usize>(), any::<u8>()).prop_map(|(i, n)| Op::Take(i, n)),
            any::<usize>().prop_map(Op::Send),
        ]
    }

    proptest! {
        #[test]
        fn random_ops_match_model(ops in proptest::collection::vec(op(), 1..200)) {
            no_leak(|| {
                let mut live: Vec<(Packet, Vec<u8>)> = Vec::new();
                for op in ops {
                    let n = live.len();
                    match op {
                        Op::New(len, fill) => {
                            let data = vec![fill; len as usize];
                            live.push((pkt(&data), data));
                        }
                        Op::Clone(i) if n > 0 => {
                            let (p, d) = &live[i % n];
                            let c = (p.try_clone().unwrap(), d.clone());
                            live.push(c);
                        }
                        Op::Drop(i) if n > 0 => {
                            live.swap_remove(i % n);
                        }
                        Op::Write(i, v) if n > 0 => {
                            let (p, d) = &mut live[i % n];
                            if !d.is_empty() {
                                let at = v as usize % d.len();
                                p.data_mut().unwrap()[at] = v;
                                d[at] = v;
                            }
                        }
                        Op::Push(i, k) if n > 0 => {
                            let (p, d) = &mut live[i % n];
                            if d.len() + k as usize > DEFAULT_BUF_SIZE {
                                assert_eq!(p.push(k as usize).unwrap_err(), PacketError::NoRoom);
                            } else {
                                p.push(k as usize).unwrap().fill(k);
                                d.splice(0..0, std::iter::repeat_n(k, k as usize));
                            }
                        }
                        Op::Put(i, k) if n > 0 => {
                            let (p, d) = &mut live[i % n];
                            if d.len() + k as usize > DEFAULT_BUF_SIZE {
                                assert_eq!(p.put(k as usize).unwrap_err(), PacketError::NoRoom);
                            } else {
                                p.put(k as usize).unwrap().fill(k);
                                d.extend(std::iter::repeat_n(k, k as usize));
                            }
                        }
                        Op::Pull(i, k) if n > 0 => {
                            let (p, d) = &mut live[i % n];
                            let k = (k as usize).min(d.len());
                            p.pull(k).unwrap();
                            d.drain(..k);
                        }
                        Op::Take(i, k) if n > 0 => {
                            let (p, d) = &mut live[i % n];
                            let k = (k as usize).min(d.len());
                            p.take(k).unwrap();
                            d.truncate(d.len() - k);
                        }
                        Op::Send(i) if n > 0 => {
                            let (p, d) = live.swap_remove(i % n);
                            let p = p.into_send().into_packet();
                            live.push((p, d));
                        }
                        _ => {}
                    }
                    for (p, d) in &live {
                        assert_eq!(p.data(), &d[..]);
                    }
                }
            });
        }
    }
}
