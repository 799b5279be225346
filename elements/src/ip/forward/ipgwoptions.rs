//! IPGWOptions: processes the IP options every router handles.

use std::net::Ipv4Addr;

use click_engine::args::Args;
use click_engine::packet::Timestamp;
use click_engine::{
    ConfigureCtx, ElementClass, Handler, InitCtx, Packet, PacketCtx, PacketElement, Port, Threads,
};

use super::hdr::{cksum, ip_at, put16, Counts, IPOPT_EOL, IPOPT_NOP, IPOPT_RR, IPOPT_TS};

/// `IPGWOptions(MYADDR [, OTHERADDRS])`: processes the IP options a
/// router handles for every packet it forwards (RFC 1812 4.2.2.2), on IP
/// packets whose IP header annotation is set. Record Route gets MYADDR
/// (the address of the interface the packet leaves by) in its next free
/// slot; Timestamp gets the milliseconds since midnight UT from the
/// router's clock (flag 0), MYADDR and the time (flag 1), or the time in
/// the slot naming MYADDR or one of OTHERADDRS (flag 3, pre-specified
/// addresses), and counts an overflow when it is full. Other options
/// (source routes included) are left alone. When it changes the header
/// it recomputes the header checksum; packets without options pass
/// untouched.
///
/// A malformed option (a length under 2 or past the header, a pointer
/// before its data, a full Record Route whose pointer is not at its end,
/// an unknown timestamp flag, an overflow counter that would pass 15)
/// sends the packet to output 1, or drops it when there is none, with its
/// ICMP parameter problem annotation set to the offset of the bad byte
/// within the IP header, for an `ICMPError(ADDR, parameterproblem)`;
/// `drops` counts them. As in Click, options processed before the bad one
/// keep their changes and the checksum is not recomputed. A packet whose
/// IP header is not marked, with fewer than 20 bytes, is dropped ("no IP
/// header").
///
/// * Ports: 1 input, 1 or 2 outputs (`a/ah`).
/// * Handlers: `drops` (read).
#[derive(Debug)]
pub struct IPGWOptions {
    preferred: [u8; 4],
    mine: Vec<[u8; 4]>,
    drops: Counts<1>,
}

impl ElementClass for IPGWOptions {
    const CLASS: &'static str = "IPGWOptions";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let me: Ipv4Addr = args.read_mp("MYADDR")?;
        let others: Vec<Ipv4Addr> = args.read_p("OTHERADDRS")?.unwrap_or_default();
        let mut mine: Vec<[u8; 4]> = others.iter().map(|a| a.octets()).collect();
        mine.push(me.octets());
        Ok(IPGWOptions {
            preferred: me.octets(),
            mine,
            drops: Counts::new(),
        })
    }
}

/// Milliseconds since midnight UT at `now`, as the Timestamp option
/// carries them.
pub(crate) fn ms_since_midnight(now: Timestamp) -> u32 {
    let ns = now.as_nanos();
    let (sec, msec) = (ns / 1_000_000_000, (ns % 1_000_000_000) / 1_000_000);
    ((sec % 86_400) * 1000 + msec) as u32
}

/// What became of a header's options.
pub(crate) enum Options {
    /// Nothing to do.
    Untouched,
    /// Changed: the checksum must be recomputed.
    Changed,
    /// A bad option at this offset into the IP header (changes made
    /// before it are kept).
    Bad(u8),
}

/// Processes the Record Route and Timestamp options of the header `h`
/// (`hlen` bytes of options-bearing header; `h` may hold a few bytes past
/// it, which Click reads and may write for options cut short), as
/// IPGWOptions and IPOutputCombo do. `flag3(addr)` says whether a
/// pre-specified timestamp address is one of the router's.
pub(crate) fn process_options(
    h: &mut [u8],
    hlen: usize,
    me: [u8; 4],
    ms: u32,
    flag3: impl Fn(&[u8]) -> bool,
) -> Options {
    let at = |h: &[u8], i: usize| h.get(i).copied().unwrap_or(0);
    let mut changed = false;
    let mut oi = 20;
    while oi < hlen {
        let ty = at(h, oi);
        if ty == IPOPT_NOP {
            oi += 1;
            continue;
        } else if ty == IPOPT_EOL {
            break;
        }
        let xlen = usize::from(at(h, oi + 1));
        if xlen < 2 || oi + xlen > hlen {
            return Options::Bad((oi + 1) as u8);
        } else if ty != IPOPT_RR && ty != IPOPT_TS {
            oi += xlen;
            continue;
        }
        // the pointer is 1-origin
        let p = usize::from(at(h, oi + 2)) as isize - 1;
        if ty == IPOPT_RR {
            if p >= 3 && p as usize + 4 <= xlen {
                let p = p as usize;
                h[oi + p..oi + p + 4].copy_from_slice(&me);
                h[oi + 2] = h[oi + 2].wrapping_add(4);
                changed = true;
            } else if p != xlen as isize {
                return Options::Bad((oi + 2) as u8);
            }
        } else {
            let flags = at(h, oi + 3);
            let (oflw, flg) = (flags >> 4, flags & 0x0f);
            let mut overflowed = false;
            if p < 4 {
                return Options::Bad((oi + 2) as u8);
            }
            let p = p as usize;
            if flg == 0 {
                if p + 4 <= xlen {
                    h[oi + p..oi + p + 4].copy_from_slice(&ms.to_be_bytes());
                    h[oi + 2] = h[oi + 2].wrapping_add(4);
                    changed = true;
                } else {
                    overflowed = true;
                }
            } else if flg == 1 {
                if p + 8 <= xlen {
                    h[oi + p..oi + p + 4].copy_from_slice(&me);
                    h[oi + p + 4..oi + p + 8].copy_from_slice(&ms.to_be_bytes());
                    h[oi + 2] = h[oi + 2].wrapping_add(8);
                    changed = true;
                } else {
                    overflowed = true;
                }
            } else if flg == 3 && p + 8 <= xlen {
                if flag3(&h[oi + p..oi + p + 4]) {
                    h[oi + p + 4..oi + p + 8].copy_from_slice(&ms.to_be_bytes());
                    h[oi + 2] = h[oi + 2].wrapping_add(8);
                    changed = true;
                }
            } else {
                return Options::Bad((oi + 3) as u8);
            }
            if overflowed {
                if oflw < 15 {
                    // the option may be too short to hold its flags byte:
                    // Click writes the byte after it all the same
                    if let Some(b) = h.get_mut(oi + 3) {
                        *b = ((oflw + 1) << 4) | flg;
                    }
                    changed = true;
                } else {
                    return Options::Bad((oi + 3) as u8);
                }
            }
        }
        oi += xlen;
    }
    if changed {
        Options::Changed
    } else {
        Options::Untouched
    }
}

/// The IP header of `p` at `off` (`hlen` bytes) and a few bytes past it
/// copied out, for option processing; how many bytes are real.
pub(crate) fn header_copy(p: &Packet, off: usize, hlen: usize) -> ([u8; 64], usize) {
    let mut buf = [0u8; 64];
    let data = &p.data()[off..];
    let n = data.len().min(hlen + 4).min(64);
    buf[..n].copy_from_slice(&data[..n]);
    (buf, n)
}

impl PacketElement for IPGWOptions {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let Some(off) = ip_at(p, 20) else {
            ctx.drop_because("no IP header");
            return None;
        };
        if p.data()[off] & 0x0f <= 5 {
            return Some(0);
        }
        self.options(p, off, ctx)
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

impl IPGWOptions {
    #[cold]
    #[inline(never)]
    fn options(&mut self, p: &mut Packet, off: usize, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        // Click walks as far as the header annotation's length
        let hlen = p.network_header_length().unwrap_or(0).min(60);
        let (mut buf, n) = header_copy(p, off, hlen);
        let hlen = hlen.min(n);
        let ms = ms_since_midnight(ctx.timestamp());
        let mine = &self.mine;
        let outcome = process_options(&mut buf, hlen, self.preferred, ms, |a| {
            mine.iter().any(|m| m[..] == *a)
        });
        if let Options::Untouched = outcome {
            return Some(0);
        }
        let Ok(data) = p.data_mut() else {
            ctx.drop_because("pool exhausted");
            return None;
        };
        let h = &mut data[off..off + n];
        h.copy_from_slice(&buf[..n]);
        match outcome {
            Options::Bad(at) => {
                self.drops.add(0, 1);
                p.anno_mut().set_icmp_paramprob(at);
                Some(1)
            }
            _ => {
                put16(h, 10, 0);
                let sum = cksum(&h[..hlen]);
                put16(h, 10, sum);
                Some(0)
            }
        }
    }
}
