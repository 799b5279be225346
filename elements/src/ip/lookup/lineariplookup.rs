//! LinearIPLookup: Click's simple routing table, here on the shared
//! DIR-24-8 table.

use super::core::{lookup_element, Flavor, LookupCore};

/// `LinearIPLookup(ADDR/MASK [GATEWAY] OUTPUT, ...)`: IP routing by
/// longest-prefix match on each packet's destination IP annotation. The
/// packet leaves on its route's OUTPUT, its annotation set to the route's
/// GATEWAY if it has one; a packet with no route is dropped (counted in
/// the element's drops; the first five are reported, as Click's
/// LinearIPLookup does). Routes are written as for
/// [`RadixIPLookup`](crate::RadixIPLookup).
///
/// Click's LinearIPLookup searches its routes one by one. Here it is the
/// shared DIR-24-8 table (see docs/ROUTE-LOOKUP.md), as fast as the
/// others, with LinearIPLookup's handlers and `table` order (a route takes
/// the first free slot; 0.0.0.0/32 moves down as in Click).
///
/// * Ports: 1 push input, any number of push outputs.
/// * Handlers: `table`, `lookup ADDR` (read), `add`, `set`, `remove`,
///   `ctrl` (write), as RadixIPLookup's; no `flush`.
/// * Differs from Click: masks must be prefixes (Click's LinearIPLookup
///   also takes others, such as `1.0.0.0/255.0.255.0`); a `ctrl` blank
///   line is skipped.
#[derive(Debug)]
pub struct LinearIPLookup(LookupCore);

lookup_element!(LinearIPLookup, Flavor::Linear);
