//! RadixIPLookup: the routing table Click's routers use most.

use super::core::{lookup_element, Flavor, LookupCore};

/// `RadixIPLookup(ADDR/MASK [GATEWAY] OUTPUT, ...)`: IP routing by
/// longest-prefix match on each packet's destination IP annotation. The
/// packet leaves on its route's OUTPUT, its annotation set to the route's
/// GATEWAY if it has one; a packet with no route is dropped (counted in
/// the element's drops; the first five are reported, as Click's
/// IPRouteTable does). A prefix is written `18.26.4.0/24`, `18.26.4/24`,
/// `18.26.4.0/255.255.255.0`, as a bare address (a /32) or with
/// AddressInfo names (`ext0`, `net:ipnet`, `net:bcast`); GATEWAY may be
/// `-` or left out. A prefix given twice keeps its first route, with a
/// warning.
///
/// Click's RadixIPLookup is a radix trie. Here all the lookup elements
/// share one DIR-24-8 table (see docs/ROUTE-LOOKUP.md): one memory read
/// per packet for prefixes up to /24, two beyond, with a batch's reads
/// overlapped: 100 to 300 million lookups per second on one core with a
/// million routes (docs/PERFORMANCE.md). Its handlers and the order of
/// `table` are
/// RadixIPLookup's. Reached from several threads, its instances share one
/// table: lookups take no lock, and each write changes it once, in place,
/// for all of them (another thread sees each route change whole, and a
/// `ctrl` group route by route).
///
/// * Ports: 1 push input, any number of push outputs.
/// * Handlers: `table` (read: the routes, one a line, tabbed as Click
///   prints them), `lookup ADDR` (read: `PORT GATEWAY`, `PORT`, or `-1`
///   when there is no route), `add ROUTE` (write: fails if the prefix has
///   a route), `set ROUTE` (write: adds or replaces), `remove ADDR/MASK
///   [GATEWAY OUTPUT]` (write), `ctrl` (write: `add`, `set` and `remove`
///   lines applied all or none), `flush` (write: removes every route).
/// * Differs from Click: masks must be prefixes; a `ctrl` blank line is
///   skipped (Click loops forever on one); `lookup` of a malformed
///   address fails as an unknown handler does, not with Click's
///   `expected IP address`.
#[derive(Debug)]
pub struct RadixIPLookup(LookupCore);

lookup_element!(RadixIPLookup, Flavor::Radix);
