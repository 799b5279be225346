//! UnstripIPHeader: puts the outermost IP header back.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketCtx, PacketElement, Port, Threads};

/// Bytes of headroom restored exactly by [`push_back`].
const RESTORE_MAX: usize = 512;

/// Extends `p` by `n` bytes at the front, exposing the bytes that were
/// there (stripped headers), as Click's `nonunique_push`. `false` if the
/// packet could not grow.
pub(crate) fn push_back(p: &mut Packet, n: usize) -> bool {
    let head = p.headroom();
    let keep = n <= head && n <= RESTORE_MAX;
    let mut saved = [0u8; RESTORE_MAX];
    if keep {
        saved[..n].copy_from_slice(&p.buffer()[head - n..head]);
    }
    match p.push(n) {
        Ok(front) => {
            if keep {
                front.copy_from_slice(&saved[..n]);
            } else {
                front.fill(0);
            }
            true
        }
        Err(_) => false,
    }
}

/// `UnstripIPHeader()`: puts the IP header back on packets whose IP header
/// annotation points before their data (after StripIPHeader), restoring
/// the bytes from the headroom. Other packets pass unchanged; one that
/// cannot grow (pool exhausted for a copy) is dropped.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct UnstripIPHeader;

impl ElementClass for UnstripIPHeader {
    const CLASS: &'static str = "UnstripIPHeader";
    const THREADS: Threads = Threads::PerThread;

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(UnstripIPHeader)
    }
}

impl PacketElement for UnstripIPHeader {
    #[inline]
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        match p.network_header_offset() {
            Some(off) if off < 0 => push_back(p, off.unsigned_abs()).then_some(0),
            _ => Some(0),
        }
    }
}
