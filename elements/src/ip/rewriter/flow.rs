//! Flow identifiers, checksum deltas, and the record a rewriter keeps
//! for each mapped flow.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Instant;

use click_engine::Port;

/// A flow's four-tuple as it appears in a packet: source address and
/// port, destination address and port (host order). The address-only
/// rewriters leave the ports (and IPAddrRewriter one address) zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FlowId {
    pub saddr: u32,
    pub sport: u16,
    pub daddr: u32,
    pub dport: u16,
}

/// Two words for the hasher, where the derived `Hash` would feed it four
/// fields: every packet hashes its flow ID.
impl std::hash::Hash for FlowId {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_u64(u64::from(self.saddr) << 32 | u64::from(self.daddr));
        h.write_u32(u32::from(self.sport) << 16 | u32::from(self.dport));
    }
}

impl FlowId {
    pub fn new(saddr: u32, sport: u16, daddr: u32, dport: u16) -> FlowId {
        FlowId {
            saddr,
            sport,
            daddr,
            dport,
        }
    }

    /// The same flow seen from the other end.
    pub fn reverse(self) -> FlowId {
        FlowId::new(self.daddr, self.dport, self.saddr, self.sport)
    }

    /// The four 16-bit words of the addresses, then the two ports: what
    /// the IP checksum covers, then what only the TCP/UDP checksum adds.
    fn words(self) -> [u16; 6] {
        [
            (self.saddr >> 16) as u16,
            self.saddr as u16,
            (self.daddr >> 16) as u16,
            self.daddr as u16,
            self.sport,
            self.dport,
        ]
    }
}

impl fmt::Display for FlowId {
    /// Click's `IPFlowID` text: `(1.0.0.1, 1024, 10.0.0.4, 40)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "({}, {}, {}, {})",
            Ipv4Addr::from(self.saddr),
            self.sport,
            Ipv4Addr::from(self.daddr),
            self.dport
        )
    }
}

/// The ones'-complement sum of the changes from `old` to `new` (RFC 1624:
/// `~m + m'` for each word), folded; 0 when nothing changes.
fn delta(old: &[u16], new: &[u16]) -> u16 {
    let mut s: u32 = old
        .iter()
        .zip(new)
        .map(|(&o, &n)| u32::from(!o) + u32::from(n))
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    // 0xffff is ones'-complement zero: no change.
    if s == 0xffff {
        0
    } else {
        s as u16
    }
}

/// Applies a checksum `delta` to `sum` (RFC 1624, eqn. 3); in the reply
/// direction the change is undone, so the delta is negated.
#[inline]
pub(crate) fn adjust(sum: u16, delta: u16, reply: bool) -> u16 {
    if delta == 0 {
        return sum;
    }
    let d = if reply { !delta } else { delta };
    let s = u32::from(!sum) + u32::from(d);
    let s = (s & 0xffff) + (s >> 16);
    !((s + (s >> 16)) as u16)
}

/// How a flow's idle timeout follows its packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tracking {
    /// One timeout whatever happens (the address rewriters).
    Plain,
    /// TCP: no data yet, data both ways, or closed both ways.
    Tcp,
    /// UDP: "streaming" once replies came and three packets passed.
    Udp,
}

/// TCP state bits, as Click's TCPRewriter keeps them.
pub(crate) const TCP_FORWARD_DONE: u8 = 1;
pub(crate) const TCP_BOTH_DONE: u8 = 3;
pub(crate) const TCP_FORWARD_DATA: u8 = 4;
pub(crate) const TCP_BOTH_DATA: u8 = 12;

/// One mapped flow: the forward flow as it arrives and the reply flow as
/// it arrives, each keyed in its table, and how packets of each change.
#[derive(Clone, Debug)]
pub(crate) struct Flow {
    /// `[forward, reply]`: the flow IDs packets carry on arrival.
    pub keys: [FlowId; 2],
    /// The outputs for forward and reply packets.
    pub outputs: [Port; 2],
    /// The IP header's checksum delta (addresses), and the transport
    /// checksum's (addresses and ports), forward direction.
    pub ip_delta: u16,
    pub l4_delta: u16,
    /// When the last packet passed: expiry counts from here.
    pub used: Instant,
    /// The input spec that made it.
    pub input: usize,
    pub tracking: Tracking,
    /// TCP state bits, or UDP's packet and reply count.
    pub state: u8,
    /// The REPLY_ANNO value of the first forward packet.
    pub reply_anno: u8,
}

impl Flow {
    pub fn new(
        flowid: FlowId,
        rewritten: FlowId,
        outputs: [Port; 2],
        input: usize,
        tracking: Tracking,
        now: Instant,
    ) -> Flow {
        let (from, to) = (flowid.words(), rewritten.words());
        Flow {
            keys: [flowid, rewritten.reverse()],
            outputs,
            ip_delta: delta(&from[..4], &to[..4]),
            l4_delta: delta(&from, &to),
            used: now,
            input,
            tracking,
            state: 0,
            reply_anno: 0,
        }
    }

    /// Which of its table's timeouts applies to the flow now: 0 idle, 1
    /// busy (TCP data both ways, UDP streaming), 2 done (TCP closed both
    /// ways). Flows change class only as their packets pass.
    pub fn class(&self) -> usize {
        match self.tracking {
            Tracking::Tcp if self.state & TCP_BOTH_DONE == TCP_BOTH_DONE => 2,
            Tracking::Tcp if self.state & TCP_BOTH_DATA == TCP_BOTH_DATA => 1,
            Tracking::Udp if self.state > 6 => 1,
            _ => 0,
        }
    }

    /// The flow ID a packet arriving as `keys[reply]` leaves with.
    #[inline]
    pub fn rewritten(&self, reply: bool) -> FlowId {
        self.keys[usize::from(!reply)].reverse()
    }

    /// Notes a TCP segment's flags and whether it carries data (Click's
    /// TCPRewriter state: RST ends both ways, FIN one way, SYN or data
    /// reopens a way).
    pub fn note_tcp(&mut self, reply: bool, flags: u8, has_payload: bool) {
        let way = u8::from(reply);
        if flags & 0x04 != 0 {
            self.state |= TCP_BOTH_DONE;
        } else if flags & 0x01 != 0 {
            self.state |= TCP_FORWARD_DONE << way;
        } else if flags & 0x02 != 0 || has_payload {
            self.state &= !(TCP_FORWARD_DONE << way);
        }
        if has_payload {
            self.state |= TCP_FORWARD_DATA << way;
        }
    }

    /// Notes a UDP datagram: bit 0 says a reply came, the rest count
    /// packets up to three.
    pub fn note_udp(&mut self, reply: bool) {
        if reply {
            self.state |= 1;
        }
        if self.state < 6 {
            self.state += 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_undo_each_other() {
        let a = FlowId::new(0x0a000001, 1000, 0x12345678, 80);
        let b = FlowId::new(0x01000001, 1024, 0x12345678, 80);
        let d = delta(&a.words(), &b.words());
        let sum = 0x1c46;
        assert_eq!(adjust(adjust(sum, d, false), d, true), sum);
        assert_eq!(delta(&a.words(), &a.words()), 0);
    }
}
