//! The ARP table: IP-to-Ethernet mappings and the packets waiting for
//! them, one table shared by every thread's ARPQuerier instance (and by
//! several ARPQueriers through an ARPTable element).
//!
//! # Design
//!
//! Click's ARPTable is a hash table of entries behind a read-write lock,
//! with an age list (oldest first) and each entry's waiting packets
//! chained through the packets' `next` pointers. Ours keeps Click's
//! semantics (the age list, the limits, `slim`, the polling rules, all in
//! jiffies of 1 ms as Click's user level) and splits the two paths:
//!
//! * **Lookups take no lock.** The index is an open-addressing array of
//!   32-byte slots (linear probing, at most half full, a random
//!   multiply-shift hash so a flood cannot aim at one chain). Each slot
//!   holds a copy of its entry's IP address, Ethernet address, state and
//!   times under a sequence lock: a reader reads the words, checks the
//!   sequence number did not move and is even, and either has a
//!   consistent entry or goes to the slow path. A reader never writes
//!   shared memory, so instances on several cores read the table without
//!   moving cache lines. The fast path answers only when Click's lookup
//!   would give the address without polling (known, not expired, no poll
//!   due); everything else, including a miss caused by a concurrent
//!   change, takes the slow path, which is always right.
//! * **Changes take a mutex**, held for a run of slow-path packets of one
//!   batch at most and never across a push: appending a packet for an
//!   unknown address (and asking whether a query is due), polls, replies,
//!   handler writes, expiry. The authoritative entries, the age list and
//!   the waiting packets live behind it; every change to an entry is
//!   written through to its slot.
//!
//! Memory is bounded and allocated when the table is made: ENTRY_CAPACITY
//! entries (or [`DEFAULT_ENTRY_BOUND`] where Click's 0 means unlimited,
//! evicting the oldest as Click does at its ENTRY_CAPACITY) and CAPACITY
//! waiting packets (or [`DEFAULT_PACKET_BOUND`] for Click's 0). A flood of
//! unresolved destinations therefore costs a fixed amount of memory; the
//! packets it pushes out are counted in `drops`, the entries in
//! `evictions`. The slot array is allocated zeroed, so the pages of a
//! large, little-used table are never touched.

use std::alloc::{alloc_zeroed, Layout};
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use click_engine::args::{split_words, ArgContext, Args, EtherAddr};
use click_engine::packet::{Packet, SendPacket};
use click_engine::{
    ClockHandle, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, SharedCounters, Timer,
};

/// Jiffies per second: Click's user-level `CLICK_HZ`.
pub(crate) const HZ: u32 = 1000;

/// Entries kept when ENTRY_CAPACITY is 0 (Click: unlimited); the oldest
/// goes when a new one needs room.
pub const DEFAULT_ENTRY_BOUND: u32 = 65536;
/// Waiting packets kept when CAPACITY is 0 (Click: unlimited).
pub const DEFAULT_PACKET_BOUND: u32 = 16384;
/// The largest ENTRY_CAPACITY or CAPACITY accepted.
pub const MAX_BOUND: u32 = 1 << 22;

/// No entry, node or slot.
const NIL: u32 = u32::MAX;

/// Click's `click_jiffies_less`: `a` is before `b`, on a wrapping clock.
#[inline(always)]
pub(crate) fn less(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Click's rate limit on queries for one address: at most one each
/// 100 ms, one each 2 s after 10 unanswered.
#[inline(always)]
fn allow_poll(now: u32, polled_at: u32, polls: u8) -> bool {
    let wait = if polls >= 10 { HZ * 2 } else { HZ / 10 };
    !less(now, polled_at.wrapping_add(wait))
}

/// Click's ARPTable arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Params {
    /// Most waiting packets (0: Click's unlimited).
    pub capacity: u32,
    /// Most entries (0: Click's unlimited).
    pub entry_capacity: u32,
    /// Most waiting packets for one entry (0: unlimited).
    pub entry_packet_capacity: u32,
    /// A table over CAPACITY frees 1/CAPACITY_SLIM_FACTOR of it.
    pub slim_factor: u32,
    /// Entry lifetime in jiffies (0: forever).
    pub timeout_j: u32,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            capacity: 2048,
            entry_capacity: 0,
            entry_packet_capacity: 0,
            slim_factor: 2,
            timeout_j: 300 * HZ,
        }
    }
}

/// Jiffies in `d`, as Click's `Timestamp::jiffies` (and 0, never expire,
/// past what 32 bits of jiffies can say).
pub(crate) fn jiffies_of(d: Duration) -> u32 {
    if d.as_secs() >= u64::from(u32::MAX / HZ) {
        0
    } else {
        d.as_millis() as u32
    }
}

impl Params {
    /// Reads CAPACITY, ENTRY_CAPACITY, ENTRY_PACKET_CAPACITY,
    /// CAPACITY_SLIM_FACTOR and TIMEOUT; says which were given.
    pub fn read(args: &mut Args) -> Result<(Params, bool), String> {
        let d = Params::default();
        let capacity: Option<u32> = args.read("CAPACITY")?;
        let entry_capacity: Option<u32> = args.read("ENTRY_CAPACITY")?;
        let entry_packet_capacity: Option<u32> = args.read("ENTRY_PACKET_CAPACITY")?;
        let slim_factor: Option<u32> = args.read("CAPACITY_SLIM_FACTOR")?;
        let timeout: Option<Duration> = args.read("TIMEOUT")?;
        let given = capacity.is_some()
            || entry_capacity.is_some()
            || entry_packet_capacity.is_some()
            || slim_factor.is_some()
            || timeout.is_some();
        let p = Params {
            capacity: capacity.unwrap_or(d.capacity),
            entry_capacity: entry_capacity.unwrap_or(d.entry_capacity),
            entry_packet_capacity: entry_packet_capacity.unwrap_or(d.entry_packet_capacity),
            slim_factor: slim_factor.unwrap_or(d.slim_factor),
            timeout_j: timeout.map_or(d.timeout_j, jiffies_of),
        };
        if p.slim_factor == 0 {
            return Err("CAPACITY_SLIM_FACTOR cannot be zero".into());
        }
        if p.capacity > MAX_BOUND {
            return Err(format!("CAPACITY: at most {MAX_BOUND}"));
        }
        if p.entry_capacity > MAX_BOUND {
            return Err(format!("ENTRY_CAPACITY: at most {MAX_BOUND}"));
        }
        Ok((p, given))
    }

    /// The most entries the table holds.
    fn entry_bound(&self) -> u32 {
        if self.entry_capacity > 0 {
            self.entry_capacity
        } else {
            DEFAULT_ENTRY_BOUND
        }
    }

    /// The most waiting packets the table holds.
    pub fn packet_bound(&self) -> u32 {
        if self.capacity > 0 {
            self.capacity
        } else {
            DEFAULT_PACKET_BOUND
        }
    }
}

/// One slot of the lock-free index: a copy of an entry under a sequence
/// lock. All zero is an empty slot.
#[repr(C, align(32))]
struct Slot {
    seq: AtomicU32,
    ip: AtomicU32,
    /// The entry's index + 1; 0: empty.
    entry: AtomicU32,
    /// Ethernet address bytes 0-3.
    eth_lo: AtomicU32,
    /// Ethernet address bytes 4-5, then `known` (bit 16) and the polls
    /// since the last reply (bits 24-31).
    eth_hi: AtomicU32,
    live_at: AtomicU32,
    polled_at: AtomicU32,
    _pad: AtomicU32,
}

/// A consistent copy of a slot.
#[derive(Clone, Copy)]
struct SlotView {
    ip: u32,
    entry: u32,
    eth_lo: u32,
    eth_hi: u32,
    live_at: u32,
    polled_at: u32,
}

impl SlotView {
    fn eth(&self) -> [u8; 6] {
        let lo = self.eth_lo.to_ne_bytes();
        let hi = (self.eth_hi as u16).to_ne_bytes();
        [lo[0], lo[1], lo[2], lo[3], hi[0], hi[1]]
    }

    fn known(&self) -> bool {
        self.eth_hi & (1 << 16) != 0
    }

    fn polls(&self) -> u8 {
        (self.eth_hi >> 24) as u8
    }
}

impl Slot {
    /// A consistent copy, or `None` while a writer is in the slot.
    #[inline(always)]
    fn read(&self) -> Option<SlotView> {
        let seq = self.seq.load(Acquire);
        let v = SlotView {
            ip: self.ip.load(Relaxed),
            entry: self.entry.load(Relaxed),
            eth_lo: self.eth_lo.load(Relaxed),
            eth_hi: self.eth_hi.load(Relaxed),
            live_at: self.live_at.load(Relaxed),
            polled_at: self.polled_at.load(Relaxed),
        };
        fence(Acquire);
        (seq & 1 == 0 && self.seq.load(Relaxed) == seq).then_some(v)
    }

    /// Writes `v` (only under the table's mutex: one writer).
    fn write(&self, v: &SlotView) {
        let seq = self.seq.load(Relaxed);
        self.seq.store(seq.wrapping_add(1), Relaxed);
        fence(Release);
        self.ip.store(v.ip, Relaxed);
        self.entry.store(v.entry, Relaxed);
        self.eth_lo.store(v.eth_lo, Relaxed);
        self.eth_hi.store(v.eth_hi, Relaxed);
        self.live_at.store(v.live_at, Relaxed);
        self.polled_at.store(v.polled_at, Relaxed);
        self.seq.store(seq.wrapping_add(2), Release);
    }
}

/// An entry (Click's `ARPEntry`).
#[derive(Clone, Copy, Debug)]
struct Entry {
    ip: u32,
    eth: [u8; 6],
    known: bool,
    polls: u8,
    live_at: u32,
    polled_at: u32,
    /// Its slot in the index.
    slot: u32,
    /// Age list links (oldest first); in the free list, `next` links it.
    prev: u32,
    next: u32,
    /// Waiting packets: first and last node, and how many.
    head: u32,
    tail: u32,
    npackets: u32,
}

impl Entry {
    fn expired(&self, now: u32, timeout: u32) -> bool {
        timeout != 0 && less(self.live_at.wrapping_add(timeout), now)
    }

    fn known_at(&self, now: u32, timeout: u32) -> bool {
        self.known && !self.expired(now, timeout)
    }

    fn mark_poll(&mut self, now: u32) {
        self.polled_at = now;
        self.polls = self.polls.saturating_add(1);
    }

    fn view(&self, index: u32) -> SlotView {
        let mut lo = [0; 4];
        lo.copy_from_slice(&self.eth[..4]);
        SlotView {
            ip: self.ip,
            entry: index + 1,
            eth_lo: u32::from_ne_bytes(lo),
            eth_hi: u32::from(u16::from_ne_bytes([self.eth[4], self.eth[5]]))
                | (u32::from(self.known) << 16)
                | (u32::from(self.polls) << 24),
            live_at: self.live_at,
            polled_at: self.polled_at,
        }
    }
}

/// A waiting packet.
struct Node {
    packet: Option<SendPacket>,
    next: u32,
}

/// What the mutex guards.
struct Inner {
    params: Params,
    entries: Vec<Entry>,
    free_entry: u32,
    age_head: u32,
    age_tail: u32,
    count: u32,
    packets: u32,
    nodes: Vec<Node>,
    free_node: u32,
    /// Packets freed for timeouts and limits (Click's `drops`).
    drops: u64,
    /// Entries removed to make room (not for expiring).
    evictions: u64,
}

/// What [`ArpTable::append`] did with a packet.
pub(crate) enum Appended {
    /// It waits; whether a query should be sent for its address now.
    Held { query: bool },
    /// It was freed: the entry's ENTRY_PACKET_CAPACITY is reached (counted
    /// in the table's drops).
    Dropped,
    /// The address became known meanwhile: here is the packet back, and
    /// the address to send it to.
    Known(Packet, [u8; 6]),
}

/// The shared ARP table.
pub struct ArpTable {
    slots: Box<[Slot]>,
    mask: u32,
    /// Multiply-shift hash: `((a * ip + b) >> shift)`.
    hash_a: u64,
    hash_b: u64,
    shift: u32,
    timeout_j: u32,
    /// The router's clock, for the ages handler reads show.
    clock: ClockHandle,
    /// Jiffy 0.
    epoch: Instant,
    inner: Mutex<Inner>,
    packet_bound: u32,
    /// `drops` and `count`, readable without the lock.
    drops: AtomicU64,
    count: AtomicU32,
    length: AtomicU32,
}

impl std::fmt::Debug for ArpTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArpTable")
            .field("count", &self.count())
            .field("length", &self.length())
            .finish()
    }
}

/// Zeroed slots: empty, and never touched until used.
fn zeroed_slots(n: usize) -> Box<[Slot]> {
    let layout = Layout::array::<Slot>(n).expect("slot array size");
    // SAFETY: `layout` has a nonzero size (n >= 16); an all-zero Slot is
    // valid (atomics of zero), so the allocation is n initialized Slots,
    // allocated with the layout Box<[Slot]> frees with.
    unsafe {
        let ptr = alloc_zeroed(layout) as *mut Slot;
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, n))
    }
}

fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x9e37_79b9_7f4a_7c15);
    h.finish()
}

impl ArpTable {
    /// A table with `params` on `clock`, jiffy 0 now.
    pub(crate) fn new(params: Params, clock: ClockHandle) -> ArpTable {
        let entry_bound = params.entry_bound();
        let nslots = (entry_bound as usize * 2).next_power_of_two().max(16);
        let bits = nslots.trailing_zeros();
        let packet_bound = params.packet_bound();
        ArpTable {
            slots: zeroed_slots(nslots),
            mask: (nslots - 1) as u32,
            hash_a: random_u64() | 1,
            hash_b: random_u64(),
            shift: 64 - bits,
            timeout_j: params.timeout_j,
            epoch: clock.now(),
            clock,
            inner: Mutex::new(Inner {
                params,
                entries: Vec::with_capacity(entry_bound as usize),
                free_entry: NIL,
                age_head: NIL,
                age_tail: NIL,
                count: 0,
                packets: 0,
                nodes: Vec::with_capacity(packet_bound as usize),
                free_node: NIL,
                drops: 0,
                evictions: 0,
            }),
            packet_bound,
            drops: AtomicU64::new(0),
            count: AtomicU32::new(0),
            length: AtomicU32::new(0),
        }
    }

    /// The most packets the table holds waiting (for a buffer that takes
    /// an entry's packets back at once).
    pub(crate) fn packet_bound(&self) -> usize {
        self.packet_bound as usize
    }

    /// The time `now` in the table's jiffies.
    #[inline]
    pub(crate) fn jiffies(&self, now: Instant) -> u32 {
        now.saturating_duration_since(self.epoch).as_millis() as u32
    }

    /// The time now in the table's jiffies, read from its clock.
    pub(crate) fn now(&self) -> u32 {
        self.jiffies(self.clock.now())
    }

    #[inline(always)]
    fn home(&self, ip: u32) -> u32 {
        (self
            .hash_a
            .wrapping_mul(u64::from(ip))
            .wrapping_add(self.hash_b)
            >> self.shift) as u32
    }

    /// The fast path: the Ethernet address for `ip` if Click's lookup
    /// would give it without polling (known, not expired, no poll due
    /// with POLL_TIMEOUT `poll_j`). `None` means "ask the slow path". No
    /// lock, no write to shared memory.
    #[inline]
    pub(crate) fn lookup_fast(&self, ip: u32, now: u32, poll_j: u32) -> Option<[u8; 6]> {
        let mut i = self.home(ip);
        for _ in 0..=self.mask {
            let v = self.slots[i as usize].read()?;
            if v.entry == 0 {
                return None;
            }
            if v.ip == ip {
                let timeout = self.timeout_j;
                if !v.known() || (timeout != 0 && less(v.live_at.wrapping_add(timeout), now)) {
                    return None;
                }
                if poll_j != 0
                    && !less(now, v.live_at.wrapping_add(poll_j))
                    && allow_poll(now, v.polled_at, v.polls())
                {
                    return None;
                }
                return Some(v.eth());
            }
            i = (i + 1) & self.mask;
        }
        None
    }

    /// Takes the table's lock, for a run of slow-path calls.
    pub(crate) fn lock(&self) -> Locked<'_> {
        Locked {
            table: self,
            g: self.inner.lock().unwrap_or_else(|e| e.into_inner()),
            freed: 0,
        }
    }

    /// Entries in the table.
    pub fn count(&self) -> u32 {
        self.count.load(Relaxed)
    }

    /// Packets waiting in the table.
    pub fn length(&self) -> u32 {
        self.length.load(Relaxed)
    }

    /// Packets freed for timeouts and limits.
    pub fn drops(&self) -> u64 {
        self.drops.load(Relaxed)
    }

    /// Entries removed to make room for new ones.
    pub fn evictions(&self) -> u64 {
        self.lock().g.evictions
    }

    /// Click's `table` handler: one line per entry, oldest first: `IP OK
    /// ETH AGE`, OK 1 for a known and unexpired entry, AGE the time since
    /// it was last updated, read from the router's clock now.
    pub fn dump(&self) -> String {
        let now = self.now();
        let l = self.lock();
        let mut s = String::new();
        let mut e = l.g.age_head;
        while e != NIL {
            let en = &l.g.entries[e as usize];
            let age = if less(now, en.live_at) {
                0
            } else {
                now.wrapping_sub(en.live_at)
            };
            let _ = writeln!(
                s,
                "{} {} {} {}.{:06}",
                Ipv4Addr::from(en.ip),
                u8::from(en.known_at(now, l.g.params.timeout_j)),
                EtherAddr(en.eth),
                age / HZ,
                (age % HZ) * (1_000_000 / HZ)
            );
            e = en.next;
        }
        s
    }

    /// Moves the entries and waiting packets of `old` (a table handed
    /// over by a hot swap) into this one, which must be empty (Click's
    /// `take_state`); times are carried over as ages. The packets go back
    /// to `old`'s drop count if they do not fit. `old_now` and `now` are
    /// the same moment in each table's jiffies.
    pub(crate) fn take_from(&self, old: &ArpTable, old_now: u32, now: u32) -> Result<(), String> {
        let mut o = old.lock();
        let mut n = self.lock();
        if n.g.count > 0 {
            return Err("late take_state".into());
        }
        let mut e = o.g.age_head;
        while e != NIL {
            let en = o.g.entries[e as usize];
            e = en.next;
            let shift = |t: u32| now.wrapping_sub(old_now.wrapping_sub(t));
            let i = n.ensure(en.ip, now);
            {
                let ne = &mut n.g.entries[i as usize];
                ne.eth = en.eth;
                ne.known = en.known;
                ne.polls = en.polls;
                ne.live_at = shift(en.live_at);
                ne.polled_at = shift(en.polled_at);
            }
            n.sync(i);
            let mut node = en.head;
            while node != NIL {
                let next = o.g.nodes[node as usize].next;
                if let Some(p) = o.g.nodes[node as usize].packet.take() {
                    if n.g.packets < n.table.packet_bound {
                        n.push_packet(i, p);
                    } else {
                        n.g.drops += 1;
                    }
                }
                node = next;
            }
        }
        n.g.drops += o.g.drops;
        drop(n);
        o.clear();
        Ok(())
    }
}

/// The table with its lock held.
pub(crate) struct Locked<'a> {
    table: &'a ArpTable,
    g: MutexGuard<'a, Inner>,
    /// Packets freed while this lock was held.
    freed: u64,
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        self.table.drops.store(self.g.drops, Relaxed);
        self.table.count.store(self.g.count, Relaxed);
        self.table.length.store(self.g.packets, Relaxed);
    }
}

impl Locked<'_> {
    /// Packets freed (for timeouts and limits) since the lock was taken,
    /// for the element that took it to count.
    pub(crate) fn freed(&self) -> u64 {
        self.freed
    }

    /// Counts `n` waiting packets freed for timeouts and limits.
    fn dropped(&mut self, n: u64) {
        self.g.drops += n;
        self.freed += n;
    }

    /// The entry for `ip`, found through the index.
    fn find(&self, ip: u32) -> Option<u32> {
        let t = self.table;
        let mut i = t.home(ip);
        for _ in 0..=t.mask {
            let s = &t.slots[i as usize];
            let entry = s.entry.load(Relaxed);
            if entry == 0 {
                return None;
            }
            if s.ip.load(Relaxed) == ip {
                return Some(entry - 1);
            }
            i = (i + 1) & t.mask;
        }
        None
    }

    /// Writes entry `i` through to its slot.
    fn sync(&self, i: u32) {
        let e = &self.g.entries[i as usize];
        self.table.slots[e.slot as usize].write(&e.view(i));
    }

    /// Click's `ensure`: the entry for `ip`, made (at the young end of
    /// the age list, unknown) if there is none, making room first.
    fn ensure(&mut self, ip: u32, now: u32) -> u32 {
        if let Some(i) = self.find(ip) {
            return i;
        }
        self.g.count += 1;
        if self.g.count > self.g.params.entry_bound() {
            self.slim(now);
        }
        let entry = Entry {
            ip,
            eth: [0xff; 6],
            known: false,
            polls: 0,
            live_at: now,
            polled_at: now.wrapping_sub(HZ),
            slot: NIL,
            prev: self.g.age_tail,
            next: NIL,
            head: NIL,
            tail: NIL,
            npackets: 0,
        };
        let i = if self.g.free_entry != NIL {
            let i = self.g.free_entry;
            self.g.free_entry = self.g.entries[i as usize].next;
            self.g.entries[i as usize] = entry;
            i
        } else {
            // Within the capacity reserved: `slim` keeps `count` at the
            // bound, so the vector never grows past it.
            self.g.entries.push(entry);
            (self.g.entries.len() - 1) as u32
        };
        match self.g.age_tail {
            NIL => self.g.age_head = i,
            t => self.g.entries[t as usize].next = i,
        }
        self.g.age_tail = i;
        // A free slot: the table is at most half full.
        let t = self.table;
        let mut s = t.home(ip);
        while t.slots[s as usize].entry.load(Relaxed) != 0 {
            s = (s + 1) & t.mask;
        }
        self.g.entries[i as usize].slot = s;
        self.sync(i);
        i
    }

    fn unlink_age(&mut self, i: u32) {
        let (prev, next) = {
            let e = &self.g.entries[i as usize];
            (e.prev, e.next)
        };
        match prev {
            NIL => self.g.age_head = next,
            p => self.g.entries[p as usize].next = next,
        }
        match next {
            NIL => self.g.age_tail = prev,
            n => self.g.entries[n as usize].prev = prev,
        }
    }

    /// Links entry `i` into the age list before `before` (NIL: at the
    /// young end).
    fn link_age_before(&mut self, i: u32, before: u32) {
        let prev = match before {
            NIL => self.g.age_tail,
            b => self.g.entries[b as usize].prev,
        };
        {
            let e = &mut self.g.entries[i as usize];
            e.prev = prev;
            e.next = before;
        }
        match prev {
            NIL => self.g.age_head = i,
            p => self.g.entries[p as usize].next = i,
        }
        match before {
            NIL => self.g.age_tail = i,
            b => self.g.entries[b as usize].prev = i,
        }
    }

    /// Takes the slot of entry `i` out of the index, moving later members
    /// of its probe run back (no tombstones).
    fn unindex(&mut self, i: u32) {
        let t = self.table;
        let mut hole = self.g.entries[i as usize].slot;
        t.slots[hole as usize].write(&SlotView {
            ip: 0,
            entry: 0,
            eth_lo: 0,
            eth_hi: 0,
            live_at: 0,
            polled_at: 0,
        });
        let mut j = hole;
        loop {
            j = (j + 1) & t.mask;
            let s = &t.slots[j as usize];
            let entry = s.entry.load(Relaxed);
            if entry == 0 {
                return;
            }
            let home = t.home(s.ip.load(Relaxed));
            // Whether `home` lies cyclically in (hole, j]: then the
            // member stays; else it moves into the hole.
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if stays {
                continue;
            }
            let e = entry - 1;
            self.g.entries[e as usize].slot = hole;
            self.sync(e);
            t.slots[j as usize].write(&SlotView {
                ip: 0,
                entry: 0,
                eth_lo: 0,
                eth_hi: 0,
                live_at: 0,
                polled_at: 0,
            });
            hole = j;
        }
    }

    /// Frees the waiting packets of entry `i`, counted as drops.
    fn free_packets(&mut self, i: u32) {
        let mut node = self.g.entries[i as usize].head;
        while node != NIL {
            let g = &mut *self.g;
            let n = &mut g.nodes[node as usize];
            let next = n.next;
            n.packet = None;
            n.next = g.free_node;
            g.free_node = node;
            g.packets -= 1;
            self.dropped(1);
            node = next;
        }
        let e = &mut self.g.entries[i as usize];
        e.head = NIL;
        e.tail = NIL;
        e.npackets = 0;
    }

    /// Removes entry `i` with its packets.
    fn remove(&mut self, i: u32) {
        self.free_packets(i);
        self.unindex(i);
        self.unlink_age(i);
        self.g.entries[i as usize].next = self.g.free_entry;
        self.g.free_entry = i;
        self.g.count -= 1;
    }

    /// Click's `slim`: removes expired entries, and old ones while there
    /// are too many; then frees the oldest waiting packets while there
    /// are too many, down to CAPACITY less 1/CAPACITY_SLIM_FACTOR.
    fn slim(&mut self, now: u32) {
        let p = self.g.params;
        let bound = p.entry_bound();
        loop {
            let e = self.g.age_head;
            if e == NIL {
                break;
            }
            let expired = self.g.entries[e as usize].expired(now, p.timeout_j);
            if !expired && self.g.count <= bound {
                break;
            }
            if !expired {
                self.g.evictions += 1;
            }
            self.remove(e);
        }
        // CAPACITY 0 (Click: unlimited) slims at our bound the same way,
        // so a flood costs an amortized walk of the age list, not one per
        // packet.
        let capacity = self.table.packet_bound;
        if self.g.packets > capacity {
            let slim_capacity = (capacity - capacity / p.slim_factor).max(1);
            let mut e = self.g.age_head;
            while self.g.packets > slim_capacity && e != NIL {
                while self.g.entries[e as usize].head != NIL && self.g.packets > slim_capacity {
                    drop(self.pop_packet(e));
                    self.dropped(1);
                }
                e = self.g.entries[e as usize].next;
            }
        }
    }

    /// Takes the oldest waiting packet of entry `i` off its list.
    fn pop_packet(&mut self, i: u32) -> Option<SendPacket> {
        let node = self.g.entries[i as usize].head;
        if node == NIL {
            return None;
        }
        let g = &mut *self.g;
        let n = &mut g.nodes[node as usize];
        let packet = n.packet.take();
        let next = n.next;
        n.next = g.free_node;
        g.free_node = node;
        let e = &mut g.entries[i as usize];
        e.head = next;
        if next == NIL {
            e.tail = NIL;
        }
        e.npackets -= 1;
        g.packets -= 1;
        packet
    }

    /// Appends `p` to entry `i`'s packets (room was made).
    fn push_packet(&mut self, i: u32, p: SendPacket) {
        let node = if self.g.free_node != NIL {
            let n = self.g.free_node;
            self.g.free_node = self.g.nodes[n as usize].next;
            self.g.nodes[n as usize] = Node {
                packet: Some(p),
                next: NIL,
            };
            n
        } else {
            // Within the reserved capacity: at most `packet_bound` nodes
            // hold packets, and freed ones are reused first.
            self.g.nodes.push(Node {
                packet: Some(p),
                next: NIL,
            });
            (self.g.nodes.len() - 1) as u32
        };
        let tail = self.g.entries[i as usize].tail;
        match tail {
            NIL => self.g.entries[i as usize].head = node,
            t => self.g.nodes[t as usize].next = node,
        }
        let e = &mut self.g.entries[i as usize];
        e.tail = node;
        e.npackets += 1;
        self.g.packets += 1;
    }

    /// Click's locked `lookup`: the Ethernet address of `ip` if it is
    /// known and not expired, and whether a poll (a query to refresh it)
    /// is due, which is then noted.
    pub(crate) fn lookup(&mut self, ip: u32, now: u32, poll_j: u32) -> Option<([u8; 6], bool)> {
        let i = self.find(ip)?;
        let timeout = self.g.params.timeout_j;
        let e = &mut self.g.entries[i as usize];
        if !e.known_at(now, timeout) {
            return None;
        }
        let poll = poll_j != 0
            && !less(now, e.live_at.wrapping_add(poll_j))
            && allow_poll(now, e.polled_at, e.polls);
        let eth = e.eth;
        if poll {
            e.mark_poll(now);
            self.sync(i);
        }
        Some((eth, poll))
    }

    /// Click's `append_query`: keeps `p` waiting for `ip`'s address.
    pub(crate) fn append(&mut self, ip: u32, p: Packet, now: u32) -> Appended {
        let i = self.ensure(ip, now);
        let p_ = self.g.params;
        {
            let e = &self.g.entries[i as usize];
            if e.known_at(now, p_.timeout_j) {
                return Appended::Known(p, e.eth);
            }
        }
        // Keep an entry still being asked for just this side of expiring,
        // so the slim below cannot take it (Click's fix of 5 Nov 2009).
        if p_.timeout_j != 0 {
            let live_min = now.wrapping_sub(p_.timeout_j);
            if less(self.g.entries[i as usize].live_at, live_min) {
                self.g.entries[i as usize].live_at = live_min;
                let first = self.g.entries[i as usize].next;
                let mut next = first;
                while next != NIL && less(self.g.entries[next as usize].live_at, live_min) {
                    next = self.g.entries[next as usize].next;
                }
                if next != first {
                    self.unlink_age(i);
                    self.link_age_before(i, next);
                }
            }
        }
        if p_.entry_packet_capacity != 0
            && self.g.entries[i as usize].npackets >= p_.entry_packet_capacity
        {
            self.dropped(1);
            self.sync(i);
            return Appended::Dropped;
        }
        // Room for one more: Click counts it, then slims (at our bound
        // where CAPACITY is 0), which leaves fewer than the bound waiting.
        self.g.packets += 1;
        if self.g.packets > self.table.packet_bound {
            self.slim(now);
        }
        self.g.packets -= 1;
        self.push_packet(i, p.into_send());
        let e = &mut self.g.entries[i as usize];
        let query = allow_poll(now, e.polled_at, e.polls);
        if query {
            e.mark_poll(now);
        }
        self.sync(i);
        Appended::Held { query }
    }

    /// Click's `insert`: `ip` is at `eth` (broadcast: not known), as of
    /// `now`. The entry's waiting packets go to `released`, oldest first
    /// (it has room for [`ArpTable::packet_bound`] packets), or stay
    /// waiting without one (a handler's insert, as in Click).
    pub(crate) fn insert(
        &mut self,
        ip: u32,
        eth: [u8; 6],
        now: u32,
        released: Option<&mut Vec<SendPacket>>,
    ) {
        let i = self.ensure(ip, now);
        {
            let e = &mut self.g.entries[i as usize];
            e.eth = eth;
            e.known = eth != [0xff; 6];
            e.live_at = now;
            e.polls = 0;
            e.polled_at = now.wrapping_sub(HZ);
        }
        if self.g.entries[i as usize].next != NIL {
            self.unlink_age(i);
            self.link_age_before(i, NIL);
        }
        if let Some(released) = released {
            while let Some(p) = self.pop_packet(i) {
                released.push(p);
            }
        }
        self.sync(i);
    }

    /// Click's `clear`: every entry goes, its packets counted as drops.
    pub(crate) fn clear(&mut self) {
        while self.g.age_head != NIL {
            let e = self.g.age_head;
            self.remove(e);
        }
    }

    /// Click's timer: expires old entries and makes room.
    pub(crate) fn expire(&mut self, now: u32) {
        self.slim(now);
    }
}

/// What an ARP element's instances share: the table (filled in by its
/// owner, an ARPTable or an ARPQuerier with none named, while it
/// initializes) and an ARPQuerier's counters.
#[derive(Default)]
pub(crate) struct TableCell {
    pub table: OnceLock<Arc<ArpTable>>,
    pub counters: OnceLock<SharedCounters<3>>,
}

/// The handlers' arguments, split into words and read in the context of
/// the element's configuration (AddressInfo names).
fn word_args(value: &str, names: &Option<Arc<dyn ArgContext>>) -> Args {
    let mut a = Args::from_vec(split_words(value));
    if let Some(n) = names {
        a.set_context(n.clone());
    }
    a
}

/// Reads `IP ETH` (the `insert` handlers).
pub(crate) fn parse_insert(
    value: &str,
    names: &Option<Arc<dyn ArgContext>>,
) -> Result<(u32, [u8; 6]), String> {
    let mut a = word_args(value, names);
    let ip: Ipv4Addr = a.read_mp("IP")?;
    let eth: EtherAddr = a.read_mp("ETH")?;
    a.complete()?;
    Ok((u32::from(ip), eth.0))
}

/// Reads `IP` (the `delete` handlers).
pub(crate) fn parse_delete(
    value: &str,
    names: &Option<Arc<dyn ArgContext>>,
) -> Result<u32, String> {
    let mut a = word_args(value, names);
    let ip: Ipv4Addr = a.read_mp("IP")?;
    a.complete()?;
    Ok(u32::from(ip))
}

/// `ARPTable([*keywords* CAPACITY, ENTRY_CAPACITY, ENTRY_PACKET_CAPACITY,
/// CAPACITY_SLIM_FACTOR, TIMEOUT])`: an ARP table that several
/// ARPQueriers share (`ARPQuerier(..., TABLE name)`); an ARPQuerier
/// otherwise keeps its own. It holds IP-to-Ethernet mappings and the
/// packets waiting for them: at most CAPACITY packets (default 2048; 0,
/// Click's unlimited, is 16384 here), freeing the oldest
/// 1/CAPACITY_SLIM_FACTOR (default 2) when over; at most ENTRY_CAPACITY
/// entries (default 0, Click's unlimited, is 65536 here), the oldest
/// going first; at most ENTRY_PACKET_CAPACITY packets for one address
/// (default 0: no limit); entries expire TIMEOUT after their last reply
/// (default 5 minutes; 0: never), and a timer removes expired ones (every
/// TIMEOUT + 1 seconds). Reads take no lock and scale across threads;
/// see `arptable.rs` for the design.
///
/// * Ports: none.
/// * Handlers: `table` (read: `IP OK ETH AGE` per entry, oldest first;
///   OK is 1 for a known, unexpired entry; AGE is the time since the
///   entry was last updated, at the read), `count`, `length` (entries, waiting packets),
///   `drops` (packets freed for timeouts and limits), `evictions`
///   (entries removed to make room: ours); `insert` (write `IP ETH`),
///   `delete` (write `IP`: the entry becomes unknown, as in Click),
///   `clear` (write).
pub struct ARPTable {
    params: Params,
    cell: Arc<TableCell>,
    names: Option<Arc<dyn ArgContext>>,
}

impl ElementClass for ARPTable {
    const CLASS: &'static str = "ARPTable";
    const PORT_COUNT: &'static str = "0/0";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let (params, _) = Params::read(args)?;
        Ok(ARPTable {
            params,
            cell: Arc::default(),
            names: args.shared_context(),
        })
    }
}

impl ARPTable {
    fn table(&self) -> &ArpTable {
        self.cell
            .table
            .get()
            .expect("the table is made at initialize")
    }
}

/// When an ARP table's expiry timer next fires, after its first time.
pub(crate) fn expire_interval(timeout_j: u32) -> Duration {
    Duration::from_secs(u64::from(timeout_j / HZ) + 1)
}

impl Element for ARPTable {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.cell = ctx.shared_state(TableCell::default)?;
        let clock = ctx.clock();
        let table = self
            .cell
            .table
            .get_or_init(|| Arc::new(ArpTable::new(self.params, clock)));
        if let Some(old) = ctx.take_state::<Arc<ArpTable>>() {
            table.take_from(&old, old.now(), table.now())?;
        }
        if self.params.timeout_j != 0 {
            ctx.schedule_after(Duration::from_secs(u64::from(self.params.timeout_j / HZ)));
        }
        Ok(())
    }

    fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
        let table = self.table();
        let now = table.jiffies(ctx.now());
        table.lock().expire(now);
        ctx.schedule_after(expire_interval(self.params.timeout_j));
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("table"),
            Handler::read("drops"),
            Handler::read("count"),
            Handler::read("length"),
            Handler::read("evictions"),
            Handler::write("insert"),
            Handler::write("delete"),
            Handler::write("clear"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        let t = self.cell.table.get()?;
        Some(match name {
            "table" => t.dump(),
            "drops" => t.drops().to_string(),
            "count" => t.count().to_string(),
            "length" => t.length().to_string(),
            "evictions" => t.evictions().to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        let table = self.table();
        let now = table.jiffies(ctx.now());
        match name {
            "insert" => {
                let (ip, eth) = parse_insert(value, &self.names)?;
                table.lock().insert(ip, eth, now, None);
            }
            "delete" => {
                let ip = parse_delete(value, &self.names)?;
                table.lock().insert(ip, [0xff; 6], now, None);
            }
            "clear" => table.lock().clear(),
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }

    fn hand_over(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        let t = self.cell.table.get()?.clone();
        Some(Box::new(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn table(p: Params) -> ArpTable {
        ArpTable::new(p, ClockHandle::real())
    }

    fn pkt(tag: u8) -> Packet {
        Packet::from_slice(&[tag; 60]).unwrap()
    }

    fn held(a: Appended) -> bool {
        matches!(a, Appended::Held { .. })
    }

    #[test]
    fn an_answered_address_is_found_without_the_lock() {
        let t = table(Params::default());
        let ip = u32::from(Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(t.lookup_fast(ip, 5, 0), None);
        let mut out = Vec::with_capacity(t.packet_bound());
        {
            let mut l = t.lock();
            assert!(matches!(
                l.append(ip, pkt(1), 5),
                Appended::Held { query: true }
            ));
            // Within 100 ms, no second query.
            assert!(matches!(
                l.append(ip, pkt(2), 50),
                Appended::Held { query: false }
            ));
            assert!(matches!(
                l.append(ip, pkt(3), 105),
                Appended::Held { query: true }
            ));
            l.insert(ip, [2, 0, 0, 0, 0, 7], 110, Some(&mut out));
        }
        let tags: Vec<u8> = out.drain(..).map(|p| p.into_packet().data()[0]).collect();
        assert_eq!(tags, [1, 2, 3]);
        assert_eq!(t.length(), 0);
        assert_eq!(t.lookup_fast(ip, 120, 60 * HZ), Some([2, 0, 0, 0, 0, 7]));
        // Expired after TIMEOUT (strictly later than live + timeout).
        assert!(t.lookup_fast(ip, 110 + 300 * HZ, 0).is_some());
        assert_eq!(t.lookup_fast(ip, 111 + 300 * HZ, 0), None);
        assert!(t.lock().lookup(ip, 111 + 300 * HZ, 0).is_none());
    }

    #[test]
    fn polls_go_to_the_slow_path_at_most_ten_a_second() {
        let t = table(Params::default());
        let ip = 0x0a000002;
        t.lock().insert(ip, [2, 0, 0, 0, 0, 7], 0, None);
        let poll = 80;
        assert!(t.lookup_fast(ip, 79, poll).is_some());
        assert_eq!(t.lookup_fast(ip, 80, poll), None);
        let mut l = t.lock();
        assert_eq!(l.lookup(ip, 80, poll), Some(([2, 0, 0, 0, 0, 7], true)));
        assert_eq!(l.lookup(ip, 81, poll), Some(([2, 0, 0, 0, 0, 7], false)));
        drop(l);
        // The fast path knows the poll was just made.
        assert!(t.lookup_fast(ip, 150, poll).is_some());
        assert_eq!(t.lookup_fast(ip, 180, poll), None);
    }

    #[test]
    fn capacity_frees_the_oldest_packets_down_to_the_slim_factor() {
        let t = table(Params {
            capacity: 10,
            ..Params::default()
        });
        let mut l = t.lock();
        for i in 0..100u32 {
            assert!(held(l.append(0x0a000002, pkt(i as u8), 0)));
        }
        // Click's arithmetic: after the first 10, six packets go each time
        // the count passes 10, so 90 are freed and 10 wait.
        assert_eq!(l.g.packets, 10);
        assert_eq!(l.g.drops, 90);
        drop(l);
        assert_eq!((t.length(), t.drops()), (10, 90));
    }

    #[test]
    fn entry_packet_capacity_drops_the_newcomers() {
        let t = table(Params {
            entry_packet_capacity: 10,
            ..Params::default()
        });
        let mut l = t.lock();
        let held_n = (0..50)
            .filter(|_| held(l.append(0x0a000002, pkt(0), 0)))
            .count();
        assert_eq!(held_n, 10);
        assert_eq!(l.g.drops, 40);
    }

    #[test]
    fn entry_capacity_evicts_the_oldest_entries_with_their_packets() {
        let t = table(Params {
            capacity: 1,
            entry_capacity: 1,
            timeout_j: 100,
            ..Params::default()
        });
        let mut l = t.lock();
        assert!(held(l.append(1, pkt(1), 0)));
        assert!(held(l.append(2, pkt(2), 10)));
        assert_eq!((l.g.count, l.g.packets, l.g.drops), (1, 1, 1));
        assert!(l.find(1).is_none() && l.find(2).is_some());
        assert_eq!(l.g.evictions, 1);
    }

    #[test]
    fn a_flood_of_unknown_destinations_stays_within_its_bounds() {
        let t = table(Params {
            entry_capacity: 0,
            ..Params::default()
        });
        let n = DEFAULT_ENTRY_BOUND + 5000;
        let mut l = t.lock();
        for ip in 0..n {
            l.append(0x0b000000 + ip, pkt(0), 0);
        }
        assert_eq!(l.g.count, DEFAULT_ENTRY_BOUND);
        assert!(l.g.packets <= 2048);
        assert_eq!(l.g.entries.capacity(), DEFAULT_ENTRY_BOUND as usize);
        assert!(l.g.nodes.capacity() <= 2048);
        assert_eq!(l.g.evictions, 5000);
        assert_eq!(u64::from(n) - u64::from(l.g.packets), l.g.drops);
    }

    #[test]
    fn capacity_zero_slims_at_the_default_bound() {
        let t = table(Params {
            capacity: 0,
            entry_capacity: 0,
            ..Params::default()
        });
        let n = DEFAULT_PACKET_BOUND * 3;
        let mut l = t.lock();
        for ip in 0..n {
            assert!(held(l.append(0x0c000000 + ip, pkt(0), 0)));
            assert!(l.g.packets <= DEFAULT_PACKET_BOUND);
        }
        // Each time the bound is passed, the oldest half goes.
        assert!(l.g.packets > DEFAULT_PACKET_BOUND / 2, "{}", l.g.packets);
        assert_eq!(u64::from(n - l.g.packets), l.g.drops);
        assert_eq!(l.g.nodes.capacity(), DEFAULT_PACKET_BOUND as usize);
        // The packets left are the youngest.
        let head = l.g.age_head;
        let mut e = head;
        while l.g.entries[e as usize].head == NIL {
            e = l.g.entries[e as usize].next;
        }
        assert_eq!(l.g.entries[e as usize].ip, 0x0c000000 + n - l.g.packets);
    }

    /// The index against a map, through random inserts, deletes by
    /// eviction and clears, on a small table so probe runs wrap and
    /// entries move back.
    #[test]
    fn the_index_agrees_with_a_map() {
        let t = table(Params {
            entry_capacity: 24,
            timeout_j: 0,
            ..Params::default()
        });
        let mut model: Vec<u32> = Vec::new(); // age order
        let mut eths: HashMap<u32, [u8; 6]> = HashMap::new();
        let mut x: u64 = 0x1234_5678;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for step in 0..20_000u32 {
            let ip = (rnd() % 60) as u32;
            let r = rnd() % 100;
            let mut l = t.lock();
            if r < 2 {
                l.clear();
                model.clear();
                eths.clear();
            } else {
                let eth = [2, 0, 0, 0, (step >> 8) as u8, step as u8];
                l.insert(ip, eth, step, None);
                model.retain(|&m| m != ip);
                model.push(ip);
                eths.insert(ip, eth);
                if model.len() > 24 {
                    let old = model.remove(0);
                    eths.remove(&old);
                }
            }
            drop(l);
            for probe in 0..60u32 {
                let fast = t.lookup_fast(probe, step, 0);
                assert_eq!(fast, eths.get(&probe).copied(), "step {step} ip {probe}");
            }
        }
        let l = t.lock();
        let mut order = Vec::new();
        let mut e = l.g.age_head;
        while e != NIL {
            order.push(l.g.entries[e as usize].ip);
            e = l.g.entries[e as usize].next;
        }
        assert_eq!(order, model);
    }

    /// Readers on other threads never see a torn entry: every address
    /// read back is one that was written for that IP.
    #[test]
    fn readers_see_whole_entries_while_a_writer_changes_them() {
        let t = Arc::new(table(Params {
            entry_capacity: 8,
            timeout_j: 0,
            ..Params::default()
        }));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (t, stop) = (t.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut hits = 0u64;
                    while !stop.load(Relaxed) {
                        for ip in 1..=16u32 {
                            if let Some(eth) = t.lookup_fast(ip, 0, 0) {
                                // Written as [ip, ip, k, k, k, k].
                                assert_eq!((eth[0], eth[1]), (ip as u8, ip as u8));
                                assert!(eth[2..].iter().all(|&b| b == eth[2]));
                                hits += 1;
                            }
                        }
                    }
                    hits
                })
            })
            .collect();
        for k in 0..200_000u32 {
            let ip = 1 + k % 16;
            let b = k as u8;
            t.lock()
                .insert(ip, [ip as u8, ip as u8, b, b, b, b], 0, None);
        }
        stop.store(true, Relaxed);
        for r in readers {
            assert!(r.join().unwrap() > 0);
        }
    }

    #[test]
    fn a_hot_swap_carries_entries_and_packets_over_as_ages() {
        let old = table(Params::default());
        {
            let mut l = old.lock();
            l.insert(1, [2, 0, 0, 0, 0, 1], 1000, None);
            l.append(2, pkt(9), 1500);
        }
        // The old table's clock reads 2000 at the hand-over, the new one's
        // whatever it reads: ages carry over (plus the test's own time).
        let new = table(Params::default());
        new.take_from(&old, 2000, new.now()).unwrap();
        assert_eq!((new.count(), new.length(), old.count()), (2, 1, 0));
        let dump = new.dump();
        assert!(dump.starts_with("0.0.0.1 1 02-00-00-00-00-01 1."), "{dump}");
        assert!(dump.contains("0.0.0.2 0 FF-FF-FF-FF-FF-FF 0.5"), "{dump}");
        assert!(new.take_from(&old, 0, 0).is_err());
    }
}
