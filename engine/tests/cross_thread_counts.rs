//! Buffer counts across threads, in a process of its own so that the
//! whole pool's accounting can be checked: a clone written on one thread
//! while the packet it was cloned from is dropped on another must leave no
//! entry behind, whichever of the two goes last.

use std::sync::mpsc;

use click_engine::packet::{Packet, PacketPool, SendPacket};

#[test]
fn copy_on_write_racing_the_last_drop_frees_everything() {
    const ROUNDS: usize = 20_000;
    let (tx, rx) = mpsc::sync_channel::<SendPacket>(64);
    let writer = std::thread::spawn(move || {
        for s in rx {
            let mut clone = s.into_packet();
            // Shared when it looks, perhaps not by the time it has copied.
            clone.data_mut().unwrap()[0] = b'W';
            assert_eq!(clone.data(), b"Wriginal");
        }
        PacketPool::flush_thread_cache();
    });
    for _ in 0..ROUNDS {
        let original = Packet::from_slice(b"original").unwrap();
        let clone = original.try_clone().unwrap();
        tx.send(clone.into_send()).unwrap();
        drop(original);
    }
    drop(tx);
    writer.join().unwrap();
    PacketPool::flush_thread_cache();
    assert_eq!(PacketPool::stats().in_use, 0, "entries leaked");
}
