//! The route table: the routes themselves (what `table` prints, what
//! `remove` looks for), the next hops they share, and the [`Fib`] built
//! from them, kept in step route by route.

use super::dir24::{Dir24Writer, Fib, FibOptions, NextHop, Retired, HUGE_PAGES_FROM, MAX_HOPS};
use super::route::{prefix_mask, Route};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Whose `table` order the table keeps: each Click element prints its
/// routes in the order of its own data structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// LinearIPLookup, StaticIPLookup: a vector of slots; a new route takes
    /// the lowest free slot, a replaced one keeps its slot.
    Linear,
    /// RadixIPLookup: a vector of slots whose free ones form a stack; a
    /// new route, and a replaced one, take the slot freed last.
    Radix,
    /// DirectIPLookup, RangeIPLookup: buckets of a 65536-entry hash of the
    /// prefix, newest route first in each; the default route last in its
    /// bucket.
    Direct,
}

/// Why a change was refused, with what Click reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableError {
    /// `add` of a prefix that has a route (the existing route).
    Exists(Route),
    /// `remove` of a route that is not there.
    NotFound,
    /// No room for another tbl8 group or next hop.
    NoMemory,
}

/// Integer keys mixed by MurmurHash3's 64-bit finalizer: route keys are
/// not chosen by an adversary, and SipHash costs more than the rest of an
/// insert. (A bare multiply would leave the low bits, which pick the
/// bucket, to the key's low bits: a prefix's zero host bits.)
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(29) ^ n;
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;

/// A route's key: its prefix and length.
fn key(addr: u32, len: u8) -> u64 {
    (u64::from(addr) << 8) | u64::from(len)
}

fn unkey(k: u64) -> (u32, u8) {
    ((k >> 8) as u32, k as u8)
}

/// A stored route: where it goes, its hop slot, its place in the order.
/// 16 bytes: the route table's maps are most of a large table's memory.
#[derive(Clone, Copy, Debug)]
struct Rec {
    gw: u32,
    port: i32,
    hop: u32,
    /// Slot (Linear, Radix) or age (Direct: larger is newer; after 2^32
    /// routes added, ages wrap and `table`'s order within a hash bucket
    /// may stray from Click's).
    order: u32,
}

/// A free slot in `RouteTable::slots`.
const FREE: u64 = u64::MAX;

/// Next hops shared by routes: one slot per distinct (gateway, port).
#[derive(Debug, Default)]
struct Hops {
    index: FastMap<u64, u32>,
    /// References to each slot (index: slot).
    refs: Vec<u32>,
    free: Vec<u32>,
}

impl Hops {
    fn new() -> Hops {
        // Slot 0 is the default route's.
        Hops {
            refs: vec![u32::MAX],
            ..Hops::default()
        }
    }

    fn word(gw: u32, port: i32) -> u64 {
        (u64::from(gw) << 32) | u64::from(port as u32)
    }

    /// Whether a route to (gw, port) would need a slot and none is left.
    fn full(&self, gw: u32, port: i32) -> bool {
        !self.index.contains_key(&Hops::word(gw, port))
            && self.free.is_empty()
            && self.refs.len() >= MAX_HOPS as usize
    }

    /// A reference to the slot of (gw, port), made if needed (its answer
    /// set in the table before any entry uses it).
    fn get(&mut self, fib: &Fib, writer: &Dir24Writer, gw: u32, port: i32) -> u32 {
        let w = Hops::word(gw, port);
        if let Some(&h) = self.index.get(&w) {
            self.refs[h as usize] += 1;
            return h;
        }
        let h = match self.free.pop() {
            Some(h) => {
                self.refs[h as usize] = 1;
                h
            }
            None => {
                self.refs.push(1);
                (self.refs.len() - 1) as u32
            }
        };
        writer.set_hop(fib, h, NextHop::new(gw, port as u32));
        self.index.insert(w, h);
        h
    }

    /// Drops a reference; a slot left unused is retired (not reused until
    /// readers have moved on).
    fn put(&mut self, writer: &mut Dir24Writer, h: u32, gw: u32, port: i32) {
        let r = &mut self.refs[h as usize];
        *r -= 1;
        if *r == 0 {
            self.index.remove(&Hops::word(gw, port));
            writer.retire_hop(h);
        }
    }
}

/// How a table is built: which element's order, and the forwarding
/// table's sizes.
#[derive(Clone, Copy, Debug)]
pub struct TableOptions {
    /// Whose `table` order to keep.
    pub order: Order,
    /// The forwarding table's sizes.
    pub fib: FibOptions,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            order: Order::Radix,
            fib: FibOptions::default(),
        }
    }
}

/// An IPv4 route table with longest-prefix-match lookups.
///
/// Changes (`add`, `remove`, `flush`) take `&mut self`; lookups may also
/// go straight to the [`Fib`] ([`RouteTable::fib`]), from any thread,
/// while changes happen: see the module docs of `dir24`. Resources that a
/// change stops using are retired ([`RouteTable::take_retired`]) and come
/// back only through [`RouteTable::reuse`], which the owner calls once no
/// reader can still be looking at them (at once, when the readers are on
/// the writer's thread).
#[derive(Debug)]
pub struct RouteTable {
    fib: Arc<Fib>,
    writer: Dir24Writer,
    routes: FastMap<u64, Rec>,
    hops: Hops,
    order: Order,
    /// Linear, Radix: the key of the route in each slot ([`FREE`]: none).
    /// Direct: unused.
    slots: Vec<u64>,
    /// Radix: free slots, last freed on top. Linear: free slots, lowest
    /// first (a min-heap).
    free_slots: Vec<u32>,
    free_lowest: std::collections::BinaryHeap<std::cmp::Reverse<u32>>,
    /// Linear: the slot of 0.0.0.0/32, which Click's LinearIPLookup moves
    /// down when a route before it goes.
    zero_slot: Option<u32>,
    /// Direct: the last route's age.
    age: u32,
    /// Whether to turn to huge pages at [`HUGE_PAGES_FROM`] routes, and
    /// whether that was done.
    huge_pages: bool,
    huge_done: bool,
}

impl RouteTable {
    /// An empty table.
    pub fn new(opts: TableOptions) -> Result<RouteTable, String> {
        Ok(RouteTable {
            fib: Arc::new(Fib::new(opts.fib)?),
            writer: Dir24Writer::default(),
            routes: FastMap::default(),
            hops: Hops::new(),
            order: opts.order,
            slots: Vec::new(),
            free_slots: Vec::new(),
            free_lowest: Default::default(),
            zero_slot: None,
            age: 1,
            huge_pages: opts.fib.huge_pages,
            huge_done: false,
        })
    }

    /// The forwarding table, for lookups from any thread.
    pub fn fib(&self) -> &Arc<Fib> {
        &self.fib
    }

    /// The number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether there are no routes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// tbl8 groups in use.
    pub fn groups_in_use(&self) -> u32 {
        self.writer.groups_in_use()
    }

    /// The longest-prefix match for `addr`.
    #[inline]
    pub fn lookup(&self, addr: u32) -> NextHop {
        self.fib.lookup(addr)
    }

    /// The route for `addr/len`, if there is one.
    pub fn get(&self, addr: u32, len: u8) -> Option<Route> {
        self.routes
            .get(&key(addr, len))
            .map(|r| Route::new(addr, len, r.gw, r.port))
    }

    /// Adds `route` (its port must be 0 or more). If its prefix has a
    /// route already, `set` replaces it, otherwise the add fails with
    /// [`TableError::Exists`]. Returns the route replaced.
    pub fn add(&mut self, route: &Route, set: bool) -> Result<Option<Route>, TableError> {
        let route = Route::new(route.addr, route.len, route.gw, route.port.max(0));
        let k = key(route.addr, route.len);
        if let Some(&rec) = self.routes.get(&k) {
            let old = Route::new(route.addr, route.len, rec.gw, rec.port);
            if !set {
                return Err(TableError::Exists(old));
            }
            let hop = self.install(&route)?;
            if route.len > 0 {
                self.hops.put(&mut self.writer, rec.hop, rec.gw, rec.port);
            }
            let order = match self.order {
                Order::Radix => {
                    let slot = self.take_slot(k);
                    self.free_slot(rec.order);
                    slot
                }
                Order::Linear | Order::Direct => rec.order,
            };
            self.routes.insert(
                k,
                Rec {
                    gw: route.gw,
                    port: route.port,
                    hop,
                    order,
                },
            );
            return Ok(Some(old));
        }
        let hop = self.install(&route)?;
        let order = match self.order {
            Order::Direct if route.len == 0 => 0,
            Order::Direct => {
                self.age = self.age.wrapping_add(1).max(1);
                self.age
            }
            Order::Linear | Order::Radix => self.take_slot(k),
        };
        if self.huge_pages && !self.huge_done && self.routes.len() + 1 >= HUGE_PAGES_FROM {
            self.fib.use_huge_pages();
            self.huge_done = true;
        }
        if self.order == Order::Linear && route.addr == 0 && route.len == 32 {
            self.zero_slot = Some(order);
        }
        self.routes.insert(
            k,
            Rec {
                gw: route.gw,
                port: route.port,
                hop,
                order,
            },
        );
        Ok(None)
    }

    /// Writes `route`'s answer into the forwarding table; returns its hop
    /// slot. Fails, changing nothing, when a slot or group is needed and
    /// none is left.
    fn install(&mut self, route: &Route) -> Result<u32, TableError> {
        if route.len == 0 {
            self.writer
                .set_hop(&self.fib, 0, NextHop::new(route.gw, route.port as u32));
            return Ok(0);
        }
        if self.hops.full(route.gw, route.port)
            || self.writer.would_overflow(&self.fib, route.addr, route.len)
        {
            return Err(TableError::NoMemory);
        }
        let hop = self.hops.get(&self.fib, &self.writer, route.gw, route.port);
        // Checked above: this cannot run out of groups.
        if self
            .writer
            .insert(&self.fib, route.addr, route.len, hop)
            .is_err()
        {
            self.hops.put(&mut self.writer, hop, route.gw, route.port);
            return Err(TableError::NoMemory);
        }
        Ok(hop)
    }

    /// Removes the route `request` names (Click's `IPRoute::match`: its
    /// prefix, and its gateway and port unless the port is negative).
    /// Returns the route removed.
    pub fn remove(&mut self, request: &Route) -> Result<Route, TableError> {
        let k = key(request.addr, request.len);
        let rec = *self.routes.get(&k).ok_or(TableError::NotFound)?;
        let found = Route::new(request.addr, request.len, rec.gw, rec.port);
        if !request.matches(&found) {
            return Err(TableError::NotFound);
        }
        self.routes.remove(&k);
        if found.len == 0 {
            // Click's DirectIPLookup only marks its default route's port
            // as "discard": its `lookup` still shows the gateway.
            let none = match self.order {
                Order::Direct => NextHop::unrouted(found.gw),
                Order::Linear | Order::Radix => NextHop::NONE,
            };
            self.writer.set_hop(&self.fib, 0, none);
        } else {
            let cover = self.cover(found.addr, found.len);
            self.writer.delete(&self.fib, found.addr, found.len, cover);
            self.hops.put(&mut self.writer, rec.hop, rec.gw, rec.port);
        }
        match self.order {
            Order::Direct => {}
            Order::Radix => self.free_slot(rec.order),
            Order::Linear => {
                self.free_slot(rec.order);
                // Click's LinearIPLookup re-adds 0.0.0.0/32 when a route
                // in an earlier slot goes: it moves to the lowest free slot.
                match self.zero_slot {
                    Some(z) if z == rec.order => self.zero_slot = None,
                    Some(z) if rec.order < z => {
                        let zk = key(0, 32);
                        self.free_slot(z);
                        let slot = self.take_slot(zk);
                        if let Some(r) = self.routes.get_mut(&zk) {
                            r.order = slot;
                        }
                        self.zero_slot = Some(slot);
                    }
                    _ => {}
                }
            }
        }
        Ok(found)
    }

    /// The entry of the longest route shorter than `len` covering
    /// `addr/len`: what its addresses answer once it goes.
    fn cover(&self, addr: u32, len: u8) -> u32 {
        (1..len)
            .rev()
            .find_map(|l| {
                self.routes
                    .get(&key(addr & prefix_mask(l), l))
                    .map(|r| Dir24Writer::cover(l, r.hop))
            })
            .unwrap_or(0)
    }

    /// Removes every route.
    pub fn flush(&mut self) {
        self.writer.set_hop(&self.fib, 0, NextHop::NONE);
        let routes = std::mem::take(&mut self.routes);
        for (k, rec) in routes {
            let (addr, len) = unkey(k);
            if len > 0 {
                self.writer.clear(&self.fib, addr, len);
                self.hops.put(&mut self.writer, rec.hop, rec.gw, rec.port);
            }
        }
        self.slots.clear();
        self.free_slots.clear();
        self.free_lowest.clear();
        self.zero_slot = None;
    }

    /// Takes the groups and hop slots that changes since the last call
    /// stopped using. Pass them to [`RouteTable::reuse`] once no lookup
    /// that started before those changes can still be running.
    pub fn take_retired(&mut self) -> Retired {
        self.writer.take_retired()
    }

    /// Makes retired groups and hop slots reusable.
    pub fn reuse(&mut self, retired: Retired) {
        let hops = self.writer.reuse(retired);
        self.hops.free.extend(hops);
    }

    /// Every route, in the order of the element whose order the table
    /// keeps.
    pub fn routes(&self) -> Vec<Route> {
        let mut v: Vec<(u64, u64, Route)> = self
            .routes
            .iter()
            .map(|(&k, r)| {
                let (addr, len) = unkey(k);
                let route = Route::new(addr, len, r.gw, r.port);
                match self.order {
                    Order::Direct => (
                        u64::from(direct_hash(addr, len)),
                        u64::from(u32::MAX - r.order),
                        route,
                    ),
                    Order::Linear | Order::Radix => (u64::from(r.order), 0, route),
                }
            })
            .collect();
        v.sort_unstable_by_key(|&(a, b, _)| (a, b));
        v.into_iter().map(|(_, _, r)| r).collect()
    }

    /// Click's `table` handler: one tabbed route a line.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for r in self.routes() {
            r.unparse_tabbed(&mut out);
            out.push('\n');
        }
        out
    }

    /// A slot for route `k`: Linear the lowest free one, Radix the one
    /// freed last, else a new one at the end.
    fn take_slot(&mut self, k: u64) -> u32 {
        let free = match self.order {
            Order::Linear => self.free_lowest.pop().map(|r| r.0),
            _ => self.free_slots.pop(),
        };
        match free {
            Some(s) => {
                self.slots[s as usize] = k;
                s
            }
            None => {
                self.slots.push(k);
                (self.slots.len() - 1) as u32
            }
        }
    }

    fn free_slot(&mut self, s: u32) {
        if let Some(slot) = self.slots.get_mut(s as usize) {
            *slot = FREE;
        }
        match self.order {
            Order::Linear => self.free_lowest.push(std::cmp::Reverse(s)),
            _ => self.free_slots.push(s),
        }
    }
}

/// Click's DirectIPLookup `prefix_hash`, which decides the order of its
/// `table` handler.
fn direct_hash(prefix: u32, len: u8) -> u32 {
    let len = u32::from(len);
    let mut hash = prefix ^ (len << 5) ^ (prefix >> (len >> 2)).wrapping_sub(len);
    hash ^= (hash >> 23) ^ (hash >> 15).wrapping_mul(len) ^ (prefix >> 17).wrapping_mul(53);
    hash = hash.wrapping_sub(
        (prefix >> 3) ^ hash.wrapping_shr(len).wrapping_mul(7) ^ (hash >> 11).wrapping_mul(103),
    );
    (hash ^ (hash >> 17)) & 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(order: Order) -> RouteTable {
        RouteTable::new(TableOptions {
            order,
            fib: FibOptions {
                max_groups: 64,
                huge_pages: false,
            },
        })
        .unwrap()
    }

    fn r(s: &str) -> Route {
        Route::parse(s, false).unwrap()
    }

    fn port(t: &RouteTable, a: &str) -> Option<u32> {
        t.lookup(u32::from(a.parse::<std::net::Ipv4Addr>().unwrap()))
            .port()
    }

    #[test]
    fn longest_prefix_wins_and_removal_uncovers() {
        let mut t = table(Order::Radix);
        t.add(&r("18.26/16 1.0.0.1 0"), false).unwrap();
        t.add(&r("18.26.0/18 2.0.0.2 1"), false).unwrap();
        t.add(&r("18.26.0/17 3.0.0.3 2"), false).unwrap();
        assert_eq!(port(&t, "18.26.4.9"), Some(1));
        t.remove(&Route::parse("18.26.0/18 2.0.0.2 1", true).unwrap())
            .unwrap();
        assert_eq!(port(&t, "18.26.4.9"), Some(2));
        assert_eq!(
            t.remove(&Route::parse("18.26.0/17 9.9.9.9 2", true).unwrap()),
            Err(TableError::NotFound)
        );
        assert_eq!(
            t.add(&r("18.26.0/17 4.0.0.4 2"), false),
            Err(TableError::Exists(r("18.26.0/17 3.0.0.3 2")))
        );
    }

    #[test]
    fn default_route_costs_one_word() {
        let mut t = table(Order::Direct);
        assert_eq!(port(&t, "1.2.3.4"), None);
        t.add(&r("0/0 9.9.9.9 3"), false).unwrap();
        assert_eq!(port(&t, "1.2.3.4"), Some(3));
        t.add(&r("1.2.3.0/24 1"), false).unwrap();
        t.remove(&Route::parse("1.2.3.0/24", true).unwrap())
            .unwrap();
        assert_eq!(port(&t, "1.2.3.4"), Some(3));
        t.remove(&Route::parse("0/0", true).unwrap()).unwrap();
        assert_eq!(port(&t, "1.2.3.4"), None);
    }

    #[test]
    fn hop_slots_are_shared_and_retired() {
        let mut t = table(Order::Radix);
        t.add(&r("1.0.0.0/8 5"), false).unwrap();
        t.add(&r("2.0.0.0/8 5"), false).unwrap();
        t.add(&r("3.0.0.0/8 6"), false).unwrap();
        assert_eq!(t.hops.index.len(), 2);
        t.remove(&r("3.0.0.0/8 6")).unwrap();
        let retired = t.take_retired();
        assert_eq!(retired.hops.len(), 1);
        t.reuse(retired);
        t.add(&r("4.0.0.0/8 7"), false).unwrap();
        assert_eq!(t.hops.refs.len(), 3, "the freed slot was reused");
        assert_eq!(port(&t, "4.1.1.1"), Some(7));
    }

    #[test]
    fn flush_empties_everything() {
        let mut t = table(Order::Direct);
        for s in ["0/0 1", "10.0.0.0/8 2", "10.1.1.128/25 3"] {
            t.add(&r(s), false).unwrap();
        }
        t.flush();
        assert!(t.is_empty());
        assert_eq!(port(&t, "10.1.1.129"), None);
        assert_eq!(t.groups_in_use(), 0);
        assert_eq!(t.dump(), "");
    }

    #[test]
    fn linear_order_fills_the_lowest_hole() {
        let mut t = table(Order::Linear);
        for s in ["1.0.0.0/8 0", "2.0.0.0/8 0", "3.0.0.0/8 0"] {
            t.add(&r(s), false).unwrap();
        }
        t.remove(&r("2.0.0.0/8 0")).unwrap();
        t.remove(&r("1.0.0.0/8 0")).unwrap();
        t.add(&r("4.0.0.0/8 0"), false).unwrap();
        t.add(&r("5.0.0.0/8 0"), false).unwrap();
        let order: Vec<String> = t.routes().iter().map(|r| r.prefix()).collect();
        assert_eq!(order, ["4.0.0.0/8", "5.0.0.0/8", "3.0.0.0/8"]);
    }

    #[test]
    fn radix_order_reuses_the_last_freed_slot() {
        let mut t = table(Order::Radix);
        for s in ["1.0.0.0/8 0", "2.0.0.0/8 0", "3.0.0.0/8 0"] {
            t.add(&r(s), false).unwrap();
        }
        t.remove(&r("1.0.0.0/8 0")).unwrap();
        t.remove(&r("2.0.0.0/8 0")).unwrap();
        t.add(&r("4.0.0.0/8 0"), false).unwrap();
        // set moves a route to a new slot and frees its old one
        t.add(&r("3.0.0.0/8 1"), true).unwrap();
        let order: Vec<String> = t.routes().iter().map(|r| r.prefix()).collect();
        assert_eq!(order, ["3.0.0.0/8", "4.0.0.0/8"]);
    }
}
