//! Unstrip: puts bytes back on the front of packets.

use click_engine::args::Args;
use click_engine::packet::PacketError;
use click_engine::PacketCtx;
use click_engine::Threads;
use click_engine::{ConfigureCtx, ElementClass, Handler, Packet, PacketElement, Port};

/// Bytes of headroom Unstrip restores exactly; beyond this, the extra
/// front bytes read as zeros.
const RESTORE_MAX: usize = 512;

/// `Unstrip(LENGTH)`: extends each packet by LENGTH bytes at the front,
/// exposing the bytes that were there (what an earlier
/// [`Strip`](crate::Strip) removed), as Click's `nonunique_push`. If the
/// headroom is too small the data is moved, to a bigger buffer if its own
/// is too small (Click's expensive push), and the new bytes read as
/// zeros; a packet that cannot grow (past the longest packet,
/// `PacketPool::max_packet_len`, or pool exhausted for a copy) is
/// dropped.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `length` (read).
#[derive(Debug)]
pub struct Unstrip {
    length: usize,
}

impl ElementClass for Unstrip {
    const CLASS: &'static str = "Unstrip";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Unstrip {
            length: args.read_mp("LENGTH")?,
        })
    }
}

impl PacketElement for Unstrip {
    #[inline]
    fn process(&mut self, packet: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let n = self.length;
        let head = packet.headroom();
        // Save the headroom bytes first: `push` may copy a shared buffer
        // (data only) and zero-fills what it prepends.
        let mut saved = [0u8; RESTORE_MAX];
        let keep = n <= head && n <= RESTORE_MAX;
        if keep {
            saved[..n].copy_from_slice(&packet.buffer()[head - n..head]);
        }
        match packet.push(n) {
            Ok(front) => {
                if keep {
                    front.copy_from_slice(&saved[..n]);
                }
                Some(0)
            }
            Err(PacketError::TooLong { .. }) => {
                ctx.drop_because("too long to unstrip: past the longest packet");
                None
            }
            Err(_) => {
                ctx.drop_because("packet pool exhausted");
                None
            }
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("length")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "length").then(|| self.length.to_string())
    }
}
