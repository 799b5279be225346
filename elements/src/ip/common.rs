//! What the header checks share: Internet checksums, the drop counters
//! and messages of Click's `Check*Header` elements, header marking.

use std::sync::Arc;

use click_engine::{Handler, InitCtx, Packet, Port, SharedCounters};

/// The ones'-complement sum of `data` as big-endian 16-bit words (an odd
/// last byte padded with zero), plus `initial`, not yet folded.
#[inline]
pub(crate) fn ones_sum(data: &[u8], initial: u64) -> u64 {
    let mut sum = initial;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        sum += u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
    }
    let rest = chunks.remainder();
    let mut tail = [0u8; 4];
    tail[..rest.len()].copy_from_slice(rest);
    sum + u64::from(u32::from_be_bytes(tail))
}

/// Folds a sum to 16 bits (end-around carry).
#[inline(always)]
pub(crate) fn fold(sum: u64) -> u16 {
    // 64 -> 33 -> 17 -> 16 bits, then the last carry
    let s = (sum & 0xffff_ffff) + (sum >> 32);
    let s = (s & 0xffff) + (s >> 16);
    let s = (s & 0xffff) + (s >> 16);
    ((s & 0xffff) + (s >> 16)) as u16
}

/// Whether `data` (a header with its checksum field) sums to all ones:
/// a valid Internet checksum.
#[inline]
pub(crate) fn checksum_ok(data: &[u8], initial: u64) -> bool {
    fold(ones_sum(data, initial)) == 0xffff
}

/// The Internet checksum of `data` (what its checksum field should hold
/// when the field is zero).
pub fn internet_checksum(data: &[u8]) -> u16 {
    !fold(ones_sum(data, 0))
}

/// The TCP/UDP pseudo-header's part of a checksum sum: source and
/// destination address from the IP header `ip`, protocol, and `len`.
#[inline]
pub(crate) fn pseudo_header_sum(ip: &[u8], proto: u8, len: usize) -> u64 {
    ones_sum(&ip[12..20], 0) + u64::from(proto) + len as u64
}

/// Marks the network header at `offset`, `len` bytes long, both clamped to
/// the packet's data.
#[inline(always)]
pub(crate) fn mark_network_header(p: &mut Packet, offset: usize, len: usize) {
    let (offset, len) = if offset + len <= p.len() {
        (offset, len)
    } else {
        let offset = offset.min(p.len());
        (offset, len.min(p.len() - offset))
    };
    // Fails only for a header beyond the annotation's 16-bit reach (in a
    // large buffer): the packet is then left unmarked, as if short.
    let _ = p.set_network_header(offset, len);
}

/// Counters beyond the total, one per reason (at most this many).
const MAX_REASONS: usize = 7;

/// The drop accounting of a `Check*Header` element: the `drops` and
/// `drop_details` handlers, Click's message on the first bad packet (or on
/// every one with VERBOSE), and where bad packets go (output 1 if it
/// exists, else dropped).
#[derive(Debug)]
pub(crate) struct Drops {
    /// Counter 0: all drops; 1 + reason: by reason. Shared by the
    /// element's instances on several threads.
    counts: Arc<SharedCounters<{ MAX_REASONS + 1 }>>,
    instance: usize,
    verbose: bool,
    details: bool,
    has_port1: bool,
    /// `NAME: IP header check failed` and the like.
    prefix: String,
    reasons: &'static [&'static str],
}

const HANDLERS: &[Handler] = &[Handler::read("drops")];
const HANDLERS_DETAILS: &[Handler] = &[Handler::read("drops"), Handler::read("drop_details")];

impl Drops {
    pub(crate) fn new(
        prefix: String,
        reasons: &'static [&'static str],
        verbose: bool,
        details: bool,
        noutputs: usize,
    ) -> Drops {
        debug_assert!(reasons.len() <= MAX_REASONS);
        Drops {
            counts: Arc::new(SharedCounters::new(1)),
            instance: 0,
            verbose,
            details,
            has_port1: noutputs >= 2,
            prefix,
            reasons,
        }
    }

    pub(crate) fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        let (instance, instances) = ctx.instance();
        self.instance = instance;
        self.counts = ctx.shared_state(|| SharedCounters::new(instances))?;
        Ok(())
    }

    /// Counts a bad packet for `reason` and says where it goes.
    #[cold]
    #[inline(never)]
    pub(crate) fn bad(&mut self, reason: usize) -> Option<Port> {
        if self.verbose || self.counts.sum(0) == 0 {
            eprintln!("{}: {}", self.prefix, self.reasons[reason]);
        }
        self.counts.add(self.instance, 0, 1);
        self.counts.add(self.instance, 1 + reason, 1);
        self.has_port1.then_some(1)
    }

    pub(crate) fn handlers(&self) -> &'static [Handler] {
        if self.details {
            HANDLERS_DETAILS
        } else {
            HANDLERS
        }
    }

    pub(crate) fn read_handler(&self, name: &str) -> Option<String> {
        match name {
            "drops" => Some(self.counts.sum(0).to_string()),
            "drop_details" if self.details => Some(
                self.reasons
                    .iter()
                    .enumerate()
                    .map(|(i, r)| format!("{}\t{}\n", self.counts.sum(1 + i), r))
                    .collect(),
            ),
            _ => None,
        }
    }
}

impl Drops {
    /// The accounting of a transport-header check (CheckTCPHeader,
    /// CheckUDPHeader, CheckICMPHeader), from its VERBOSE and DETAILS
    /// keywords.
    pub(crate) fn from_keywords(
        args: &mut click_engine::args::Args,
        ctx: &click_engine::ConfigureCtx,
        prefix: String,
        reasons: &'static [&'static str],
    ) -> Result<Drops, String> {
        let verbose = args.read("VERBOSE")?.unwrap_or(false);
        let details = args.read("DETAILS")?.unwrap_or(false);
        Ok(Drops::new(
            prefix,
            reasons,
            verbose,
            details,
            ctx.noutputs(),
        ))
    }
}

/// The `PacketElement` of a transport-header check whose only state is its
/// `drops`: `$check(&Packet) -> Result<(), reason>` judges each packet;
/// good ones leave on output 0, bad ones go where `drops` says.
macro_rules! header_check_element {
    ($t:ty, $check:path) => {
        impl click_engine::PacketElement for $t {
            #[inline]
            fn process(
                &mut self,
                p: &mut click_engine::Packet,
                _ctx: &mut click_engine::PacketCtx<'_>,
            ) -> Option<click_engine::Port> {
                match $check(p) {
                    Ok(()) => Some(0),
                    Err(reason) => self.drops.bad(reason),
                }
            }

            fn initialize(&mut self, ctx: &mut click_engine::InitCtx<'_>) -> Result<(), String> {
                self.drops.initialize(ctx)
            }

            fn handlers(&self) -> &'static [click_engine::Handler] {
                self.drops.handlers()
            }

            fn read_handler(&self, name: &str) -> Option<String> {
                self.drops.read_handler(name)
            }
        }
    };
}
pub(crate) use header_check_element;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums() {
        // RFC 1071's example words sum to ddf2
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(ones_sum(&data, 0)), 0xddf2);
        assert_eq!(internet_checksum(&data), !0xddf2);
        // an IPv4 header with its checksum
        let hdr = [
            0x45, 0, 0, 0x32, 0, 0, 0, 0, 0x40, 0x11, 0x64, 0xb7, 10, 0, 0, 1, 10, 1, 2, 3,
        ];
        assert!(checksum_ok(&hdr, 0));
        let mut bad = hdr;
        bad[10] = 0;
        assert!(!checksum_ok(&bad, 0));
        // odd lengths pad with zero
        assert_eq!(fold(ones_sum(&[1, 2, 3], 0)), 0x0102 + 0x0300);
    }
}
