//! RangeIPLookup: Click's compact range-search routing table, here on the
//! shared DIR-24-8 table.

use super::core::{lookup_element, Flavor, LookupCore};

/// `RangeIPLookup(ADDR/MASK [GATEWAY] OUTPUT, ...)`: IP routing by
/// longest-prefix match on each packet's destination IP annotation. The
/// packet leaves on its route's OUTPUT, its annotation set to the route's
/// GATEWAY if it has one; a packet with no route is dropped quietly
/// (counted in the element's drops). Routes are written as for
/// [`RadixIPLookup`](crate::RadixIPLookup).
///
/// Click's RangeIPLookup searches a small table of address ranges built
/// from a DirectIPLookup, rebuilt at every change. Here it is the shared
/// DIR-24-8 table itself (see docs/ROUTE-LOOKUP.md), updated in place,
/// with RangeIPLookup's handlers and `table` order (DirectIPLookup's).
///
/// * Ports: 1 push input, any number of push outputs.
/// * Handlers: `table`, `lookup ADDR` (read), `add`, `set`, `remove`,
///   `ctrl`, `flush` (write), as RadixIPLookup's; once the default route
///   is removed, `lookup` of an address only it covered answers `-1
///   GATEWAY` with its old gateway, as Click's does.
/// * Differs from Click: masks must be prefixes; a `ctrl` blank line is
///   skipped.
#[derive(Debug)]
pub struct RangeIPLookup(LookupCore);

lookup_element!(RangeIPLookup, Flavor::Range);
