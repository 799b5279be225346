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

        // Too long for the headroom: less headroom, in a small buffer.
        let big = vec![7u8; DEFAULT_BUF_SIZE - 10];
        let r = Packet::from_slice(&big).unwrap();
        assert_eq!(r.headroom(), 10);
        assert_eq!(r.buffer_capacity(), DEFAULT_BUF_SIZE);
        let n = Packet::new(DEFAULT_BUF_SIZE).unwrap();
        assert_eq!((n.headroom(), n.buffer_capacity()), (0, DEFAULT_BUF_SIZE));
        let w = Packet::with_headroom(4, 10).unwrap();
        assert_eq!((w.headroom(), w.len()), (4, 10));
        drop((r, n, w));
    });
}

#[test]
fn packets_of_every_size() {
    // Longer than a small buffer: a large one, with the default headroom
    // (jumbo frames, 64 KB GSO frames, InfiniteSource(LENGTH 65535)).
    for len in [DEFAULT_BUF_SIZE + 1, 9000, 65535, 65536 + 14] {
        let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let p = Packet::from_slice(&data).unwrap();
        assert_eq!(p.data(), &data[..]);
        assert_eq!(p.headroom(), DEFAULT_HEADROOM);
        assert_eq!(p.buffer_capacity(), DEFAULT_LARGE_BUF_SIZE);
        assert!(p.external_buffer().is_none());
        // Clones share it; a written clone gets a large buffer of its own.
        let mut c = p.try_clone().unwrap();
        assert_eq!(c.data().as_ptr(), p.data().as_ptr());
        c.data_mut().unwrap()[len - 1] ^= 0xff;
        assert_ne!(c.data().as_ptr(), p.data().as_ptr());
        assert_eq!(p.data(), &data[..]);
        assert_eq!(c.data()[..len - 1], data[..len - 1]);
        // A clone shortened to fit a small buffer copies into its own.
        let mut s = p.try_clone().unwrap();
        s.take(len - 100).unwrap();
        s.data_mut().unwrap()[0] = 1;
        assert_eq!(s.buffer_capacity(), DEFAULT_BUF_SIZE);
        assert_eq!(&s.data()[1..], &data[1..100]);
        let z = Packet::new(len).unwrap();
        assert!(z.data().iter().all(|&b| b == 0));
    }
    let max = PacketPool::max_packet_len();
    assert_eq!(max, DEFAULT_LARGE_BUF_SIZE);
    assert_eq!(Packet::new(max).unwrap().headroom(), 0);
    assert_eq!(
        Packet::new(max + 1).unwrap_err(),
        PacketError::TooLong { len: max + 1, max }
    );
    assert_eq!(
        Packet::with_headroom(DEFAULT_HEADROOM, max).unwrap_err(),
        PacketError::TooLong {
            len: DEFAULT_HEADROOM + max,
            max
        }
    );
}

#[test]
fn unstrip_100000_on_a_short_packet() {
    // Click's `Unstrip(100000)` on a 10-byte packet: the push moves the
    // packet to a large buffer (Click's expensive push).
    no_leak(|| {
        let mut p = pkt(b"0123456789");
        p.set_mac_header(0).unwrap();
        let front = p.push(100_000).unwrap();
        assert_eq!(front.len(), 100_000);
        front.fill(0xee);
        assert_eq!(p.len(), 100_010);
        assert_eq!(&p.data()[100_000..], b"0123456789");
        assert_eq!(p.headroom(), DEFAULT_HEADROOM);
        // The MAC header now lies beyond what a 16-bit offset holds: unset,
        // and marking one there is an error, not a panic.
        assert_eq!(p.mac_header_offset(), None);
        assert_eq!(
            p.set_mac_header(100_000),
            Err(PacketError::HeaderOutOfRange)
        );
        p.set_mac_header(10).unwrap();
        assert_eq!(p.mac_header_offset(), Some(10));
        // And back: pulling it off again leaves the data as it was.
        p.pull(100_000).unwrap();
        assert_eq!(p.data(), b"0123456789");
        // Past the maximum: an error naming it.
        let err = p.push(PacketPool::max_packet_len()).unwrap_err();
        assert!(
            err.to_string().ends_with(&format!(
                "maximum of {} bytes",
                PacketPool::max_packet_len()
            )),
            "{err}"
        );
        assert_eq!(p.data(), b"0123456789");
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
        p.set_network_header(0, 2).unwrap();
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
        // Whole buffer used: a push or a put moves the packet to a large
        // buffer, with the default headroom.
        p.push(50).unwrap();
        assert_eq!((p.headroom(), p.len()), (0, cap));
        p.push(1).unwrap()[0] = 3;
        assert_eq!((p.headroom(), p.len()), (DEFAULT_HEADROOM, cap + 1));
        assert_eq!(p.buffer_capacity(), DEFAULT_LARGE_BUF_SIZE);
        assert_eq!((p.data()[0], p.data()[51], p.data()[cap]), (3, 1, 2));
        let mut q = Packet::with_headroom(0, cap).unwrap();
        q.put(1).unwrap()[0] = 4;
        assert_eq!((q.headroom(), q.len()), (DEFAULT_HEADROOM, cap + 1));
        assert_eq!(q.data()[cap], 4);
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
        p.set_mac_header(0).unwrap();
        p.set_network_header(14, 20).unwrap();
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
        p.set_transport_header(4).unwrap();
        assert_eq!(p.transport_header_offset(), Some(4));
    });
}

#[test]
fn header_beyond_data_is_an_error() {
    no_leak(|| {
        let mut p = pkt(b"ab");
        p.set_mac_header(0).unwrap();
        let before = *p.anno();
        assert_eq!(p.set_network_header(1, 5), Err(PacketError::OutOfBounds));
        assert_eq!(
            p.set_network_header(1, usize::MAX),
            Err(PacketError::OutOfBounds)
        );
        assert_eq!(p.set_mac_header(3), Err(PacketError::OutOfBounds));
        assert_eq!(p.set_transport_header(9), Err(PacketError::OutOfBounds));
        assert_eq!(p.anno(), &before, "a failed mark changes nothing");
        // The end of the data is a valid (empty) header.
        p.set_network_header(2, 0).unwrap();
        assert_eq!(p.network_header(), Some(&b""[..]));
    });
}

#[test]
fn header_bytes_are_the_header_slices_words() {
    no_leak(|| {
        let data: Vec<u8> = (0..40u8).collect();
        let mut p = pkt(&data);
        let check = |p: &Packet| {
            for off in (0..48u32).chain([u32::MAX - 3, u32::MAX]) {
                let o = off as usize;
                let want = |h: Option<&[u8]>| {
                    h.and_then(|h| h.get(o..o.checked_add(4)?))
                        .map(|w| w.to_vec())
                };
                let got = |b: Option<&[u8; 4]>| b.map(|w| w.to_vec());
                assert_eq!(
                    got(p.mac_header_bytes::<4>(off)),
                    want(p.mac_header()),
                    "{off}"
                );
                assert_eq!(
                    got(p.network_header_bytes::<4>(off)),
                    want(p.network_header()),
                    "{off}"
                );
                assert_eq!(
                    got(p.transport_header_bytes::<4>(off)),
                    want(p.transport_header()),
                    "{off}"
                );
            }
        };
        check(&p); // no header set
        p.set_mac_header(0).unwrap();
        p.set_network_header(14, 20).unwrap();
        check(&p);
        p.pull(20).unwrap(); // the MAC and network headers partly in the headroom
        check(&p);
        p.take(10).unwrap(); // and the transport header past the data
        check(&p);
    });
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

fn fake_ring() -> (Arc<FakeRing>, OwnerRegistration) {
    let ring = Arc::new(FakeRing {
        released: Mutex::new(Vec::new()),
    });
    let reg = register_buffer_owner(Box::new(ring.clone()), RegionId(0xfa4e)).unwrap();
    (ring, reg)
}

/// A received buffer of 512 bytes at `buf`.
fn rx(token: u64, buf: NonNull<u8>, head: usize, len: usize) -> RxBuffer {
    RxBuffer {
        token,
        buf,
        cap: 512,
        head,
        len,
    }
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
    let (ring, reg) = fake_ring();
    no_leak(|| {
        let buf = ring_buffer(0x11);
        // SAFETY: a leaked buffer of 512 initialised bytes, used by nothing else.
        let p = unsafe { Packet::from_external(&reg, rx(7, buf, 16, 64)) }.unwrap();
        assert_eq!(p.data().as_ptr(), unsafe { buf.as_ptr().add(16) });
        assert_eq!(p.data(), &[0x11; 64][..]);
        let ext = p.external_buffer().unwrap();
        assert_eq!(
            (ext.owner, ext.region, ext.token, ext.offset, ext.len),
            (reg.id(), reg.region(), 7, 16, 64)
        );
        assert_eq!(reg.outstanding(), 1);
        let c = p.try_clone().unwrap();
        assert_eq!(c.external_buffer().unwrap().token, 7);
        drop(p);
        assert!(released(&ring).is_empty());
        drop(c);
        assert_eq!(released(&ring), vec![7]);
        assert_eq!(reg.outstanding(), 0);
    });
}

#[test]
fn external_buffer_bounds_are_checked() {
    let (ring, reg) = fake_ring();
    no_leak(|| {
        let buf = ring_buffer(0);
        for (head, len) in [(0, 513), (512, 1), (513, 0), (8, usize::MAX)] {
            // SAFETY: a leaked buffer of 512 initialised bytes; the call
            // fails, so nothing keeps it.
            let r = unsafe { Packet::from_external(&reg, rx(1, buf, head, len)) };
            assert_eq!(r.unwrap_err(), PacketError::OutOfBounds, "{head} {len}");
        }
        // SAFETY: as above.
        let huge = RxBuffer {
            cap: MAX_BUF_SIZE + 1,
            ..rx(1, buf, 0, 1)
        };
        let too_long = PacketError::TooLong {
            len: MAX_BUF_SIZE + 1,
            max: MAX_BUF_SIZE,
        };
        assert_eq!(huge.check(), Err(too_long));
        // SAFETY: as above.
        let r = unsafe { Packet::from_external(&reg, huge) };
        assert_eq!(r.unwrap_err(), too_long);
        // A batch wraps up to the first bad one.
        let bufs = [rx(1, buf, 0, 8), rx(2, buf, 0, 600), rx(3, buf, 0, 8)];
        let mut b = Batch::new();
        // SAFETY: as above (the one buffer wrapped is used by nothing else).
        assert_eq!(unsafe { b.wrap_external(&reg, &bufs) }, 1);
        assert_eq!(reg.outstanding(), 1);
        drop(b);
        assert_eq!(released(&ring), vec![1]);
        assert_eq!(reg.outstanding(), 0);
    });
}

#[test]
fn external_buffer_copy_on_write() {
    let (ring, reg) = fake_ring();
    no_leak(|| {
        // SAFETY: as above.
        let mut p = unsafe { Packet::from_external(&reg, rx(1, ring_buffer(0), 0, 10)) }.unwrap();
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
    let (ring, reg) = fake_ring();
    no_leak(|| {
        // SAFETY: as above.
        let p = unsafe { Packet::from_external(&reg, rx(3, ring_buffer(0), 8, 60)) }.unwrap();
        let c = p.try_clone().unwrap();
        let p = p
            .into_external()
            .expect_err("shared buffer cannot be handed back");
        drop(p);
        // The last user is a clone whose holder's handle is gone.
        let ext = c.into_external().unwrap();
        assert_eq!(
            (ext.owner, ext.token, ext.offset, ext.len),
            (reg.id(), 3, 8, 60)
        );
        assert!(released(&ring).is_empty());
        assert_eq!(reg.outstanding(), 0, "a buffer taken back is not counted");
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
    let reg = register_buffer_owner(Box::new(owner.clone()), RegionId(2)).unwrap();
    no_leak(|| {
        // SAFETY: as above.
        let p1 = unsafe { Packet::from_external(&reg, rx(1, ring_buffer(0), 0, 1)) }.unwrap();
        // SAFETY: as above.
        let p2 = unsafe { Packet::from_external(&reg, rx(2, ring_buffer(0), 0, 1)) }.unwrap();
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
    let (ring, reg) = fake_ring();
    no_leak(|| {
        // SAFETY: a leaked buffer of 512 initialised bytes, used by nothing else.
        let ext = unsafe { Packet::from_external(&reg, rx(11, ring_buffer(1), 0, 4)) }.unwrap();
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

/// An owner that records each hook call's tokens, and counts its drops.
struct BatchRing {
    calls: Mutex<Vec<Vec<u64>>>,
    dropped: Arc<std::sync::atomic::AtomicUsize>,
}

impl BufferOwner for BatchRing {
    fn release(&self, token: u64) {
        self.calls.lock().unwrap().push(vec![token]);
    }

    fn release_batch(&self, tokens: &[u64]) {
        self.calls.lock().unwrap().push(tokens.to_vec());
    }
}

impl Drop for BatchRing {
    fn drop(&mut self) {
        self.dropped
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn batch_ring(region: u64) -> (Arc<BatchRing>, OwnerRegistration) {
    let ring = Arc::new(BatchRing {
        calls: Mutex::new(Vec::new()),
        dropped: Arc::default(),
    });
    let reg = register_buffer_owner(Box::new(ring.clone()), RegionId(region)).unwrap();
    (ring, reg)
}

fn calls(ring: &BatchRing) -> Vec<Vec<u64>> {
    std::mem::take(&mut *ring.calls.lock().unwrap())
}

/// `n` received buffers of 512 bytes, tokens from `first` on, each filled
/// with its token's low byte.
fn rx_bufs(first: u64, n: usize) -> Vec<RxBuffer> {
    (0..n as u64)
        .map(|i| rx(first + i, ring_buffer((first + i) as u8), 4, 60))
        .collect()
}

#[test]
fn wrap_external_fills_a_batch_in_one_call() {
    let (ring, reg) = batch_ring(10);
    no_leak(|| {
        let mut b = Batch::new();
        b.push(pkt(b"first"));
        let bufs = rx_bufs(100, 40);
        // SAFETY: leaked buffers of 512 initialised bytes, used by nothing
        // else.
        let n = unsafe { b.wrap_external(&reg, &bufs) };
        assert_eq!(n, BATCH_CAPACITY - 1, "up to the batch's room");
        assert_eq!(reg.outstanding(), n as u64);
        for (p, rx) in b.iter().skip(1).zip(&bufs) {
            assert_eq!(p.data().as_ptr(), rx.buf.as_ptr().wrapping_add(4));
            assert_eq!(p.data(), &[rx.token as u8; 60][..]);
            assert_eq!(p.anno(), &Anno::DEFAULT);
            assert_eq!(p.external_buffer().unwrap().token, rx.token);
        }
        // One hook call for the whole batch, in order.
        drop(b);
        assert_eq!(
            calls(&ring),
            vec![(100..100 + n as u64).collect::<Vec<_>>()]
        );
        assert_eq!(reg.outstanding(), 0);
    });
}

#[test]
fn a_batch_free_calls_each_owner_once() {
    let (a, reg_a) = batch_ring(20);
    let (b, reg_b) = batch_ring(21);
    no_leak(|| {
        let mut batch = Batch::new();
        let mut xa = Batch::new();
        let mut xb = Batch::new();
        // SAFETY: leaked buffers, used by nothing else.
        unsafe {
            assert_eq!(xa.wrap_external(&reg_a, &rx_bufs(1, 4)), 4);
            assert_eq!(xb.wrap_external(&reg_b, &rx_bufs(50, 3)), 3);
        }
        let (mut xa, mut xb) = (xa.into_iter(), xb.into_iter());
        // Interleaved, with pool packets, a large one, and a run of clones
        // of an external packet whose holder is freed by the run.
        let a3 = xa.next_back().unwrap();
        for (pa, pb) in xa.by_ref().zip(xb.by_ref()) {
            batch.push(pa);
            batch.push(pkt(b"pool"));
            batch.push(pb);
        }
        batch.push(Packet::new(5000).unwrap());
        a3.clone_into(3, &mut batch);
        drop(a3);
        assert!(xa.next().is_none() && xb.next().is_none());
        assert!(calls(&a).is_empty() && calls(&b).is_empty());
        drop(batch);
        assert_eq!(calls(&a), vec![vec![1, 2, 3, 4]]);
        assert_eq!(calls(&b), vec![vec![50, 51, 52]]);
        assert_eq!((reg_a.outstanding(), reg_b.outstanding()), (0, 0));
    });
}

#[test]
fn drain_external_takes_swappable_buffers_in_order() {
    // Owners a and b share region 30, c is in region 31.
    let (a, reg_a) = batch_ring(30);
    let (b, reg_b) = batch_ring(30);
    let (c, reg_c) = batch_ring(31);
    no_leak(|| {
        let mut x = Batch::new();
        // SAFETY: leaked buffers, used by nothing else.
        unsafe {
            x.wrap_external(&reg_a, &rx_bufs(1, 2));
            x.wrap_external(&reg_b, &rx_bufs(10, 1));
            x.wrap_external(&reg_c, &rx_bufs(20, 1));
        }
        let mut x = x.into_iter();
        let (a1, a2, b1, c1) = (
            x.next().unwrap(),
            x.next().unwrap(),
            x.next().unwrap(),
            x.next().unwrap(),
        );
        let keep = a2.try_clone().unwrap(); // a2's buffer is shared
        let only_clone = b1.try_clone().unwrap();
        drop(b1); // the clone is b1's buffer's only user now
        let mut batch = Batch::new();
        batch.push(a1);
        batch.push(pkt(b"pool"));
        batch.push(a2);
        batch.push(only_clone);
        batch.push(c1);
        let mut got = Vec::new();
        batch.drain_external(RegionId(30), |r| {
            got.push(match r {
                Ok(ext) => format!("swap {} ({:?})", ext.token, ext.owner),
                Err(p) => format!("copy {:?}", &p.data()[..1]),
            });
        });
        assert!(batch.is_empty());
        assert_eq!(
            got,
            [
                format!("swap 1 ({:?})", reg_a.id()),
                "copy [112]".to_string(),
                "copy [2]".to_string(),
                format!("swap 10 ({:?})", reg_b.id()),
                "copy [20]".to_string(),
            ]
        );
        // Taken buffers are not released, and no longer counted; the ones
        // handed over as packets were dropped by the closure.
        assert!(calls(&b).is_empty());
        assert_eq!(calls(&c), vec![vec![20]]);
        assert!(calls(&a).is_empty(), "a2's buffer is still kept");
        assert_eq!(reg_a.outstanding(), 1);
        assert_eq!((reg_b.outstanding(), reg_c.outstanding()), (0, 0));
        drop(keep);
        assert_eq!(calls(&a), vec![vec![2]]);
    });
}

#[test]
fn owner_registrations_are_freed_and_reused() {
    // Many more registrations than slots, each dropped; some while one of
    // their buffers is still out: the owner goes (and its slot frees) when
    // the last one comes back.
    let dropped: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
    let count = || dropped.load(std::sync::atomic::Ordering::SeqCst);
    no_leak(|| {
        for i in 0..10 * MAX_BUFFER_OWNERS {
            let ring = BatchRing {
                calls: Mutex::new(Vec::new()),
                dropped: dropped.clone(),
            };
            let reg = register_buffer_owner(Box::new(ring), RegionId(i as u64))
                .expect("slots are reused");
            assert_eq!(reg.region(), RegionId(i as u64));
            // SAFETY: a leaked buffer, used by nothing else.
            let p = unsafe { Packet::from_external(&reg, rx(7, ring_buffer(0), 0, 1)) }.unwrap();
            assert_eq!(p.external_buffer().unwrap().region, RegionId(i as u64));
            if i % 2 == 0 {
                drop(reg);
                assert_eq!(count(), i, "owner kept while its buffer is out");
                drop(p);
            } else {
                drop(p);
                assert_eq!(count(), i, "owner kept while registered");
                drop(reg);
            }
            assert_eq!(count(), i + 1, "owner dropped with its slot");
        }
    });
}

#[test]
fn last_clone_dropped_on_another_thread_recycles_through_a_token_queue() {
    // A single-producer ring: its thread wraps buffers, sends clones of
    // the packets to a worker thread and drops its own; the worker drops
    // the last clones, so the release hook runs there, putting the tokens
    // in a token queue that the ring thread drains to wrap them again.
    const BUFFERS: usize = 64;
    const ROUNDS: usize = 2000;
    let (tx, mut returned) = token_queue(BUFFERS);
    let reg = register_buffer_owner(Box::new(tx), RegionId(40)).unwrap();
    let mem: Vec<NonNull<u8>> = (0..BUFFERS).map(|i| ring_buffer(i as u8)).collect();
    let (to_worker, from_ring) = std::sync::mpsc::sync_channel::<Vec<SendPacket>>(4);
    let worker = std::thread::spawn(move || {
        let mut seen = 0;
        for batch in from_ring {
            for s in batch {
                let p = s.into_packet();
                let token = p.external_buffer().unwrap().token;
                assert_eq!(p.data()[0], token as u8, "a buffer wrapped twice");
                seen += 1;
            }
        }
        seen
    });
    let mut free: Vec<u64> = (0..BUFFERS as u64).collect();
    let mut wrapped_total = 0;
    for round in 0..ROUNDS {
        let mut drained = [0u64; BUFFERS];
        let n = returned.drain(&mut drained);
        free.extend_from_slice(&drained[..n]);
        let take = free.len().min(BATCH_CAPACITY);
        let bufs: Vec<RxBuffer> = free
            .drain(..take)
            .map(|t| {
                let buf = mem[t as usize];
                // SAFETY: the buffer is the ring's again (free), so writing
                // it races nothing.
                unsafe { buf.as_ptr().write(t as u8) };
                rx(t, buf, 0, 60)
            })
            .collect();
        let mut b = Batch::new();
        // SAFETY: leaked buffers; each is wrapped only while free.
        let n = unsafe { b.wrap_external(&reg, &bufs) };
        assert_eq!(n, bufs.len());
        wrapped_total += n;
        let mut clones = Vec::new();
        for p in &b {
            clones.push(p.try_clone().unwrap().into_send());
        }
        if round % 2 == 0 {
            drop(b); // the worker's clones are then the last users
            to_worker.send(clones).unwrap();
        } else {
            to_worker.send(clones).unwrap();
            drop(b); // racing the worker's drops
        }
    }
    drop(to_worker);
    assert_eq!(worker.join().unwrap(), wrapped_total);
    let mut drained = [0u64; BUFFERS];
    let n = returned.drain(&mut drained);
    free.extend_from_slice(&drained[..n]);
    free.sort_unstable();
    assert_eq!(
        free,
        (0..BUFFERS as u64).collect::<Vec<_>>(),
        "every buffer back once"
    );
    assert_eq!(returned.lost(), 0);
    assert_eq!(reg.outstanding(), 0);
}

#[test]
fn token_queue_many_producers() {
    const PRODUCERS: u64 = 4;
    const EACH: u64 = 50_000;
    let (tx, mut rx) = token_queue(256);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut next = 0;
                while next < EACH {
                    let k = (next % 7 + 1).min(EACH - next);
                    let tokens: Vec<u64> = (next..next + k).map(|i| p << 32 | i).collect();
                    // A full queue refuses the rest: send them again.
                    let sent = tx.send(&tokens) as u64;
                    next += sent;
                    if sent < k {
                        std::thread::yield_now();
                    }
                }
            })
        })
        .collect();
    let mut expect = [0u64; PRODUCERS as usize];
    let mut got = 0;
    let mut out = [0u64; 64];
    while got < PRODUCERS * EACH {
        let n = rx.drain(&mut out);
        for &t in &out[..n] {
            let (p, i) = ((t >> 32) as usize, t & 0xffff_ffff);
            assert_eq!(i, expect[p], "producer {p}'s tokens in order, once each");
            expect[p] += 1;
        }
        got += n as u64;
        if n == 0 {
            std::thread::yield_now();
        }
    }
    for p in producers {
        p.join().unwrap();
    }
    assert!(rx.is_empty());
    // Full: the rest is refused and counted.
    let (tx, rx) = token_queue(4);
    assert_eq!(tx.send(&[1, 2, 3, 4, 5, 6]), 4);
    assert_eq!((rx.len(), rx.lost()), (4, 2));
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
                            // Past a small buffer it moves to a large one.
                            p.push(k as usize).unwrap().fill(k);
                            d.splice(0..0, std::iter::repeat_n(k, k as usize));
                        }
                        Op::Put(i, k) if n > 0 => {
                            let (p, d) = &mut live[i % n];
                            p.put(k as usize).unwrap().fill(k);
                            d.extend(std::iter::repeat_n(k, k as usize));
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
