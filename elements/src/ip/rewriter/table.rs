//! A rewriter's flow table: flow records in a slab, a hash map from the
//! flow IDs packets carry (forward and reply) to them, and for each
//! timeout class a list of its flows in the order of their last packet
//! (oldest first), so that the flow to expire or evict next is at a
//! list's head: what Click's expiry heaps give, in O(1) per packet.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use super::flow::{Flow, FlowId};

/// Where a flow ID leads: the flow, and whether it is the reply side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub flow: usize,
    pub reply: bool,
}

/// How many timeout classes a table orders its flows by
/// ([`Flow::class`]).
pub(crate) const CLASSES: usize = 3;

/// No slot (the end of a list).
const NIL: usize = usize::MAX;

/// A slot's place in its class's list.
#[derive(Clone, Copy, Debug)]
struct Link {
    prev: usize,
    next: usize,
    class: usize,
}

/// Flows and their keys. Slots of removed flows are reused, so once a
/// flow exists its packets allocate nothing.
#[derive(Debug)]
pub(crate) struct FlowTable {
    flows: Vec<Option<Flow>>,
    /// Parallel to `flows`: each live slot's place in its class's list.
    links: Vec<Link>,
    /// Each class's oldest and newest slot.
    heads: [usize; CLASSES],
    tails: [usize; CLASSES],
    free: Vec<usize>,
    /// Hashed by foldhash, seeded at random per table: flow IDs are the
    /// senders' to choose, so the seed keeps them from aiming at one
    /// bucket, as std's SipHash would, at a tenth of SipHash's ~290
    /// instructions a packet (docs/PERFORMANCE.md, "NAT").
    map: HashMap<FlowId, Entry, RandomState>,
    len: usize,
}

impl Default for FlowTable {
    fn default() -> Self {
        FlowTable {
            flows: Vec::new(),
            links: Vec::new(),
            heads: [NIL; CLASSES],
            tails: [NIL; CLASSES],
            free: Vec::new(),
            map: HashMap::default(),
            len: 0,
        }
    }
}

impl FlowTable {
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn lookup(&self, id: &FlowId) -> Option<Entry> {
        self.map.get(id).copied()
    }

    pub fn contains(&self, id: &FlowId) -> bool {
        self.map.contains_key(id)
    }

    /// The flow in slot `i` (which must be live).
    pub fn flow(&self, i: usize) -> &Flow {
        self.flows[i].as_ref().expect("entries point at live flows")
    }

    /// The flow in slot `i` (which must be live).
    #[inline]
    pub fn flow_mut(&mut self, i: usize) -> &mut Flow {
        self.flows[i].as_mut().expect("entries point at live flows")
    }

    /// The live flows with their slots, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &Flow)> {
        self.flows
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.as_ref().map(|f| (i, f)))
    }

    /// Adds `flow` under both its keys and returns its slot. A flow whose
    /// reply key the new one takes over is removed first (and returned),
    /// as in Click: the newer mapping wins.
    pub fn insert(&mut self, flow: Flow) -> (usize, Option<Flow>) {
        let displaced = match self.lookup(&flow.keys[1]) {
            Some(e) => self.remove(e.flow),
            None => None,
        };
        let (keys, class) = (flow.keys, flow.class());
        let slot = match self.free.pop() {
            Some(i) => {
                self.flows[i] = Some(flow);
                i
            }
            None => {
                self.flows.push(Some(flow));
                self.links.push(Link {
                    prev: NIL,
                    next: NIL,
                    class,
                });
                self.flows.len() - 1
            }
        };
        self.link_back(slot, class);
        self.map.insert(
            keys[0],
            Entry {
                flow: slot,
                reply: false,
            },
        );
        self.map.insert(
            keys[1],
            Entry {
                flow: slot,
                reply: true,
            },
        );
        self.len += 1;
        (slot, displaced)
    }

    /// Removes the flow in slot `i` and the keys that still lead to it.
    pub fn remove(&mut self, i: usize) -> Option<Flow> {
        let flow = self.flows.get_mut(i)?.take()?;
        self.unlink(i);
        for key in &flow.keys {
            if self.map.get(key).is_some_and(|e| e.flow == i) {
                self.map.remove(key);
            }
        }
        self.free.push(i);
        self.len -= 1;
        Some(flow)
    }

    /// Notes that the flow in slot `i` just had a packet: it moves to the
    /// back of its class's list (its class may have changed).
    #[inline]
    pub fn touch(&mut self, i: usize) {
        let class = self.flow(i).class();
        if self.tails[class] != i {
            self.unlink(i);
            self.link_back(i, class);
        }
    }

    /// The oldest flow of `class` (the one whose last packet is oldest)
    /// and its slot.
    pub fn oldest(&self, class: usize) -> Option<(usize, &Flow)> {
        let i = self.heads[class];
        (i != NIL).then(|| (i, self.flow(i)))
    }

    fn link_back(&mut self, i: usize, class: usize) {
        let tail = self.tails[class];
        self.links[i] = Link {
            prev: tail,
            next: NIL,
            class,
        };
        match tail {
            NIL => self.heads[class] = i,
            t => self.links[t].next = i,
        }
        self.tails[class] = i;
    }

    fn unlink(&mut self, i: usize) {
        let Link { prev, next, class } = self.links[i];
        match prev {
            NIL => self.heads[class] = next,
            p => self.links[p].next = next,
        }
        match next {
            NIL => self.tails[class] = prev,
            n => self.links[n].prev = prev,
        }
    }

    /// Removes every flow for which `dead` says so; returns them.
    pub fn remove_where(&mut self, mut dead: impl FnMut(&Flow) -> bool) -> Vec<Flow> {
        let slots: Vec<usize> = self
            .iter()
            .filter(|(_, f)| dead(f))
            .map(|(i, _)| i)
            .collect();
        slots.into_iter().filter_map(|i| self.remove(i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::rewriter::flow::Tracking;
    use std::time::Instant;

    fn flow(n: u16) -> Flow {
        let id = FlowId::new(1, n, 2, 80);
        Flow::new(id, id, [0, 0], 0, Tracking::Udp, Instant::now())
    }

    fn order(t: &FlowTable, class: usize) -> Vec<u16> {
        let mut out = Vec::new();
        let mut i = t.heads[class];
        while i != NIL {
            out.push(t.flow(i).keys[0].sport);
            i = t.links[i].next;
        }
        out
    }

    #[test]
    fn lists_keep_the_order_of_last_packets() {
        let mut t = FlowTable::default();
        let slots: Vec<usize> = (1..=4).map(|n| t.insert(flow(n)).0).collect();
        assert_eq!(order(&t, 0), [1, 2, 3, 4]);
        t.touch(slots[1]);
        assert_eq!(order(&t, 0), [1, 3, 4, 2]);
        t.remove(slots[0]);
        assert_eq!(order(&t, 0), [3, 4, 2]);
        assert_eq!(t.oldest(0).map(|(i, _)| i), Some(slots[2]));
        // A flow that changes class moves to the other list.
        t.flow_mut(slots[3]).state = 7;
        t.touch(slots[3]);
        assert_eq!((order(&t, 0), order(&t, 1)), (vec![3, 2], vec![4]));
        // A reused slot joins at the back.
        let (s5, _) = t.insert(flow(5));
        assert_eq!(s5, slots[0]);
        assert_eq!(order(&t, 0), [3, 2, 5]);
        t.remove_where(|_| true);
        assert!((0..CLASSES).all(|c| t.oldest(c).is_none()));
    }
}
