//! CheckICMPHeader: validates ICMP headers.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Packet, Threads};

use super::common::{checksum_ok, header_check_element, Drops};

const REASONS: &[&str] = &["not ICMP", "bad packet length", "bad ICMP checksum"];
const NOT_ICMP: usize = 0;
const BAD_LENGTH: usize = 1;
const BAD_CHECKSUM: usize = 2;

/// `CheckICMPHeader([*keywords* VERBOSE, DETAILS])`: checks that ICMP
/// packets (with their IP header annotation set) hold a valid ICMP
/// message: protocol ICMP, at least 8 bytes from the ICMP header to the
/// end, the lengths Click requires per type (errors: unreachable, source
/// quench, redirect, time exceeded, parameter problem carry at least 28
/// more bytes; timestamp and its reply exactly 20 bytes in all;
/// information request and reply exactly 8), and a valid checksum over
/// the whole message. Good packets leave on output 0.
///
/// Bad packets leave on output 1 if it exists, and are dropped otherwise;
/// the first (every one with `VERBOSE true`) is reported as `NAME: ICMP
/// header check failed: REASON` (`not ICMP`, `bad packet length`, `bad
/// ICMP checksum`). Nothing beyond the packet is read.
///
/// * Ports: 1 input, 1 or 2 outputs (`a/ah`).
/// * Handlers: `drops` (read); `drop_details` (read, with `DETAILS true`).
#[derive(Debug)]
pub struct CheckICMPHeader {
    drops: Drops,
}

impl ElementClass for CheckICMPHeader {
    const CLASS: &'static str = "CheckICMPHeader";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(CheckICMPHeader {
            drops: Drops::from_keywords(
                args,
                ctx,
                format!("{}: ICMP header check failed", ctx.name),
                REASONS,
            )?,
        })
    }
}

/// The reason `p` is not a good ICMP packet, if any.
fn check(p: &Packet) -> Result<(), usize> {
    let Some(nh) = p.network_header() else {
        return Err(NOT_ICMP);
    };
    if nh.len() < 10 || nh[9] != 1 {
        return Err(NOT_ICMP);
    }
    let icmp = p.transport_header().ok_or(BAD_LENGTH)?;
    let len = icmp.len();
    if len < 8 {
        return Err(BAD_LENGTH);
    }
    let ok = match icmp[0] {
        // unreachable, source quench, redirect, time exceeded, parameter
        // problem: the IP header and 64 bits of the datagram
        3 | 4 | 5 | 11 | 12 => len >= 8 + 28,
        // timestamp, timestamp reply
        13 | 14 => len == 20,
        // information request, reply
        15 | 16 => len == 8,
        _ => true,
    };
    if !ok {
        return Err(BAD_LENGTH);
    }
    if !checksum_ok(icmp, 0) {
        return Err(BAD_CHECKSUM);
    }
    Ok(())
}

header_check_element!(CheckICMPHeader, check);
