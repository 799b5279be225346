//! SetDSCP: rewrites the DSCP field of IPv4 packets.

use click_engine::args::Args;
use click_engine::Ctx;
use click_engine::PacketCtx;
use click_engine::{ConfigureCtx, ElementClass, Handler, Packet, PacketElement, Port};

/// Bytes of an IPv4 header without options.
const IPV4_MIN_HEADER: usize = 20;

/// `SetDSCP(DSCP [, *keywords* OFFSET])`: sets the DSCP field (the top six
/// bits of the TOS byte) of the IPv4 header starting OFFSET bytes into
/// the packet (default 0, i.e. after `Strip(14)`), keeping the ECN bits
/// and updating the header checksum incrementally (RFC 1624). Packets
/// without an IPv4 header there pass unchanged and are counted.
///
/// Writing makes the packet's data unique first: if a `Tee` upstream
/// cloned it, the other clones keep the old bytes.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `dscp` (read/write), `count`, `not_ip` (read).
#[derive(Debug)]
pub struct SetDSCP {
    dscp: u8,
    offset: usize,
    count: u64,
    not_ip: u64,
}

impl ElementClass for SetDSCP {
    const CLASS: &'static str = "SetDSCP";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let dscp = parse_dscp(args.read_mp("DSCP")?)?;
        let offset = args.read("OFFSET")?.unwrap_or(0);
        Ok(SetDSCP {
            dscp,
            offset,
            count: 0,
            not_ip: 0,
        })
    }
}

fn parse_dscp(v: u32) -> Result<u8, String> {
    u8::try_from(v)
        .ok()
        .filter(|&d| d < 64)
        .ok_or_else(|| format!("DSCP {v} is out of range (0-63)"))
}

/// RFC 1624 eqn. 3: the checksum after one 16-bit word of the covered
/// data changes from `old` to `new`.
pub fn update_checksum(sum: u16, old: u16, new: u16) -> u16 {
    let mut s = u32::from(!sum) + u32::from(!old) + u32::from(new);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    !(s as u16)
}

impl PacketElement for SetDSCP {
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let o = self.offset;
        // Read through the shared view first: no copy for packets we leave.
        let is_ipv4 = packet
            .data()
            .get(o..o + IPV4_MIN_HEADER)
            .is_some_and(|h| h[0] >> 4 == 4 && h[0] & 0x0f >= 5);
        if !is_ipv4 {
            self.not_ip += 1;
            return Some(0);
        }
        // `data_mut` makes the data unique (copy-on-write) when the packet
        // shares its buffer with clones; that can fail only if the pool is
        // exhausted, and then we drop the packet.
        let Ok(data) = packet.data_mut() else {
            return None;
        };
        let h = &mut data[o..o + IPV4_MIN_HEADER];
        let old_word = u16::from_be_bytes([h[0], h[1]]);
        h[1] = (self.dscp << 2) | (h[1] & 0x03);
        let new_word = u16::from_be_bytes([h[0], h[1]]);
        let sum = u16::from_be_bytes([h[10], h[11]]);
        h[10..12].copy_from_slice(&update_checksum(sum, old_word, new_word).to_be_bytes());
        self.count += 1;
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read_write("dscp"),
            Handler::read("count"),
            Handler::read("not_ip"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "dscp" => self.dscp.to_string(),
            "count" => self.count.to_string(),
            "not_ip" => self.not_ip.to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "dscp" => {
                self.dscp = parse_dscp(Args::new(value).read_mp("DSCP")?)?;
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::update_checksum;

    /// The Internet checksum of `header`, computed from scratch.
    fn checksum(header: &[u8]) -> u16 {
        let mut s: u32 = header
            .chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .sum();
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        !(s as u16)
    }

    #[test]
    fn incremental_update_matches_full_recomputation() {
        let mut h = [
            0x45, 0x00, 0x00, 0x54, 0x12, 0x34, 0x40, 0x00, 0x40, 0x01, 0, 0, 10, 0, 0, 1, 10, 0,
            0, 2,
        ];
        let sum = checksum(&h);
        h[10..12].copy_from_slice(&sum.to_be_bytes());
        for tos in [0x00u8, 0xb8, 0xff, 0x03, 0x10] {
            let old = u16::from_be_bytes([h[0], h[1]]);
            h[1] = tos;
            let new = u16::from_be_bytes([h[0], h[1]]);
            let updated = update_checksum(u16::from_be_bytes([h[10], h[11]]), old, new);
            h[10..12].copy_from_slice(&updated.to_be_bytes());
            assert_eq!(checksum(&h), 0, "tos {tos:#x}: header must verify");
        }
    }
}
