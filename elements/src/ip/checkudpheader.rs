//! CheckUDPHeader: validates UDP headers.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Packet, Threads};

use super::common::{checksum_ok, header_check_element, pseudo_header_sum, Drops};

const REASONS: &[&str] = &["not UDP", "bad packet length", "bad UDP checksum"];
const NOT_UDP: usize = 0;
const BAD_LENGTH: usize = 1;
const BAD_CHECKSUM: usize = 2;

/// `CheckUDPHeader([*keywords* VERBOSE, DETAILS])`: checks that UDP/IP
/// packets (with their IP header annotation set) hold a valid UDP header:
/// protocol UDP, a UDP length of at least 8 with that many bytes present,
/// and a valid checksum unless the checksum field is 0 (none, as IPv4
/// allows). Good packets leave on output 0.
///
/// Bad packets leave on output 1 if it exists, and are dropped otherwise;
/// the first (every one with `VERBOSE true`) is reported as `UDP header
/// check failed: REASON` (Click's message, without the element's name).
/// A packet without an IP header annotation is `not UDP`. Nothing beyond
/// the packet is read.
///
/// * Ports: 1 input, 1 or 2 outputs (`a/ah`).
/// * Handlers: `drops` (read); `drop_details` (read, with `DETAILS true`).
#[derive(Debug)]
pub struct CheckUDPHeader {
    drops: Drops,
}

impl ElementClass for CheckUDPHeader {
    const CLASS: &'static str = "CheckUDPHeader";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(CheckUDPHeader {
            drops: Drops::from_keywords(args, ctx, "UDP header check failed".to_string(), REASONS)?,
        })
    }
}

/// The reason `p` is not a good UDP packet, if any.
fn check(p: &Packet) -> Result<(), usize> {
    let (Some(nh), Some(nh_off)) = (p.network_header(), p.network_header_offset()) else {
        return Err(NOT_UDP);
    };
    if nh.len() < 10 || nh[9] != 17 {
        return Err(NOT_UDP);
    }
    let iph_len = usize::from(nh[0] & 0x0f) * 4;
    let uh = p
        .transport_header()
        .filter(|t| t.len() >= 8)
        .ok_or(BAD_LENGTH)?;
    let len = usize::from(u16::from_be_bytes([uh[4], uh[5]]));
    if len < 8
        || (p.len() as isize) < (len + iph_len) as isize + nh_off
        || uh.len() < len
        || nh.len() < 20
    {
        return Err(BAD_LENGTH);
    }
    if uh[6..8] != [0, 0] && !checksum_ok(&uh[..len], pseudo_header_sum(nh, 17, len)) {
        return Err(BAD_CHECKSUM);
    }
    Ok(())
}

header_check_element!(CheckUDPHeader, check);
