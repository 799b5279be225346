//! CheckTCPHeader: validates TCP headers.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Packet, Threads};

use super::common::{checksum_ok, header_check_element, pseudo_header_sum, Drops};

const REASONS: &[&str] = &["not TCP", "bad packet length", "bad TCP checksum"];
const NOT_TCP: usize = 0;
const BAD_LENGTH: usize = 1;
const BAD_CHECKSUM: usize = 2;

/// `CheckTCPHeader([*keywords* VERBOSE, DETAILS])`: checks that TCP/IP
/// packets (with their IP header annotation set, by CheckIPHeader or
/// MarkIPHeader) hold a valid TCP header: protocol TCP, a data offset of
/// at least 20 bytes and within the IP length, the whole segment present,
/// and a valid checksum (with the pseudo-header). Good packets leave on
/// output 0.
///
/// Bad packets leave on output 1 if it exists, and are dropped otherwise;
/// the first (every one with `VERBOSE true`) is reported as `NAME: TCP
/// header check failed: REASON` (`not TCP`, `bad packet length`, `bad TCP
/// checksum`). A packet without an IP header annotation is `not TCP`.
/// Nothing beyond the packet is read.
///
/// * Ports: 1 input, 1 or 2 outputs (`a/ah`).
/// * Handlers: `drops` (read); `drop_details` (read, with `DETAILS true`).
#[derive(Debug)]
pub struct CheckTCPHeader {
    drops: Drops,
}

impl ElementClass for CheckTCPHeader {
    const CLASS: &'static str = "CheckTCPHeader";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(CheckTCPHeader {
            drops: Drops::from_keywords(
                args,
                ctx,
                format!("{}: TCP header check failed", ctx.name),
                REASONS,
            )?,
        })
    }
}

/// The reason `p` is not a good TCP packet, if any.
fn check(p: &Packet) -> Result<(), usize> {
    let (Some(nh), Some(nh_off)) = (p.network_header(), p.network_header_offset()) else {
        return Err(NOT_TCP);
    };
    if nh.len() < 10 || nh[9] != 6 {
        return Err(NOT_TCP);
    }
    let iph_len = usize::from(nh[0] & 0x0f) * 4;
    let ip_len = usize::from(u16::from_be_bytes([nh[2], nh[3]]));
    let th = p.transport_header().ok_or(BAD_LENGTH)?;
    let len = ip_len.checked_sub(iph_len).ok_or(BAD_LENGTH)?;
    let tcph_len = usize::from(*th.get(12).ok_or(BAD_LENGTH)? >> 4) * 4;
    if tcph_len < 20
        || len < tcph_len
        || (p.len() as isize) < (len + iph_len) as isize + nh_off
        || th.len() < len
        || nh.len() < 20
    {
        return Err(BAD_LENGTH);
    }
    if !checksum_ok(&th[..len], pseudo_header_sum(nh, 6, len)) {
        return Err(BAD_CHECKSUM);
    }
    Ok(())
}

header_check_element!(CheckTCPHeader, check);
