//! Whole-pool behaviour in a process of its own: a small pool, exhaustion,
//! and accounting that must add up exactly. One test function, so nothing
//! else allocates concurrently.

use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use click_engine::packet::{
    register_buffer_owner, Batch, BufferOwner, Packet, PacketError, PacketPool, PoolConfig,
    PoolError,
};

const ENTRIES: usize = 64;
const BUF: usize = 256;

struct Ring(Mutex<Vec<u64>>);

impl BufferOwner for Ring {
    fn release(&self, token: u64) {
        self.0.lock().unwrap().push(token);
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
            headroom: 0
        }),
        Err(PoolError::InvalidConfig("buf_size must be in 64..=65534"))
    );
    assert!(!PacketPool::is_initialized());
    PacketPool::init(ENTRIES, BUF).unwrap();
    assert_eq!(
        PacketPool::init(ENTRIES, BUF),
        Err(PoolError::AlreadyInitialized)
    );
    let cfg = PacketPool::config();
    assert_eq!(
        (cfg.entries, cfg.buf_size, cfg.headroom),
        (ENTRIES, BUF, 64)
    );
    assert_eq!(in_use(), 0);

    // Exhaustion: exactly ENTRIES packets, then None, never a panic.
    let mut all: Vec<Packet> = (0..ENTRIES).map(|_| Packet::new(10).unwrap()).collect();
    assert_eq!(in_use(), ENTRIES);
    assert!(Packet::new(10).is_none());
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

    // An external buffer larger than pool buffers: a shared clone cannot
    // copy it into its own buffer.
    let ring = Arc::new(Ring(Mutex::new(Vec::new())));
    let id = register_buffer_owner(Box::new(ring.clone())).unwrap();
    let mem: &'static mut [u8] = Box::leak(vec![0u8; 1024].into_boxed_slice());
    let mem = NonNull::new(mem.as_mut_ptr()).unwrap();
    // SAFETY: a leaked, initialised 1024-byte buffer used by nothing else.
    let p = unsafe { Packet::from_external(id, 9, mem, 1024, 0, 600) }.unwrap();
    let mut c = p.try_clone().unwrap();
    assert_eq!(c.make_unique(), Err(PacketError::NoRoom));
    c.take(400).unwrap();
    c.make_unique().unwrap();
    assert_eq!(c.len(), 200);
    assert!(c.external_buffer().is_none());
    drop(p);
    assert_eq!(*ring.0.lock().unwrap(), vec![9]);
    drop(c);
    assert_eq!(in_use(), 0);

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
