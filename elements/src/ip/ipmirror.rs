//! IPMirror: turns a packet from a to b into one from b to a.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketCtx, PacketElement, Port, Threads};

use super::forward::hdr::{be16, ip_at};

const TCP: u8 = 6;
const UDP: u8 = 17;

/// `IPMirror()`: swaps each packet's IP source and destination addresses
/// and, for the first fragment of a TCP or UDP packet, its source and
/// destination ports; a TCP segment also has its sequence and
/// acknowledgement numbers swapped. Swapping 16-bit words leaves every
/// checksum right, so none is recomputed. The packet is made unique first
/// if clones share it. It serves to answer a packet in kind: a test
/// server, or the far side of a NAT in a configuration that has none.
///
/// A packet without a marked, whole IP header (CheckIPHeader or
/// MarkIPHeader before it) is dropped and counted; a transport header
/// cut short keeps its ports (fewer than 8 bytes) or its sequence numbers
/// (fewer than 12) as they were.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct IPMirror;

impl ElementClass for IPMirror {
    const CLASS: &'static str = "IPMirror";
    const THREADS: Threads = Threads::PerThread;

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(IPMirror)
    }
}

impl PacketElement for IPMirror {
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let nh = ip_at(p, 20)?;
        let hl = usize::from(p.data()[nh] & 0x0f) * 4;
        if hl < 20 || nh + hl > p.len() {
            return None;
        }
        let d = p.data_mut().ok()?;
        swap(d, nh + 12, nh + 16, 4);
        let proto = d[nh + 9];
        let first_fragment = be16(d, nh + 6) & 0x1fff == 0;
        let th = nh + hl;
        if first_fragment && (proto == TCP || proto == UDP) && d.len() >= th + 8 {
            swap(d, th, th + 2, 2);
            if proto == TCP && d.len() >= th + 12 {
                swap(d, th + 4, th + 8, 4);
            }
        }
        Some(0)
    }
}

/// Swaps the `len` bytes at `a` with those at `b` (`a + len <= b`).
fn swap(d: &mut [u8], a: usize, b: usize, len: usize) {
    let (front, back) = d.split_at_mut(b);
    front[a..a + len].swap_with_slice(&mut back[..len]);
}
