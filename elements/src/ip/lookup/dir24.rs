//! DIR-24-8: the forwarding table every lookup element reads.
//!
//! Gupta, Lin and McKeown's scheme ("Routing Lookups in Hardware at Memory
//! Access Speeds", Infocom 1998), as DPDK's `rte_lpm` and Click's
//! DirectIPLookup implement it. The first level, `tbl24`, has one entry
//! per /24: 2^24 entries of 4 bytes. An entry either holds the answer for
//! its whole /24 or points to a *group* of 256 entries in `tbl8`, one per
//! address, for the /24s that hold prefixes longer than /24. A lookup is
//! one read, two for the rare addresses under a longer prefix, then a read
//! of the next hop in a small array.
//!
//! Entry layout (`u32`):
//!
//! ```text
//!  31   30..24   23..0
//! [ 1 ][   group index     ]  tbl24 only: look in tbl8 group
//! [ 0 ][depth][ hop index  ]  the answer: next hop, and the length of
//!                             the prefix that gave it (for updates)
//! ```
//!
//! Hop 0 is the default route's next hop, so fresh (zero) memory means
//! "the default route, if any", and adding or removing 0.0.0.0/0 writes
//! one word, never the 64 MiB table.
//!
//! **Concurrency.** Every entry is an atomic, so lookups on several
//! threads read the table while one writer (the route table, under its
//! lock) changes it in place, as `rte_lpm` does: each store leaves every
//! address with its old or its new answer. A new group is filled before
//! the tbl24 entry points to it (release store, acquire load). A group or
//! hop slot that stops being used is *retired*, not reused, until every
//! reader has passed a quiescent point (see `shared.rs`): a reader that
//! loaded the old pointer just before it changed still finds the old
//! answer there.

use super::mem::Region;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicU32, AtomicU64};

/// Marks a tbl24 entry that points to a tbl8 group.
const EXT: u32 = 1 << 31;
const DEPTH_SHIFT: u32 = 24;
const HOP_MASK: u32 = (1 << DEPTH_SHIFT) - 1;
/// Entries in tbl24: one per /24.
const TBL24_LEN: usize = 1 << 24;
/// Entries in one tbl8 group: one per address of a /24.
const GROUP: usize = 256;

/// The most next hops (distinct gateway and port pairs, the default
/// route's included) a table can hold.
pub const MAX_HOPS: u32 = 1 << 24;
/// The most /24s that may hold prefixes longer than /24 (tbl8 groups) by
/// default: 2^17, 128 MiB of address space of which only the groups in
/// use are committed (1 KiB each).
pub const DEFAULT_MAX_GROUPS: u32 = 1 << 17;
/// Routes from which a table asks for huge pages. Below, random routes
/// touch fewer 4 KiB pages of tbl24 than a TLB maps, and a small table
/// commits kilobytes; from about here they touch every 2 MiB of it
/// anyway, and huge pages spare a TLB miss per lookup.
pub const HUGE_PAGES_FROM: usize = 4096;

#[inline(always)]
fn entry(depth: u8, hop: u32) -> u32 {
    (u32::from(depth) << DEPTH_SHIFT) | hop
}

#[inline(always)]
fn depth_of(e: u32) -> u8 {
    ((e >> DEPTH_SHIFT) & 0x3f) as u8
}

/// A lookup's answer: an output port and a gateway, packed in one word
/// (gateway in the high half, port + 1 in the low; all zero: no route).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct NextHop(u64);

impl NextHop {
    /// No route.
    pub const NONE: NextHop = NextHop(0);

    /// Output `port` via `gw` (0.0.0.0: no gateway).
    #[inline]
    pub fn new(gw: u32, port: u32) -> NextHop {
        NextHop((u64::from(gw) << 32) | u64::from(port.wrapping_add(1)))
    }

    /// No route, but a gateway the `lookup` handler still shows: what
    /// Click's DirectIPLookup answers once its default route is removed.
    #[inline]
    pub fn unrouted(gw: u32) -> NextHop {
        NextHop(u64::from(gw) << 32)
    }

    /// The output port, `None` if there is no route.
    #[inline(always)]
    pub fn port(self) -> Option<u32> {
        (self.0 as u32).checked_sub(1)
    }

    /// The gateway (0 for none).
    #[inline(always)]
    pub fn gateway(self) -> u32 {
        (self.0 >> 32) as u32
    }

    #[inline(always)]
    fn word(self) -> u64 {
        self.0
    }
}

/// Sizes of a [`Fib`]'s arrays.
#[derive(Clone, Copy, Debug)]
pub struct FibOptions {
    /// tbl8 groups to reserve address space for.
    pub max_groups: u32,
    /// Back the arrays with transparent huge pages once the table holds
    /// [`HUGE_PAGES_FROM`] routes: faster random lookups in a large table,
    /// each 2 MiB page touched committed whole.
    pub huge_pages: bool,
}

impl Default for FibOptions {
    fn default() -> Self {
        FibOptions {
            max_groups: DEFAULT_MAX_GROUPS,
            huge_pages: true,
        }
    }
}

/// The forwarding table: DIR-24-8 arrays and the next hops they index.
/// Read-only for lookups; changed through a [`Dir24Writer`].
#[derive(Debug)]
pub struct Fib {
    tbl24: Region<AtomicU32>,
    tbl8: Region<AtomicU32>,
    hops: Region<AtomicU64>,
    max_groups: u32,
}

impl Fib {
    /// An empty table (no route, no default route). Reserves the arrays'
    /// address space; memory is committed as routes are added.
    pub fn new(opts: FibOptions) -> Result<Fib, String> {
        let max_groups = opts.max_groups.clamp(1, EXT - 1);
        Ok(Fib {
            tbl24: Region::new(TBL24_LEN, opts.huge_pages)?,
            tbl8: Region::new(max_groups as usize * GROUP, opts.huge_pages)?,
            hops: Region::new(MAX_HOPS as usize, false)?,
            max_groups,
        })
    }

    /// The next hop for `addr`.
    #[inline(always)]
    pub fn lookup(&self, addr: u32) -> NextHop {
        let e = self.tbl24.as_slice()[(addr >> 8) as usize].load(Acquire);
        let e = if e & EXT != 0 {
            self.tbl8_entry(e, addr)
        } else {
            e
        };
        self.hop(e)
    }

    #[inline(always)]
    fn tbl8_entry(&self, e: u32, addr: u32) -> u32 {
        let i = ((e & !EXT) as usize) * GROUP + (addr & 0xff) as usize;
        // A group index comes from the table itself, so it is in range;
        // `get` keeps a corrupted entry from being undefined behaviour.
        self.tbl8.as_slice().get(i).map_or(0, |x| x.load(Acquire))
    }

    #[inline(always)]
    fn hop(&self, e: u32) -> NextHop {
        NextHop(self.hops.as_slice()[(e & HOP_MASK) as usize].load(Relaxed))
    }

    /// Looks up every address of `addrs` into `out` (the shorter of the
    /// two decides how many). The tbl24 lines of the whole batch are
    /// fetched before any is used, so the cache misses of a batch overlap
    /// instead of following one another.
    #[inline]
    pub fn lookup_batch(&self, addrs: &[u32], out: &mut [NextHop]) {
        let t24 = self.tbl24.as_slice();
        #[cfg(target_arch = "x86_64")]
        for &a in addrs {
            // SAFETY: prefetching has no effect on memory; the address is
            // inside tbl24 (`a >> 8 < 2^24`).
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>(t24.as_ptr().add((a >> 8) as usize).cast());
            }
        }
        for (&a, o) in addrs.iter().zip(out.iter_mut()) {
            let e = t24[(a >> 8) as usize].load(Acquire);
            let e = if e & EXT != 0 {
                self.tbl8_entry(e, a)
            } else {
                e
            };
            *o = self.hop(e);
        }
    }

    /// The answer of hop slot `hop` (the default route's for 0).
    pub fn hop_value(&self, hop: u32) -> NextHop {
        self.hops
            .as_slice()
            .get(hop as usize)
            .map_or(NextHop::NONE, |x| NextHop(x.load(Relaxed)))
    }

    /// Turns to huge pages (see [`FibOptions::huge_pages`]).
    pub(crate) fn use_huge_pages(&self) {
        self.tbl24.use_huge_pages();
        self.tbl8.use_huge_pages();
    }

    /// The most tbl8 groups this table can hold.
    pub fn max_groups(&self) -> u32 {
        self.max_groups
    }
}

/// What a change left for later: groups and hop slots that readers may
/// still be looking at, reusable once they have all moved on.
#[derive(Debug, Default)]
pub struct Retired {
    pub(crate) groups: Vec<u32>,
    pub(crate) hops: Vec<u32>,
}

impl Retired {
    /// Whether nothing is retired.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.hops.is_empty()
    }

    /// Adds `other`'s retirees.
    pub fn append(&mut self, mut other: Retired) {
        self.groups.append(&mut other.groups);
        self.hops.append(&mut other.hops);
    }
}

/// The writer's side of a [`Fib`]: allocation of tbl8 groups, and the
/// incremental updates. One writer per table (the route table holds it
/// under its lock).
#[derive(Debug, Default)]
pub struct Dir24Writer {
    /// Groups never used are `next_group..`.
    next_group: u32,
    free_groups: Vec<u32>,
    /// Groups in use.
    groups_in_use: u32,
    retired: Retired,
}

/// A change needed a tbl8 group and none was left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableFull;

impl Dir24Writer {
    /// Groups in use.
    pub fn groups_in_use(&self) -> u32 {
        self.groups_in_use
    }

    /// Whether adding a prefix of `depth` at `prefix` needs a new group
    /// and none is left: checked before anything changes, so a failed
    /// add leaves the table as it was.
    pub fn would_overflow(&self, fib: &Fib, prefix: u32, depth: u8) -> bool {
        depth > 24
            && fib.tbl24.as_slice()[(prefix >> 8) as usize].load(Relaxed) & EXT == 0
            && self.free_groups.is_empty()
            && self.next_group >= fib.max_groups
    }

    fn alloc_group(&mut self, fib: &Fib) -> Result<u32, TableFull> {
        let g = match self.free_groups.pop() {
            Some(g) => g,
            None if self.next_group < fib.max_groups => {
                self.next_group += 1;
                self.next_group - 1
            }
            None => return Err(TableFull),
        };
        self.groups_in_use += 1;
        Ok(g)
    }

    fn retire_group(&mut self, g: u32) {
        self.groups_in_use -= 1;
        self.retired.groups.push(g);
    }

    /// Retires hop slot `hop` (no entry refers to it any more).
    pub fn retire_hop(&mut self, hop: u32) {
        self.retired.hops.push(hop);
    }

    /// Takes what was retired since the last call.
    pub fn take_retired(&mut self) -> Retired {
        std::mem::take(&mut self.retired)
    }

    /// Makes retired groups reusable (every reader has moved on); returns
    /// the hop slots, for the hop allocator.
    pub fn reuse(&mut self, retired: Retired) -> Vec<u32> {
        self.free_groups.extend(retired.groups);
        retired.hops
    }

    /// Sets hop slot `hop`'s answer. Do it before any entry refers to the
    /// slot; the entries' release stores then publish it.
    pub fn set_hop(&self, fib: &Fib, hop: u32, value: NextHop) {
        if let Some(x) = fib.hops.as_slice().get(hop as usize) {
            x.store(value.word(), Release);
        }
    }

    /// Makes `prefix/depth` (1 to 32, host bits clear) answer with hop
    /// `hop` wherever no longer prefix does. Also replaces the route of
    /// that prefix if there is one.
    pub fn insert(&mut self, fib: &Fib, prefix: u32, depth: u8, hop: u32) -> Result<(), TableFull> {
        debug_assert!((1..=32).contains(&depth) && hop < MAX_HOPS);
        let new = entry(depth, hop);
        let t24 = fib.tbl24.as_slice();
        let t8 = fib.tbl8.as_slice();
        if depth <= 24 {
            let start = (prefix >> 8) as usize;
            let end = start + (1usize << (24 - depth));
            let mut i = start;
            while i < end {
                let e = t24[i].load(Relaxed);
                if e & EXT != 0 {
                    let g = ((e & !EXT) as usize) * GROUP;
                    for x in &t8[g..g + GROUP] {
                        if depth_of(x.load(Relaxed)) <= depth {
                            x.store(new, Release);
                        }
                    }
                    i += 1;
                } else {
                    let d = depth_of(e);
                    if d <= depth {
                        t24[i].store(new, Release);
                        i += 1;
                    } else {
                        // A longer prefix (d <= 24) covers the aligned
                        // block of 2^(24-d) entries around i: nothing in
                        // it is ours.
                        i = (i | ((1usize << (24 - d)) - 1)) + 1;
                    }
                }
            }
        } else {
            let i = (prefix >> 8) as usize;
            let lo = (prefix & 0xff) as usize;
            let n = 1usize << (32 - depth);
            let e = t24[i].load(Relaxed);
            if e & EXT != 0 {
                let g = ((e & !EXT) as usize) * GROUP;
                for x in &t8[g + lo..g + lo + n] {
                    if depth_of(x.load(Relaxed)) <= depth {
                        x.store(new, Release);
                    }
                }
            } else {
                let g = self.alloc_group(fib)?;
                let base = g as usize * GROUP;
                for (j, x) in t8[base..base + GROUP].iter().enumerate() {
                    let v = if (lo..lo + n).contains(&j) { new } else { e };
                    x.store(v, Relaxed);
                }
                // Publishes the group's contents with it.
                t24[i].store(EXT | g, Release);
            }
        }
        Ok(())
    }

    /// Removes `prefix/depth` (1 to 32): its addresses answer with
    /// `replacement`, the entry of the longest shorter prefix covering it
    /// (see [`Dir24Writer::cover`]).
    pub fn delete(&mut self, fib: &Fib, prefix: u32, depth: u8, replacement: u32) {
        debug_assert!((1..=32).contains(&depth));
        let t24 = fib.tbl24.as_slice();
        if depth <= 24 {
            let start = (prefix >> 8) as usize;
            let end = start + (1usize << (24 - depth));
            let mut i = start;
            while i < end {
                let e = t24[i].load(Relaxed);
                if e & EXT != 0 {
                    let g = e & !EXT;
                    self.replace_in_group(fib, g, 0..GROUP, depth, replacement);
                    self.collapse(fib, i, g);
                    i += 1;
                } else {
                    let d = depth_of(e);
                    if d == depth {
                        t24[i].store(replacement, Release);
                        i += 1;
                    } else if d > depth {
                        i = (i | ((1usize << (24 - d)) - 1)) + 1;
                    } else {
                        i += 1;
                    }
                }
            }
        } else {
            let i = (prefix >> 8) as usize;
            let e = t24[i].load(Relaxed);
            if e & EXT == 0 {
                return;
            }
            let g = e & !EXT;
            let lo = (prefix & 0xff) as usize;
            let n = 1usize << (32 - depth);
            self.replace_in_group(fib, g, lo..lo + n, depth, replacement);
            self.collapse(fib, i, g);
        }
    }

    fn replace_in_group(
        &self,
        fib: &Fib,
        g: u32,
        range: std::ops::Range<usize>,
        depth: u8,
        replacement: u32,
    ) {
        let base = g as usize * GROUP;
        for x in &fib.tbl8.as_slice()[base + range.start..base + range.end] {
            if depth_of(x.load(Relaxed)) == depth {
                x.store(replacement, Release);
            }
        }
    }

    /// A group whose 256 entries agree is no longer needed: its tbl24
    /// entry takes the common answer and the group is retired.
    fn collapse(&mut self, fib: &Fib, i: usize, g: u32) {
        let base = g as usize * GROUP;
        let group = &fib.tbl8.as_slice()[base..base + GROUP];
        let first = group[0].load(Relaxed);
        if depth_of(first) <= 24 && group.iter().all(|x| x.load(Relaxed) == first) {
            fib.tbl24.as_slice()[i].store(first, Release);
            self.retire_group(g);
        }
    }

    /// The entry for hop `hop` found through a prefix of length `depth`
    /// (0: the default route, hop 0): what [`Dir24Writer::delete`] puts
    /// back.
    pub fn cover(depth: u8, hop: u32) -> u32 {
        if depth == 0 {
            0
        } else {
            entry(depth, hop)
        }
    }

    /// Clears what prefix `prefix/depth` (1 to 32) covers, whatever its
    /// entries hold: for [`RouteTable::flush`](super::RouteTable::flush),
    /// which calls it for every route, so that clearing costs what the
    /// routes cover rather than a sweep of the 64 MiB table. Groups met
    /// are retired.
    pub fn clear(&mut self, fib: &Fib, prefix: u32, depth: u8) {
        let t24 = fib.tbl24.as_slice();
        let start = (prefix >> 8) as usize;
        let end = start + (1usize << 24u32.saturating_sub(u32::from(depth)));
        for x in &t24[start..end] {
            let e = x.load(Relaxed);
            if e != 0 {
                x.store(0, Release);
                if e & EXT != 0 {
                    self.retire_group(e & !EXT);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Fib {
        Fib::new(FibOptions {
            max_groups: 4,
            huge_pages: false,
        })
        .unwrap()
    }

    #[test]
    fn next_hops_pack_port_and_gateway() {
        let h = NextHop::new(0x0a000001, 3);
        assert_eq!((h.port(), h.gateway()), (Some(3), 0x0a000001));
        assert_eq!(NextHop::NONE.port(), None);
        assert_eq!(NextHop::new(0, 0).port(), Some(0));
    }

    #[test]
    fn longer_prefixes_use_groups_and_give_them_back() {
        let fib = small();
        let mut w = Dir24Writer::default();
        w.set_hop(&fib, 1, NextHop::new(0, 1));
        w.set_hop(&fib, 2, NextHop::new(0, 2));
        w.insert(&fib, 0x0a000000, 8, 1).unwrap();
        w.insert(&fib, 0x0a010280, 25, 2).unwrap();
        assert_eq!(fib.lookup(0x0a010281).port(), Some(2));
        assert_eq!(fib.lookup(0x0a010201).port(), Some(1));
        assert_eq!(fib.lookup(0x0b000000).port(), None);
        assert_eq!(w.groups_in_use(), 1);
        w.delete(&fib, 0x0a010280, 25, Dir24Writer::cover(8, 1));
        assert_eq!(fib.lookup(0x0a010281).port(), Some(1));
        assert_eq!(w.groups_in_use(), 0);
        assert_eq!(w.take_retired().groups, [0]);
    }

    #[test]
    fn running_out_of_groups_is_reported_before_changing_anything() {
        let fib = small();
        let mut w = Dir24Writer::default();
        for i in 0..4u32 {
            assert!(!w.would_overflow(&fib, i << 8, 32));
            w.insert(&fib, i << 8, 32, 1).unwrap();
        }
        assert!(w.would_overflow(&fib, 4 << 8, 32));
        assert!(!w.would_overflow(&fib, 3 << 8 | 1, 32));
        assert_eq!(w.insert(&fib, 4 << 8, 32, 1), Err(TableFull));
    }
}
