//! DirectIPLookup: Click's DIR-24-8 routing table.

use super::core::{lookup_element, Flavor, LookupCore};

/// `DirectIPLookup(ADDR/MASK [GATEWAY] OUTPUT, ...)`: IP routing by
/// longest-prefix match on each packet's destination IP annotation, in a
/// DIR-24-8 table (Gupta, Lin and McKeown), as Click's DirectIPLookup.
/// The packet leaves on its route's OUTPUT, its annotation set to the
/// route's GATEWAY if it has one; a packet with no route is dropped
/// quietly (counted in the element's drops). Routes are written as for
/// [`RadixIPLookup`](crate::RadixIPLookup).
///
/// It is the same table as RadixIPLookup's (see docs/ROUTE-LOOKUP.md),
/// with DirectIPLookup's handlers and `table` order (by Click's prefix
/// hash). Unlike Click's, it is not limited to 2^15 /24s holding longer
/// prefixes nor to 2^15 next hops, and its instances on several threads
/// share one table.
///
/// * Ports: 1 push input, any number of push outputs.
/// * Handlers: `table`, `lookup ADDR` (read), `add`, `set`, `remove`,
///   `ctrl`, `flush` (write), as RadixIPLookup's; once the default route
///   is removed, `lookup` of an address only it covered answers `-1
///   GATEWAY` with its old gateway, as Click's does.
/// * Differs from Click: masks must be prefixes; a `ctrl` blank line is
///   skipped.
#[derive(Debug)]
pub struct DirectIPLookup(LookupCore);

lookup_element!(DirectIPLookup, Flavor::Direct);
