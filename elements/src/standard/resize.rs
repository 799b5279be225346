//! Resize: adds or removes bytes at the head and tail of packets.

use click_engine::args::Args;
use click_engine::PacketCtx;
use click_engine::Threads;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketElement, Port};

/// `Resize([HEAD, TAIL])`: changes each packet's length at both ends, as
/// Click's Resize: a positive HEAD adds that many bytes in front (their
/// contents undefined, as Click's), a negative one removes them; TAIL the
/// same at the end. Removing more than the packet has empties it. A packet
/// whose buffer is too small moves to a bigger one (Click's expensive
/// push and put); one that cannot grow (past the longest packet,
/// `PacketPool::max_packet_len`, or no buffer to copy into) is dropped and
/// counted.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct Resize {
    head: i64,
    tail: i64,
}

impl ElementClass for Resize {
    const CLASS: &'static str = "Resize";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Resize {
            head: args.read_p("HEAD")?.unwrap_or(0),
            tail: args.read_p("TAIL")?.unwrap_or(0),
        })
    }
}

/// `n` as a byte count.
fn bytes(n: i64) -> usize {
    usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX)
}

impl PacketElement for Resize {
    #[inline]
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        if self.head > 0 {
            packet.push(bytes(self.head)).ok()?;
        } else if self.head < 0 {
            // Cannot fail: the amount is within the packet.
            let _ = packet.pull(bytes(self.head).min(packet.len()));
        }
        if self.tail > 0 {
            packet.put(bytes(self.tail)).ok()?;
        } else if self.tail < 0 {
            let _ = packet.take(bytes(self.tail).min(packet.len()));
        }
        Some(0)
    }
}
