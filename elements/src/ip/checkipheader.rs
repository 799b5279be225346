//! CheckIPHeader and CheckIPHeader2: validate IPv4 headers.

use std::net::Ipv4Addr;

use click_engine::args::{Args, Ipv4Prefix};
use click_engine::packet::{Batch, BATCH_CAPACITY};
use click_engine::{
    ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, Packet, Port, Threads,
};

use super::common::{checksum_ok, Drops};

const REASONS: &[&str] = &[
    "tiny packet",
    "bad IP version",
    "bad IP header length",
    "bad IP length",
    "bad IP checksum",
    "bad source address",
];
const TINY: usize = 0;
const BAD_VERSION: usize = 1;
const BAD_HLEN: usize = 2;
const BAD_LEN: usize = 3;
const BAD_CHECKSUM: usize = 4;
const BAD_SADDR: usize = 5;

/// The checks CheckIPHeader and CheckIPHeader2 share.
#[derive(Debug)]
struct Checker {
    /// OFFSET, capped at `u32::MAX - 20`: a packet is much shorter than
    /// 2^32 bytes, so from there every packet is tiny, as with the offset
    /// itself; and `offset + 20` cannot overflow, which the compiler then
    /// knows (the tiny test is one compare).
    offset: u32,
    checksum: bool,
    bad_src: AddrSet,
    good_dst: AddrSet,
    drops: Drops,
}

/// A set of IPv4 addresses (host order) tested on every packet: up to
/// [`AddrSet::SMALL`] of them (INTERFACES gives two per interface) are
/// compared all at once, without a loop or a branch per address; longer
/// lists are scanned.
#[derive(Debug)]
struct AddrSet {
    /// The addresses, the last repeated to fill the array (when there are
    /// 1 to SMALL of them).
    small: [u32; AddrSet::SMALL],
    /// Whether `small` holds the set.
    is_small: bool,
    list: Vec<u32>,
}

impl AddrSet {
    const SMALL: usize = 8;

    fn new(list: Vec<u32>) -> AddrSet {
        let mut small = [0; AddrSet::SMALL];
        let is_small = (1..=AddrSet::SMALL).contains(&list.len());
        if is_small {
            for (i, slot) in small.iter_mut().enumerate() {
                *slot = list[i.min(list.len() - 1)];
            }
        }
        AddrSet {
            small,
            is_small,
            list,
        }
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    #[inline(always)]
    fn contains(&self, a: u32) -> bool {
        if self.is_small {
            self.small.iter().fold(false, |found, &x| found | (x == a))
        } else {
            self.list.contains(&a)
        }
    }
}

/// A sum of a 20-byte header's 16-bit words modulo 0xffff, never 0 when
/// the header is not all zeros: its ones' complement sum is all ones
/// exactly when this is a multiple of 0xffff. The words are read as they
/// lie in memory (the test holds in either byte order), two 64-bit and
/// one 32-bit at a time: 2^16, 2^32 and 2^64 are all 1 modulo 0xffff, so
/// a 64-bit word stands for its four 16-bit ones and a carry out of 64
/// bits is added back in. Scalar, in three adds with their carries: the
/// compiler made the five 32-bit words' sum a 256-bit vector one.
#[inline(always)]
fn sum_words_ne(ip: &[u8; 20]) -> u64 {
    let (a, rest) = ip.split_first_chunk::<8>().expect("20 bytes");
    let (b, c) = rest.split_first_chunk::<8>().expect("12 bytes");
    let c = u64::from(u32::from_ne_bytes(*c.first_chunk::<4>().expect("4 bytes")));
    let (s, carry) = u64::from_ne_bytes(*a).overflowing_add(u64::from_ne_bytes(*b));
    // No overflow: with a carry, s <= 2^64 - 2.
    let s = s + u64::from(carry);
    let (s, carry) = s.overflowing_add(c);
    s + u64::from(carry)
}

/// A header's source address (host order) and destination address bytes.
#[inline(always)]
fn addresses(ip: &[u8; 20]) -> (u32, [u8; 4]) {
    (
        u32::from_be_bytes([ip[12], ip[13], ip[14], ip[15]]),
        [ip[16], ip[17], ip[18], ip[19]],
    )
}

/// The writes to a good packet whose header is `hlen` bytes at `off`:
/// the marks, the trim to the datagram's `len` bytes (dropping the `pad`
/// bytes after it) and the destination annotation.
///
/// The padding comes as a count (0 almost always) rather than as the
/// bytes present: the common path has it from its length test, where
/// comparing the bytes present with `len` took an add and a compare.
/// The marks go first: written after the annotation, they loaded the
/// packet's handle, headroom and length again (the compiler cannot tell
/// the annotation's write from a change to them).
#[inline(always)]
fn annotate(p: &mut Packet, dst: [u8; 4], off: usize, hlen: usize, len: usize, pad: usize) {
    // off + hlen <= off + len <= the data: in bounds. Fails only for a
    // header beyond the annotation's 16-bit reach (in a large buffer):
    // the packet is then left unmarked, as MarkIPHeader leaves it.
    let _ = p.set_network_header(off, hlen);
    // Trim link-layer padding: the packet ends with the IP datagram.
    if pad != 0 {
        p.truncate(off + len);
    }
    p.anno_mut().set_dst_ip(Ipv4Addr::from(dst));
}

/// Whether `sum`, a nonzero sum of 16-bit words modulo 0xffff
/// ([`sum_words_ne`]), stands for an all ones ones' complement sum:
/// whether it is a multiple of 0xffff. Tested
/// by a multiply with 0xffff's inverse modulo 2^64: the multiples of
/// 0xffff, and only they, map to 0..=u64::MAX / 0xffff (0xffff is odd;
/// Granlund and Montgomery's test), where the remainder takes a multiply,
/// a shift and two adds. The two constants come from `k` (see
/// [`PerBatch`]).
#[inline(always)]
fn ones_sum_all_ones_by(sum: u64, k: &PerBatch) -> bool {
    debug_assert_ne!(sum, 0);
    sum.wrapping_mul(k.inverse) <= k.limit
}

/// [`ones_sum_all_ones_by`] with the constants, for the tests.
#[cfg(test)]
fn ones_sum_all_ones(sum: u64) -> bool {
    ones_sum_all_ones_by(sum, &PerBatch::DEFAULT)
}

/// 0xffff's inverse modulo 2^64: (2^16 - 1)(2^48 + 2^32 + 2^16 + 1) =
/// 2^64 - 1 = -1, so it is the negated second factor.
const INVERSE: u64 = 0x0001_0001_0001_0001u64.wrapping_neg();
const _: () = assert!(0xffffu64.wrapping_mul(INVERSE) == 1);

/// The largest OFFSET kept (see `Checker::offset`).
const OFFSET_CAP: u32 = u32::MAX - 20;
// Every packet is shorter than OFFSET_CAP + 20 bytes.
const _: () = assert!(OFFSET_CAP as usize > click_engine::packet::MAX_BUF_SIZE);

/// What a check needs besides the packet, set up once per batch: the
/// offset and the checksum test's two constants. The constants go through
/// [`std::hint::black_box`] at the start of a batch: as immediates, the
/// compiler rematerialised them inside the batch loop (two 10-byte
/// `movabs` a packet); as values it keeps them in registers, or reads
/// them as operands.
#[derive(Clone, Copy)]
struct PerBatch {
    off: u32,
    inverse: u64,
    limit: u64,
}

impl PerBatch {
    #[cfg(test)]
    const DEFAULT: PerBatch = PerBatch {
        off: 0,
        inverse: INVERSE,
        limit: u64::MAX / 0xffff,
    };

    #[inline(always)]
    fn new(off: u32) -> PerBatch {
        PerBatch {
            off,
            inverse: std::hint::black_box(INVERSE),
            limit: std::hint::black_box(u64::MAX / 0xffff),
        }
    }
}

impl Checker {
    fn configure(args: &mut Args, ctx: &ConfigureCtx, checksum: bool) -> Result<Checker, String> {
        let interfaces: Option<Vec<Ipv4Prefix>> = args.read("INTERFACES")?;
        let bad_src: Option<Vec<Ipv4Addr>> = args.read("BADSRC")?;
        let good_dst: Option<Vec<Ipv4Addr>> = args.read("GOODDST")?;
        let mut offset: Option<usize> = args.read("OFFSET")?;
        let verbose = args.read("VERBOSE")?.unwrap_or(false);
        let details = args.read("DETAILS")?.unwrap_or(false);
        let checksum = args.read("CHECKSUM")?.unwrap_or(checksum);
        // Click's positional OFFSET; its older `BADSRC2, OFFSET` form is
        // not accepted (nor is it by Click's own argument checks).
        let rest = args.rest();
        match rest.as_slice() {
            [] => {}
            [o] => {
                offset = Some(
                    Args::from_vec(vec![o.clone()])
                        .read_mp::<usize>("OFFSET")
                        .map_err(|e| e.to_string())?,
                )
            }
            _ => return Err("too many arguments".into()),
        }
        // INTERFACES give both lists: their subnet broadcasts plus 0.0.0.0
        // and 255.255.255.255 are bad sources unless the destination is
        // one of the interface addresses. BADSRC and GOODDST, when given,
        // replace the list they name.
        let (mut bad, mut good) = (Vec::new(), Vec::new());
        if let Some(ifs) = interfaces {
            for p in ifs {
                let (ip, mask) = (u32::from(p.addr), u32::from(p.mask));
                bad.push((ip & mask) | !mask);
                good.push(ip);
            }
            bad.extend([0, u32::MAX]);
        }
        if let Some(b) = bad_src {
            bad = b.into_iter().map(u32::from).collect();
        }
        if let Some(g) = good_dst {
            good = g.into_iter().map(u32::from).collect();
        }
        Ok(Checker {
            offset: u32::try_from(offset.unwrap_or(0)).map_or(OFFSET_CAP, |o| o.min(OFFSET_CAP)),
            checksum,
            bad_src: AddrSet::new(bad),
            good_dst: AddrSet::new(good),
            drops: Drops::new(
                format!("{}: IP header check failed", ctx.name),
                REASONS,
                verbose,
                details,
                ctx.noutputs(),
            ),
        })
    }

    /// Checks one packet, giving its verdict ([`GOOD`], the bad output 1,
    /// or [`DROP`]), with the configuration's two choices passed as
    /// constants (`CHECKSUM`: whether to check the checksum; `ADDRS`:
    /// whether BADSRC is not empty). The common header goes through
    /// [`accept_common`](Self::accept_common), as in the batch loop; any
    /// packet it does not accept through
    /// [`process_general`](Self::process_general), which finds the reason.
    #[inline(always)]
    fn process_with<const CHECKSUM: bool, const ADDRS: bool>(
        &mut self,
        p: &mut Packet,
        k: &PerBatch,
    ) -> u16 {
        debug_assert_eq!((CHECKSUM, ADDRS), (self.checksum, !self.bad_src.is_empty()));
        if self.accept_common::<CHECKSUM, ADDRS>(p, k) {
            return GOOD;
        }
        self.process_general::<CHECKSUM, ADDRS>(p)
    }

    /// The whole check of one packet, any header (options, or a bad
    /// version, length or checksum), in Click's order of reasons: the
    /// path of the packets [`accept_common`](Self::accept_common) leaves,
    /// out of line, so that the batch loop holds only the common case: no
    /// header length to extract, bound and branch on.
    #[inline(never)]
    fn process_general<const CHECKSUM: bool, const ADDRS: bool>(&mut self, p: &mut Packet) -> u16 {
        let off = self.offset as usize;
        let data = p.data();
        let Some(ip) = data.get(off..).and_then(|d| d.first_chunk::<20>()) else {
            return self.bad(TINY);
        };
        let plen = data.len() - off;
        // Version 4 with a header length of at least 20 bytes is a first
        // byte from 0x45 to 0x4f: one test, and the reason only for a
        // bad one.
        let b0 = ip[0];
        if b0.wrapping_sub(0x45) > 0x4f - 0x45 {
            let reason = if b0 >> 4 != 4 { BAD_VERSION } else { BAD_HLEN };
            return self.bad(reason);
        }
        let hlen = usize::from(b0 & 0x0f) * 4;
        let len = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        if len > plen || len < hlen {
            return self.bad(BAD_LEN);
        }
        if CHECKSUM && !checksum_ok(&data[off..off + hlen], 0) {
            return self.bad(BAD_CHECKSUM);
        }
        let (src, dst) = addresses(ip);
        if ADDRS && self.bad_source(src, dst) {
            return self.bad(BAD_SADDR);
        }
        annotate(p, dst, off, hlen, len, plen - len);
        GOOD
    }

    /// Whether a packet from `src` to `dst` has a bad source address.
    #[inline(always)]
    fn bad_source(&self, src: u32, dst: [u8; 4]) -> bool {
        self.bad_src.contains(src) && !self.good_dst.contains(u32::from_be_bytes(dst))
    }

    /// The check of the common header, for the batch loop: whether `p`
    /// has a first byte of 0x45 (version 4, 20 bytes) and passes every
    /// check, in which case it is annotated and trimmed here; any other
    /// packet is left as it is, for [`process_general`](Self::process_general)
    /// to check again after the loop (and to count, with its reason). No
    /// call in the loop, so its values stay in registers: with the drop
    /// counting's call in it, the registers a call keeps were too few, and
    /// the batch's address and two constants lived on the stack.
    ///
    /// The length tests are two compares: `off + 20` cannot overflow
    /// (`off` is a `u32`), so the tiny test is one, and it leaves `room`,
    /// the bytes after the 20 of the header; a total length from 20 to
    /// the bytes present is then `len - 20 <= room`, wrapping (a length
    /// under 20 wraps to more than any room).
    #[inline(always)]
    fn accept_common<const CHECKSUM: bool, const ADDRS: bool>(
        &self,
        p: &mut Packet,
        k: &PerBatch,
    ) -> bool {
        let off = k.off as usize;
        let data = p.data();
        let Some(ip) = data.get(off..off + 20) else {
            return false;
        };
        let ip: &[u8; 20] = ip.try_into().expect("20 bytes");
        if ip[0] != 0x45 {
            return false;
        }
        let room = data.len() - (off + 20);
        let len = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        // The datagram's bytes after the header: from 0 to `room`. The
        // checksum's sum is never 0: the first byte is 0x45.
        let body = len.wrapping_sub(20);
        if body > room || (CHECKSUM && !ones_sum_all_ones_by(sum_words_ne(ip), k)) {
            return false;
        }
        let (src, dst) = addresses(ip);
        if ADDRS && self.bad_source(src, dst) {
            return false;
        }
        annotate(p, dst, off, 20, len, room - body);
        true
    }

    /// Counts a bad packet for `reason`; its verdict (never [`GOOD`]).
    #[inline(always)]
    fn bad(&mut self, reason: usize) -> u16 {
        self.drops.bad(reason).map_or(DROP, |port| port as u16)
    }

    /// Checks one packet.
    fn process(&mut self, p: &mut Packet) -> Option<Port> {
        let k = PerBatch::new(self.offset);
        let v = match (self.checksum, !self.bad_src.is_empty()) {
            (true, false) => self.process_with::<true, false>(p, &k),
            (true, true) => self.process_with::<true, true>(p, &k),
            (false, false) => self.process_with::<false, false>(p, &k),
            (false, true) => self.process_with::<false, true>(p, &k),
        };
        (v != DROP).then_some(Port::from(v))
    }
}

/// `CheckIPHeader([OFFSET, *keywords* OFFSET, INTERFACES, BADSRC, GOODDST,
/// CHECKSUM, VERBOSE, DETAILS])`: checks that packets hold a valid IPv4
/// header OFFSET bytes in (default 0): at least 20 bytes, version 4, a
/// header length of at least 20, a total length between the header length
/// and the bytes present, and (unless `CHECKSUM false`) a valid header
/// checksum. Valid packets get their network header annotation (the IP
/// header) and destination-IP annotation set, are trimmed to the IP total
/// length (dropping link-layer padding), and leave on output 0.
///
/// Source addresses are checked when INTERFACES, BADSRC or GOODDST is
/// given (RFC 1812 5.3.7): a packet from an address in BADSRC is bad
/// unless its destination is in GOODDST. `INTERFACES 18.26.4.9/24
/// 18.32.9.44/28` stands for BADSRC `18.26.4.255 18.32.9.47 0.0.0.0
/// 255.255.255.255` and GOODDST `18.26.4.9 18.32.9.44`. Addresses are
/// space-separated lists, of addresses or AddressInfo names.
///
/// Bad packets leave on output 1 if it exists, and are dropped otherwise.
/// The first one (every one with `VERBOSE true`) is reported on standard
/// error as `NAME: IP header check failed: REASON`, with Click's reasons
/// (`tiny packet`, `bad IP version`, `bad IP header length`, `bad IP
/// length`, `bad IP checksum`, `bad source address`). Any bytes, of any
/// length, are checked without reading beyond the packet.
///
/// * Ports: 1 input, 1 or 2 outputs; agnostic input and output 0, output
///   1 push (Click's `a/ah`).
/// * Handlers: `drops` (read): bad packets so far; `drop_details` (read,
///   with `DETAILS true`): a count and a reason per line.
#[derive(Debug)]
pub struct CheckIPHeader {
    checker: Checker,
}

/// `CheckIPHeader2([OFFSET, *keywords*])`: [`CheckIPHeader`](crate::CheckIPHeader)
/// that does not check the IP checksum unless told to (`CHECKSUM true`).
///
/// * Ports: as CheckIPHeader.
/// * Handlers: `drops`, `drop_details` (as CheckIPHeader).
#[derive(Debug)]
pub struct CheckIPHeader2 {
    checker: Checker,
}

impl ElementClass for CheckIPHeader {
    const CLASS: &'static str = "CheckIPHeader";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(CheckIPHeader {
            checker: Checker::configure(args, ctx, true)?,
        })
    }
}

impl ElementClass for CheckIPHeader2 {
    const CLASS: &'static str = "CheckIPHeader2";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(CheckIPHeader2 {
            checker: Checker::configure(args, ctx, false)?,
        })
    }
}

/// A batch verdict meaning "drop".
const DROP: u16 = u16::MAX;
/// The verdict of a good packet: output 0. The checks return verdicts,
/// not an `Option<Port>`, so that the batch loop's good case is one test
/// (an option's tag and value took seven instructions a packet to merge).
const GOOD: u16 = 0;

impl Checker {
    /// Checks every packet of `batch`, writing the verdicts of the bad
    /// ones into `v` (good ones keep 0); whether all were good.
    #[inline(always)]
    fn check_batch(&mut self, batch: &mut Batch, v: &mut [u16; BATCH_CAPACITY]) -> bool {
        match (self.checksum, !self.bad_src.is_empty()) {
            (true, false) => self.check_batch_with::<true, false>(batch, v),
            (true, true) => self.check_batch_with::<true, true>(batch, v),
            (false, false) => self.check_batch_with::<false, false>(batch, v),
            (false, true) => self.check_batch_with::<false, true>(batch, v),
        }
    }

    /// The batch loop: each packet with a common header that passes is
    /// done in line ([`accept_common`](Self::accept_common)); the others
    /// are marked in `rest`, a bit per packet, and checked after the loop
    /// in their order ([`check_rest`](Self::check_rest)), so the drops
    /// are counted and reported as one packet at a time would.
    // The loop indexes on purpose (see there).
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    fn check_batch_with<const CHECKSUM: bool, const ADDRS: bool>(
        &mut self,
        batch: &mut Batch,
        v: &mut [u16; BATCH_CAPACITY],
    ) -> bool {
        // a local: the loop's stores to packets need not reload it
        let k = PerBatch::new(self.offset);
        let mut rest = 0u32;
        // By index alone: `iter_mut().enumerate()` kept a count and an
        // index, one register too many.
        let pkts = batch.as_mut_slice();
        for i in 0..pkts.len() {
            if !self.accept_common::<CHECKSUM, ADDRS>(&mut pkts[i], &k) {
                rest |= 1 << i;
            }
        }
        rest == 0 || self.check_rest::<CHECKSUM, ADDRS>(batch, v, rest)
    }

    /// Checks the packets of `rest` (a bit per packet of `batch`, those
    /// the common path left), writing the verdicts of the bad ones into
    /// `v`; whether all were good.
    #[cold]
    #[inline(never)]
    fn check_rest<const CHECKSUM: bool, const ADDRS: bool>(
        &mut self,
        batch: &mut Batch,
        v: &mut [u16; BATCH_CAPACITY],
        mut rest: u32,
    ) -> bool {
        let mut all_good = true;
        while rest != 0 {
            let i = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            let verdict = self.process_general::<CHECKSUM, ADDRS>(&mut batch[i]);
            if verdict != GOOD {
                all_good = false;
                v[i] = verdict;
            }
        }
        all_good
    }
}

// A bit per packet of a batch in `check_batch_with`'s `rest`.
const _: () = assert!(BATCH_CAPACITY <= 32);

macro_rules! checker_element {
    ($t:ty) => {
        impl Element for $t {
            #[inline]
            fn push(&mut self, _port: Port, mut batch: Batch, ctx: &mut Ctx<'_>) {
                let mut v = [0u16; BATCH_CAPACITY];
                if self.checker.check_batch(&mut batch, &mut v) {
                    ctx.push(0, batch);
                } else {
                    let n = batch.len();
                    ctx.push_by_verdict(batch, &v[..n], DROP);
                }
            }

            #[inline]
            fn pull(&mut self, port: Port, max: usize, ctx: &mut Ctx<'_>) -> Option<Batch> {
                let mut batch = ctx.pull(0, max)?;
                let mut v = [0u16; BATCH_CAPACITY];
                if self.checker.check_batch(&mut batch, &mut v) && port == 0 {
                    return Some(batch);
                }
                let n = batch.len();
                // bad packets leave on output 1 (push) as the good ones are
                // pulled (Click's a/ah)
                ctx.split_pulled(batch, &v[..n], DROP, port)
            }

            fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
                self.checker.drops.initialize(ctx)
            }

            fn handlers(&self) -> &'static [Handler] {
                self.checker.drops.handlers()
            }

            fn read_handler(&self, name: &str) -> Option<String> {
                self.checker.drops.read_handler(name)
            }
        }

        impl $t {
            /// Checks one packet as the element does: `Some(0)` if good
            /// (then annotated and trimmed), else where it goes (`Some(1)`,
            /// or `None`: dropped), counted in `drops`.
            pub fn check(&mut self, p: &mut Packet) -> Option<Port> {
                self.checker.process(p)
            }
        }
    };
}

checker_element!(CheckIPHeader);
checker_element!(CheckIPHeader2);

#[cfg(test)]
mod tests {
    use super::{ones_sum_all_ones, sum_words_ne, AddrSet};
    use crate::ip::common::{checksum_ok, internet_checksum};

    #[test]
    fn the_word_sum_agrees_with_the_checksum() {
        let mut x = 0x1234_5678_9abc_def1u64;
        for i in 0..200_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut h = [0u8; 20];
            for (j, b) in h.iter_mut().enumerate() {
                *b = (x >> ((j * 7) % 57)) as u8;
            }
            h[0] = 0x45;
            // every other header gets a valid checksum, some all ones
            if i % 2 == 0 {
                h[10..12].fill(0);
                let c = internet_checksum(&h);
                h[10..12].copy_from_slice(&c.to_be_bytes());
            }
            if i % 97 == 0 {
                h[1..].fill(0xff);
            }
            assert_eq!(
                ones_sum_all_ones(sum_words_ne(&h)),
                checksum_ok(&h, 0),
                "{h:02x?}"
            );
        }
    }

    #[test]
    fn the_multiply_test_finds_the_multiples_of_0xffff() {
        // Small sums, and sums about multiples of 2^32.
        let edges = (1..=5u64).flat_map(|k| {
            let top = k << 32;
            (top - 0x2_0000..top + 0x2_0000).step_by(7)
        });
        for sum in (1..0x30_0000u64).chain(edges) {
            assert_eq!(ones_sum_all_ones(sum), sum % 0xffff == 0, "{sum:#x}");
        }
        // sums folded to 64 bits reach u64::MAX, itself a multiple
        assert!(ones_sum_all_ones(u64::MAX));
        assert!(!ones_sum_all_ones(u64::MAX - 1));
        for k in [1u64, 2, 0xffff, 0x1_0001, 0x5_0000, u64::MAX / 0xffff - 1] {
            assert!(ones_sum_all_ones(k * 0xffff));
            assert!(!ones_sum_all_ones(k * 0xffff + 1));
            assert!(!ones_sum_all_ones(k * 0xffff - 1));
        }
    }

    #[test]
    fn address_sets_of_every_size_answer_as_a_scan() {
        for n in 0..12u32 {
            let list: Vec<u32> = (0..n).map(|i| 0x0a00_0001 + i * 7).collect();
            let set = AddrSet::new(list.clone());
            assert_eq!(set.is_empty(), n == 0);
            for a in (0x0a00_0000..0x0a00_0000 + 100).chain([0, u32::MAX]) {
                assert_eq!(set.contains(a), list.contains(&a), "{n} addresses, {a:#x}");
            }
        }
    }
}
