//! The flat dispatch tables of one shard: for local element `e`,
//! `outs[out_base[e] + port]` is where a push out of `port` goes and
//! `ins[in_base[e] + port]` where a pull into `port` comes from, both as
//! indexes into the shard's slots. Connections are routed past elements that
//! forward (Click's Bypass), at start and after each handler write to one.

use std::cell::{Cell, RefCell};

use crate::element::{Element, Port};
use crate::graph::Graph;
use crate::placement::Side;
use crate::ports::Processing;

/// One element instance of a shard, borrowed mutably while it runs.
pub(crate) type Slot = RefCell<Box<dyn Element>>;

/// Where a port leads, by element index local to a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Target {
    pub elem: u32,
    pub port: u32,
}

pub(crate) const NOWHERE: Target = Target {
    elem: u32::MAX,
    port: u32::MAX,
};

/// The flat dispatch tables of one shard.
#[derive(Debug, Default)]
pub(crate) struct Tables {
    pub out_base: Vec<u32>,
    /// Where each push output goes: `direct_outs`, routed past elements
    /// that forward (Cells: re-routing happens during a run).
    pub outs: Vec<Link>,
    pub in_base: Vec<u32>,
    /// Where each pull input comes from, routed likewise.
    pub ins: Vec<Link>,
    /// The connections as configured.
    pub direct_outs: Vec<Target>,
    pub direct_ins: Vec<Target>,
    /// Local elements whose class may forward ([`ElementClass::FORWARDS`]).
    pub forwarders: Vec<bool>,
    /// Local elements whose outputs lead, some way, to one element again
    /// (a Classifier merged back into one ToDump, a cycle): a batch they
    /// split must leave in order across ports. The others' split batches
    /// leave a port at a time.
    pub outputs_meet: Vec<bool>,
}

/// One connection as a shard runs it: where it leads now (routed past
/// forwarders), and the packets it carried, counted beside it so that the
/// count costs no extra look-up on the packet path.
#[derive(Debug)]
pub(crate) struct Link {
    pub target: Cell<Target>,
    pub packets: Cell<u64>,
}

impl Link {
    pub fn new(target: Target) -> Link {
        Link {
            target: Cell::new(target),
            packets: Cell::new(0),
        }
    }

    /// Counts `n` packets through the link.
    #[inline(always)]
    pub fn carried(&self, n: usize) {
        self.packets.set(self.packets.get() + n as u64);
    }
}

/// `links[base[e] + port]` if `port` is below element `e`'s count
/// (`base[e + 1] - base[e]`): three compares on a push or pull, where
/// indexing `base` twice and slicing `links` made four.
#[inline(always)]
fn link<'a>(base: &[u32], links: &'a [Link], e: usize, port: Port) -> Option<&'a Link> {
    let [b, end] = *base.get(e..e + 2)? else {
        return None;
    };
    let i = (b as usize).checked_add(port)?;
    if i < end as usize {
        links.get(i)
    } else {
        None
    }
}

/// Most forwarding elements in a row that one connection skips.
const MAX_FORWARD_HOPS: usize = 64;

impl Tables {
    #[inline]
    /// The link of output `port` of element `e`, if it has that port.
    pub fn output(&self, e: usize, port: Port) -> Option<&Link> {
        link(&self.out_base, &self.outs, e, port)
    }

    #[inline]
    /// The link of input `port` of element `e`, if it has that port.
    pub fn input(&self, e: usize, port: Port) -> Option<&Link> {
        link(&self.in_base, &self.ins, e, port)
    }

    /// Routes every connection past the elements that now forward it
    /// (Click's Bypass rewiring its neighbours). An element on the call
    /// stack is taken as it is.
    pub fn reroute(&self, slots: &[Slot]) {
        if !self.forwarders.contains(&true) {
            return;
        }
        for (link, &t) in self.outs.iter().zip(&self.direct_outs) {
            link.target.set(self.follow(slots, t, true));
        }
        for (link, &t) in self.ins.iter().zip(&self.direct_ins) {
            link.target.set(self.follow(slots, t, false));
        }
    }

    /// After a handler call on local element `e`: re-routes if `e` may
    /// forward (its write may have changed where).
    pub fn after_write(&self, slots: &[Slot], e: usize) {
        if self.forwarders[e] {
            self.reroute(slots);
        }
    }

    /// Where a connection to `t` really ends.
    fn follow(&self, slots: &[Slot], mut t: Target, push: bool) -> Target {
        for _ in 0..MAX_FORWARD_HOPS {
            let e = t.elem as usize;
            if t == NOWHERE || !self.forwarders[e] {
                break;
            }
            let Ok(element) = slots[e].try_borrow() else {
                break;
            };
            let Some(port) = element.forwards(push, t.port as usize) else {
                break;
            };
            let (base, end, direct) = if push {
                (self.out_base[e], self.out_base[e + 1], &self.direct_outs)
            } else {
                (self.in_base[e], self.in_base[e + 1], &self.direct_ins)
            };
            let slot = base as usize + port;
            t = if slot < end as usize {
                direct[slot]
            } else {
                NOWHERE
            };
        }
        t
    }

    pub fn noutputs(&self, e: usize) -> usize {
        (self.out_base[e + 1] - self.out_base[e]) as usize
    }
}

/// Flat dispatch tables: for each local element, where each push output
/// leads and where each pull input comes from, as local indexes.
pub(crate) fn build_tables(
    graph: &Graph,
    members: &[(usize, Side)],
    input_side: &[u32],
    output_side: &[u32],
    outputs_meet: &[bool],
) -> Tables {
    let mut tables = Tables::default();
    for &(e, side) in members {
        let node = &graph.nodes[e];
        let forwards = node.spec.as_ref().is_some_and(|s| s.forwards);
        tables.forwarders.push(forwards);
        tables.outputs_meet.push(outputs_meet[e]);
        tables.out_base.push(tables.direct_outs.len() as u32);
        for p in 0..node.outputs.len() {
            let target = match (side, node.outputs[p]) {
                (Side::Inputs, _) | (_, Processing::Pull) => NOWHERE,
                _ => graph
                    .downstream(e, p)
                    .next()
                    .map_or(NOWHERE, |(to, q)| Target {
                        elem: input_side[to],
                        port: q as u32,
                    }),
            };
            tables.direct_outs.push(target);
        }
        tables.in_base.push(tables.direct_ins.len() as u32);
        for p in 0..node.inputs.len() {
            let source = match (side, node.inputs[p]) {
                (Side::Outputs, _) | (_, Processing::Push) => NOWHERE,
                _ => graph
                    .upstream(e, p)
                    .next()
                    .map_or(NOWHERE, |(from, q)| Target {
                        elem: output_side[from],
                        port: q as u32,
                    }),
            };
            tables.direct_ins.push(source);
        }
    }
    tables.out_base.push(tables.direct_outs.len() as u32);
    tables.in_base.push(tables.direct_ins.len() as u32);
    tables.outs = tables.direct_outs.iter().map(|&t| Link::new(t)).collect();
    tables.ins = tables.direct_ins.iter().map(|&t| Link::new(t)).collect();
    tables
}

/// For each element, whether two of its outputs lead to one element again
/// (downstream through any connection, queues included): only then can
/// anything downstream see the order of packets split between its ports,
/// so only then must a split batch keep it across ports (runs of one port
/// at a time, Click's order); elsewhere a split batch leaves one port at a
/// time, each port's packets in order, as few pushes as ports.
pub(crate) fn outputs_meet(graph: &Graph) -> Vec<bool> {
    let n = graph.nodes.len();
    // Which output of the element being examined reached each node first
    // (stamped with the examination, so the array is reused).
    let mut reached: Vec<(u32, u32)> = vec![(u32::MAX, 0); n];
    let mut work: Vec<(usize, u32)> = Vec::new();
    (0..n)
        .map(|e| {
            let outputs = graph.nodes[e].outputs.len();
            if outputs < 2 {
                return false;
            }
            let stamp = e as u32;
            work.clear();
            for p in 0..outputs {
                work.extend(graph.downstream(e, p).map(|(d, _)| (d, p as u32)));
            }
            while let Some((d, port)) = work.pop() {
                match reached[d] {
                    (s, first) if s == stamp => {
                        if first != port {
                            return true;
                        }
                    }
                    _ => {
                        reached[d] = (stamp, port);
                        let node = &graph.nodes[d];
                        for q in 0..node.outputs.len() {
                            work.extend(graph.downstream(d, q).map(|(x, _)| (x, port)));
                        }
                    }
                }
            }
            false
        })
        .collect()
}
