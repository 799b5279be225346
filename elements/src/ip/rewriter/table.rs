//! A rewriter's flow table: flow records in a slab, and a hash map from
//! the flow IDs packets carry (forward and reply) to them.

use std::collections::HashMap;

use super::flow::{Flow, FlowId};

/// Where a flow ID leads: the flow, and whether it is the reply side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub flow: usize,
    pub reply: bool,
}

/// Flows and their keys. Slots of removed flows are reused, so once a
/// flow exists its packets allocate nothing.
#[derive(Debug, Default)]
pub(crate) struct FlowTable {
    flows: Vec<Option<Flow>>,
    free: Vec<usize>,
    map: HashMap<FlowId, Entry>,
    len: usize,
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
        let keys = flow.keys;
        let slot = match self.free.pop() {
            Some(i) => {
                self.flows[i] = Some(flow);
                i
            }
            None => {
                self.flows.push(Some(flow));
                self.flows.len() - 1
            }
        };
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
        for key in &flow.keys {
            if self.map.get(key).is_some_and(|e| e.flow == i) {
                self.map.remove(key);
            }
        }
        self.free.push(i);
        self.len -= 1;
        Some(flow)
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
