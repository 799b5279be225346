//! StaticIPLookup: a routing table fixed at configuration.

use super::core::{lookup_element, Flavor, LookupCore};

/// `StaticIPLookup(ADDR/MASK [GATEWAY] OUTPUT, ...)`: IP routing by
/// longest-prefix match on each packet's destination IP annotation, with
/// the routes of its configuration only. The packet leaves on its route's
/// OUTPUT, its annotation set to the route's GATEWAY if it has one; a
/// packet with no route is dropped (counted in the element's drops; the
/// first five are reported, as Click does). Routes are written as for
/// [`RadixIPLookup`](crate::RadixIPLookup).
///
/// Click's StaticIPLookup is a LinearIPLookup without write handlers; here
/// it is the shared DIR-24-8 table (see docs/ROUTE-LOOKUP.md), with
/// LinearIPLookup's `table` order.
///
/// * Ports: 1 push input, any number of push outputs.
/// * Handlers: `table`, `lookup ADDR` (read), as RadixIPLookup's.
/// * Differs from Click: masks must be prefixes.
#[derive(Debug)]
pub struct StaticIPLookup(LookupCore);

lookup_element!(StaticIPLookup, Flavor::Static);
