//! Helpers for I/O rings whose buffers come back from any thread: a
//! bounded lock-free queue of tokens ([`token_queue`]).
//!
//! # The pattern
//! A ring (a netmap ring, an AF_XDP fill ring) is
//! single-producer: only its own thread may put buffers back. But a
//! [`BufferOwner`]'s release hook runs on whatever thread freed a buffer's
//! last packet: the packet may have crossed a ThreadSafeQueue, or a clone
//! of it may have. So the owner registers a [`TokenSender`] (or an object
//! that forwards to one), whose `release_batch` puts the tokens in a
//! bounded multi-producer queue with one reservation per batch; the ring's
//! thread, when it refills the ring, takes them all back with
//! [`TokenReceiver::drain`] (one pass, one index store). Nothing blocks,
//! nothing allocates after set-up. Sized for every buffer the ring can
//! lend, the queue never fills.
//!
//! No `unsafe` here: slots are atomics.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::Arc;

use super::owner::BufferOwner;

/// A bounded multi-producer, single-consumer queue of buffer tokens, for
/// buffers released on any thread and recycled by a ring's own thread.
/// Returns its two ends: the sender (cloneable, shared by every thread, a
/// [`BufferOwner`] itself) and the receiver (one, for the ring's thread).
/// `capacity` is rounded up to a power of two; make it at least the number
/// of buffers the ring can lend, so that it never fills.
///
/// ```
/// use click_engine::packet::token_queue;
///
/// let (tx, mut rx) = token_queue(8);
/// let t = std::thread::spawn(move || tx.send(&[1, 2, 3]));
/// assert_eq!(t.join().unwrap(), 3);
/// let mut out = [0; 8];
/// assert_eq!(rx.drain(&mut out), 3);
/// assert_eq!(&out[..3], &[1, 2, 3]);
/// ```
pub fn token_queue(capacity: usize) -> (TokenSender, TokenReceiver) {
    let capacity = capacity.max(1).next_power_of_two();
    let shared = Arc::new(Shared {
        slots: (0..capacity)
            .map(|_| Slot {
                stamp: AtomicU64::new(0),
                token: AtomicU64::new(0),
            })
            .collect(),
        mask: capacity as u64 - 1,
        tail: Padded(AtomicU64::new(0)),
        head: Padded(AtomicU64::new(0)),
        lost: AtomicU64::new(0),
    });
    (TokenSender(shared.clone()), TokenReceiver(shared))
}

/// One slot: the token, and the position it was written for plus one
/// (so a slot written in an earlier lap, or not yet, does not match).
struct Slot {
    stamp: AtomicU64,
    token: AtomicU64,
}

/// An atomic on a cache line of its own: producers write `tail`, the
/// consumer `head`.
#[repr(align(64))]
struct Padded(AtomicU64);

/// How the queue works. Positions count up for ever (a `u64` does not
/// wrap); position `p` lives in slot `p & mask`.
///
/// * A producer reserves positions `t..t + k` with one compare-and-swap of
///   `tail`, having checked that they are free: `t + k <= head + capacity`
///   with `head` read (Acquire) before, so the consumer has finished
///   reading those slots in the previous lap (it reads a slot before it
///   moves `head` past it, with Release). It then writes each slot's token
///   (Relaxed) and its stamp `p + 1` (Release).
/// * The consumer reads slots from `head` on while their stamp is `p + 1`
///   (Acquire: the token written before it is visible), then stores the new
///   `head` once (Release).
///
/// A producer between its reservation and its writes holds the consumer
/// back at that position (nothing is lost; it waits for a later drain).
struct Shared {
    slots: Box<[Slot]>,
    mask: u64,
    tail: Padded,
    head: Padded,
    /// Tokens refused because the queue was full.
    lost: AtomicU64,
}

impl Shared {
    fn capacity(&self) -> u64 {
        self.mask + 1
    }
}

/// The producing end of a [`token_queue`]: cloneable, for any thread.
#[derive(Clone)]
pub struct TokenSender(Arc<Shared>);

impl TokenSender {
    /// Puts `tokens` in the queue, in order, with one reservation for as
    /// many as there is room for. Returns how many went in: all of them
    /// unless the queue is full, in which case the rest are counted in
    /// [`TokenReceiver::lost`] (a queue smaller than the ring it serves).
    pub fn send(&self, tokens: &[u64]) -> usize {
        let q = &*self.0;
        let mut done = 0;
        while done < tokens.len() {
            // `head` first: then `tail` is at least it.
            let head = q.head.0.load(Acquire);
            let tail = q.tail.0.load(Relaxed);
            let used = tail - head;
            if used >= q.capacity() {
                if used > q.capacity() || q.head.0.load(Acquire) != head {
                    continue; // the consumer moved on meanwhile: look again
                }
                q.lost.fetch_add((tokens.len() - done) as u64, Relaxed);
                break;
            }
            let k = (q.capacity() - used).min((tokens.len() - done) as u64);
            if q.tail
                .0
                .compare_exchange_weak(tail, tail + k, Relaxed, Relaxed)
                .is_err()
            {
                continue;
            }
            for (i, &token) in tokens[done..done + k as usize].iter().enumerate() {
                let pos = tail + i as u64;
                let slot = &q.slots[(pos & q.mask) as usize];
                slot.token.store(token, Relaxed);
                slot.stamp.store(pos + 1, Release);
            }
            done += k as usize;
        }
        done
    }
}

impl BufferOwner for TokenSender {
    fn release(&self, token: u64) {
        self.send(&[token]);
    }

    fn release_batch(&self, tokens: &[u64]) {
        self.send(tokens);
    }
}

impl fmt::Debug for TokenSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSender")
            .field("capacity", &self.0.capacity())
            .finish()
    }
}

/// The consuming end of a [`token_queue`]: one, on the ring's thread.
pub struct TokenReceiver(Arc<Shared>);

impl TokenReceiver {
    /// Takes up to `out.len()` tokens, oldest first, into the front of
    /// `out`; returns how many. Tokens a producer has reserved room for but
    /// not written yet wait for a later call, with those after them.
    pub fn drain(&mut self, out: &mut [u64]) -> usize {
        let q = &*self.0;
        let head = q.head.0.load(Relaxed);
        let mut n = 0;
        for slot_out in out.iter_mut() {
            let pos = head + n as u64;
            let slot = &q.slots[(pos & q.mask) as usize];
            if slot.stamp.load(Acquire) != pos + 1 {
                break;
            }
            *slot_out = slot.token.load(Relaxed);
            n += 1;
        }
        if n > 0 {
            q.head.0.store(head + n as u64, Release);
        }
        n
    }

    /// Tokens in the queue or being written (an estimate while producers
    /// are busy).
    pub fn len(&self) -> usize {
        let q = &*self.0;
        let head = q.head.0.load(Relaxed);
        (q.tail.0.load(Relaxed) - head) as usize
    }

    /// Whether no token is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The queue's capacity (a power of two).
    pub fn capacity(&self) -> usize {
        self.0.capacity() as usize
    }

    /// Tokens refused because the queue was full (buffers the ring will
    /// not see again: the queue is smaller than the buffers it lends).
    pub fn lost(&self) -> u64 {
        self.0.lost.load(Relaxed)
    }
}

impl fmt::Debug for TokenReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenReceiver")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("lost", &self.lost())
            .finish()
    }
}
