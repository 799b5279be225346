//! Whole-pool behaviour in a process of its own: a small pool, exhaustion,
//! and accounting that must add up exactly. One test function, so nothing
//! else allocates concurrently.

use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use click_engine::packet::{
    register_buffer_owner, Batch, BufferOwner, Packet, PacketError, PacketPool, PoolConfig,
    PoolError, RegionId, RxBuffer, MAX_BUFFER_OWNERS,
};

const ENTRIES: usize = 64;
const BUF: usize = 256;
const LARGE: usize = 4;
const LARGE_BUF: usize = 4096;

struct Ring(Mutex<Vec<u64>>);

impl BufferOwner for Ring {
    fn release(&self, token: u64) {
        self.0.lock().unwrap().push(token);
    }
}

fn large_in_use() -> usize {
    let s = PacketPool::stats();
    assert_eq!(s.large_capacity, LARGE);
    s.large_in_use
}

/// Packets longer than a small buffer: large buffers, their exhaustion,
/// growth by push and put, copies, and the maximum.
fn large_packets() {
    assert_eq!(PacketPool::max_packet_len(), LARGE_BUF);
    assert_eq!(large_in_use(), 0);
    // Just too long for a small buffer with the headroom: less headroom.
    let p = Packet::new(BUF - 10).unwrap();
    assert_eq!((p.headroom(), p.buffer_capacity()), (10, BUF));
    drop(p);
    // Longer: a large buffer with the whole headroom, zeroed.
    let mut big: Vec<Packet> = (0..LARGE)
        .map(|i| Packet::from_slice(&vec![i as u8; 1000]).unwrap())
        .collect();
    assert_eq!(
        (big[1].headroom(), big[1].buffer_capacity()),
        (64, LARGE_BUF)
    );
    assert_eq!(big[1].data(), &[1; 1000][..]);
    assert_eq!(large_in_use(), LARGE);
    let failures = PacketPool::stats().alloc_failures;
    assert_eq!(Packet::new(1000).unwrap_err(), PacketError::PoolExhausted);
    assert_eq!(PacketPool::stats().alloc_failures, failures + 1);
    assert_eq!(in_use(), LARGE, "a failed large allocation keeps no entry");
    // A small packet cannot grow into a large buffer now...
    let mut small = Packet::from_slice(b"small").unwrap();
    assert_eq!(small.push(BUF).unwrap_err(), PacketError::PoolExhausted);
    assert_eq!(small.data(), b"small");
    // ... nor can a clone of a large one be made unique, but clones share.
    let mut c = big[0].try_clone().unwrap();
    assert_eq!(c.data_mut().unwrap_err(), PacketError::PoolExhausted);
    drop(big.pop());
    c.data_mut().unwrap()[0] = 9;
    assert_eq!((c.data()[0], big[0].data()[0]), (9, 0));
    assert_eq!(large_in_use(), LARGE);
    drop(c);
    // Growth: a push beyond the buffer moves the packet to a large one,
    // the bytes before it that were data coming along, headers too.
    let mut p = Packet::from_slice(b"..ABCD").unwrap();
    p.pull(2).unwrap();
    p.set_network_header(0, 2).unwrap();
    let front = p.push(2 + BUF).unwrap();
    assert_eq!(&front[BUF..], b"..");
    assert_eq!(&p.data()[BUF + 2..], b"ABCD");
    assert_eq!(p.buffer_capacity(), LARGE_BUF);
    assert_eq!(p.network_header_offset(), Some(BUF as isize + 2));
    assert_eq!(p.transport_header(), Some(&b"CD"[..]));
    drop(p);
    let mut q = Packet::from_slice(b"tail").unwrap();
    q.put(BUF).unwrap().fill(7);
    assert_eq!(q.len(), BUF + 4);
    assert_eq!(&q.data()[..4], b"tail");
    assert_eq!(q.buffer_capacity(), LARGE_BUF);
    // Past the maximum: an error that says it, the packet unchanged.
    let err = q.put(LARGE_BUF).unwrap_err();
    assert_eq!(
        err,
        PacketError::TooLong {
            len: BUF + 4 + LARGE_BUF,
            max: LARGE_BUF
        }
    );
    assert!(err.to_string().contains("maximum of 4096 bytes"), "{err}");
    assert_eq!(q.len(), BUF + 4);
    assert_eq!(
        Packet::new(LARGE_BUF + 1).unwrap_err(),
        PacketError::TooLong {
            len: LARGE_BUF + 1,
            max: LARGE_BUF
        }
    );
    // The longest packet has no headroom left.
    drop(q);
    let longest = Packet::new(LARGE_BUF).unwrap();
    assert_eq!(longest.headroom(), 0);
    drop((big, longest, small));
    assert_eq!(large_in_use(), 0);
    assert_eq!(in_use(), 0);
}

/// All the owner slots taken: the next registration fails until one is
/// freed, which for an owner with buffers out is when the last comes back.
fn owner_slots() {
    struct Nobody;
    impl BufferOwner for Nobody {
        fn release(&self, _: u64) {}
    }
    let register = |i| register_buffer_owner(Box::new(Nobody), RegionId(i));
    let mut regs: Vec<_> = (0..MAX_BUFFER_OWNERS as u64)
        .map(|i| register(i).unwrap())
        .collect();
    assert_eq!(register(99).unwrap_err(), PoolError::TooManyOwners);
    let mem: &'static mut [u8] = Box::leak(vec![0u8; 64].into_boxed_slice());
    let rx = RxBuffer {
        token: 1,
        buf: NonNull::new(mem.as_mut_ptr()).unwrap(),
        cap: 64,
        head: 0,
        len: 64,
    };
    // SAFETY: a leaked, initialised 64-byte buffer used by nothing else.
    let p = unsafe { Packet::from_external(&regs[5], rx) }.unwrap();
    drop(regs.swap_remove(5));
    assert_eq!(register(99).unwrap_err(), PoolError::TooManyOwners);
    drop(p);
    let again = register(99).expect("the slot is free once its buffer is back");
    regs.clear();
    drop(again);
    for i in 0..1000 {
        drop(register(i).unwrap());
    }
}

fn in_use() -> usize {
    let s = PacketPool::stats();
    assert_eq!(s.in_use + s.free, s.capacity);
    s.in_use
}

#[test]
fn small_pool_exhaustion_and_accounting() {
    assert_eq!(
        PacketPool::init_with(PoolConfig {
            entries: ENTRIES,
            buf_size: 10,
            headroom: 0,
            ..PoolConfig::default()
        }),
        Err(PoolError::InvalidConfig("buf_size must be in 64..=65534"))
    );
    assert_eq!(
        PacketPool::init_with(PoolConfig {
            entries: ENTRIES,
            buf_size: BUF,
            headroom: 0,
            large_buffers: 1,
            large_buf_size: BUF - 1,
        }),
        Err(PoolError::InvalidConfig(
            "large_buf_size must be in buf_size..=MAX_BUF_SIZE"
        ))
    );
    assert!(!PacketPool::is_initialized());
    let config = PoolConfig {
        entries: ENTRIES,
        buf_size: BUF,
        headroom: 64,
        large_buffers: LARGE,
        large_buf_size: LARGE_BUF,
    };
    PacketPool::init_with(config).unwrap();
    assert_eq!(
        PacketPool::init(ENTRIES, BUF),
        Err(PoolError::AlreadyInitialized)
    );
    assert_eq!(PacketPool::config(), config);
    assert_eq!(in_use(), 0);

    // Exhaustion: exactly ENTRIES packets, then None, never a panic.
    let mut all: Vec<Packet> = (0..ENTRIES).map(|_| Packet::new(10).unwrap()).collect();
    assert_eq!(in_use(), ENTRIES);
    assert_eq!(Packet::new(10).unwrap_err(), PacketError::PoolExhausted);
    assert!(all[0].try_clone().is_none());
    let mut b = Batch::new();
    assert_eq!(all[0].clone_into(8, &mut b), 0);
    assert!(PacketPool::stats().alloc_failures >= 3);

    // Copy-on-write of a holder needs a fresh entry: fails cleanly.
    drop(all.pop());
    let c = all[0].try_clone().unwrap();
    assert_eq!(in_use(), ENTRIES);
    let ptr = all[0].data().as_ptr();
    assert_eq!(all[0].data_mut().unwrap_err(), PacketError::PoolExhausted);
    assert_eq!(all[0].push(1).unwrap_err(), PacketError::PoolExhausted);
    assert_eq!(all[0].data().as_ptr(), ptr);
    assert!(all[0].is_shared());
    let p0 = all.swap_remove(0);
    // Crossing threads needs no entry: shared packets cross uncopied.
    let p0 = p0.into_send().into_packet();
    assert!(p0.is_shared());
    // ... and the clone can always copy into its own buffer.
    let mut c = c;
    c.data_mut().unwrap()[0] = 1;
    assert!(!p0.is_shared());
    all.push(p0);
    all.push(c);
    assert_eq!(in_use(), ENTRIES);

    // Freeing everything gives everything back.
    all.clear();
    drop(b);
    assert_eq!(in_use(), 0);

    large_packets();

    // An external buffer larger than pool buffers: a shared clone copies
    // it into a large buffer, or into its own once short enough.
    let ring = Arc::new(Ring(Mutex::new(Vec::new())));
    let reg = register_buffer_owner(Box::new(ring.clone()), RegionId(1)).unwrap();
    let mem: &'static mut [u8] = Box::leak(vec![0u8; 1024].into_boxed_slice());
    let mem = NonNull::new(mem.as_mut_ptr()).unwrap();
    // SAFETY: a leaked, initialised 1024-byte buffer used by nothing else.
    let rx = RxBuffer {
        token: 9,
        buf: mem,
        cap: 1024,
        head: 0,
        len: 600,
    };
    // SAFETY: as said above.
    let p = unsafe { Packet::from_external(&reg, rx) }.unwrap();
    let mut c = p.try_clone().unwrap();
    let mut c2 = p.try_clone().unwrap();
    c.make_unique().unwrap();
    assert_eq!((c.len(), c.buffer_capacity()), (600, LARGE_BUF));
    assert_eq!(large_in_use(), 1);
    drop(c);
    assert_eq!(large_in_use(), 0);
    c2.take(400).unwrap();
    c2.make_unique().unwrap();
    assert_eq!((c2.len(), c2.buffer_capacity()), (200, BUF));
    assert!(c2.external_buffer().is_none());
    drop(p);
    assert_eq!(*ring.0.lock().unwrap(), vec![9]);
    drop(c2);
    assert_eq!(in_use(), 0);

    drop(reg);
    owner_slots();

    // Packets freed on another thread end in its cache, flushed at exit.
    let sent: Vec<_> = (0..40)
        .map(|_| Packet::new(1).unwrap().into_send())
        .collect();
    std::thread::spawn(move || drop(sent)).join().unwrap();
    assert_eq!(in_use(), 0);
    PacketPool::flush_thread_cache();
    let s = PacketPool::stats();
    assert_eq!(s.total_allocs, s.total_frees);
    assert_eq!(in_use(), 0);
}
