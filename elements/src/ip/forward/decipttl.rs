//! DecIPTTL: decrements the IP time-to-live.

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, InitCtx, Packet, PacketCtx, PacketElement, Port,
    Threads,
};

use super::hdr::{be16, cksum_after_ttl_decrement, ip_at, put16, Counts};

/// `DecIPTTL([*keywords* ACTIVE, MULTICAST])`: decrements the TTL of IP
/// packets (their IP header annotation set, as CheckIPHeader sets it) and
/// updates the header checksum incrementally (RFC 1624, Click's
/// arithmetic to the bit), then sends them to output 0. A packet whose
/// TTL is 1 or 0 has expired: it leaves unchanged on output 1, usually
/// connected to an `ICMPError(ADDR, timeexceeded)`, or is dropped when
/// there is no output 1; `drops` counts them.
///
/// With `ACTIVE false` packets pass untouched; with `MULTICAST false`,
/// packets to multicast destinations (224.0.0.0/4) do. A packet whose IP
/// header is not marked, or is marked with fewer than 20 bytes from it to
/// the end of the data, is dropped (counted as "no IP header"): Click
/// would read beyond it. Packets shared with clones are copied before the
/// write, never the others.
///
/// * Ports: 1 input, 1 or 2 outputs; agnostic input and output 0, output
///   1 push (`a/ah`).
/// * Handlers: `drops` (read): expired packets; `active` (read/write).
#[derive(Debug)]
pub struct DecIPTTL {
    active: bool,
    multicast: bool,
    drops: Counts<1>,
}

impl ElementClass for DecIPTTL {
    const CLASS: &'static str = "DecIPTTL";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(DecIPTTL {
            active: args.read("ACTIVE")?.unwrap_or(true),
            multicast: args.read("MULTICAST")?.unwrap_or(true),
            drops: Counts::new(),
        })
    }
}

impl PacketElement for DecIPTTL {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        if !self.active {
            return Some(0);
        }
        let Some(off) = ip_at(p, 20) else {
            ctx.drop_because("no IP header");
            return None;
        };
        let ip = &p.data()[off..off + 20];
        if !self.multicast && ip[16] & 0xf0 == 0xe0 {
            return Some(0);
        }
        if ip[8] <= 1 {
            self.drops.add(0, 1);
            return Some(1);
        }
        let Ok(data) = p.data_mut() else {
            ctx.drop_because("pool exhausted");
            return None;
        };
        let ip = &mut data[off..off + 20];
        ip[8] -= 1;
        let sum = cksum_after_ttl_decrement(be16(ip, 10));
        put16(ip, 10, sum);
        Some(0)
    }

    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.drops.initialize(ctx)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("drops"), Handler::read_write("active")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        match name {
            "drops" => Some(self.drops.sum(0).to_string()),
            "active" => Some(self.active.to_string()),
            _ => None,
        }
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "active" => {
                self.active = Args::new(value).read_mp("ACTIVE")?;
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}
