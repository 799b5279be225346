//! SetIPChecksum: computes IP header checksums.

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, ElementClass, Handler, InitCtx, Packet, PacketCtx, PacketElement, Port, Threads,
};

use super::hdr::{cksum, put16, Counts};

/// `SetIPChecksum()`: computes the IP header checksum of each packet and
/// writes it into the header, which starts at the IP header annotation
/// (or at the start of the data when it is not set). Elements that change
/// headers (DecIPTTL, SetIPDSCP) update the checksum themselves; this is
/// for headers made or changed otherwise.
///
/// A packet too short for its header (under 20 bytes, a header length
/// under 20 or past the data), or whose header is marked before its data,
/// is dropped; the first is reported (`SetIPChecksum: bad input packet`)
/// and `drops` counts them.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `drops` (read).
#[derive(Debug)]
pub struct SetIPChecksum {
    drops: Counts<1>,
}

impl ElementClass for SetIPChecksum {
    const CLASS: &'static str = "SetIPChecksum";
    const THREADS: Threads = Threads::PerThread;

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(SetIPChecksum {
            drops: Counts::new(),
        })
    }
}

impl PacketElement for SetIPChecksum {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let off = match p.network_header_offset() {
            None => Some(0),
            Some(o) => usize::try_from(o).ok(),
        };
        let hlen = off.and_then(|o| {
            let h = p.data().get(o..)?;
            let hlen = usize::from(h.first()? & 0x0f) * 4;
            (h.len() >= 20 && hlen >= 20 && hlen <= h.len()).then_some(hlen)
        });
        let (Some(off), Some(hlen)) = (off, hlen) else {
            if self.drops.sum(0) == 0 {
                eprintln!("SetIPChecksum: bad input packet");
            }
            self.drops.add(0, 1);
            return None;
        };
        let Ok(data) = p.data_mut() else {
            ctx.drop_because("pool exhausted");
            return None;
        };
        let h = &mut data[off..off + hlen];
        put16(h, 10, 0);
        let sum = cksum(h);
        put16(h, 10, sum);
        Some(0)
    }

    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.drops.initialize(ctx)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("drops")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "drops").then(|| self.drops.sum(0).to_string())
    }
}
