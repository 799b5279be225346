//! SetRandIPAddress: random destination annotations, to give route
//! lookups many destinations (tests, benchmarks).

use click_engine::args::{Args, Ipv4Prefix};
use click_engine::{ConfigureCtx, ElementClass, Packet, PacketCtx, PacketElement, Port, Threads};
use std::net::Ipv4Addr;

/// `SetRandIPAddress(PREFIX [, LIMIT])`: sets each packet's destination IP
/// annotation to a random address within PREFIX (`10.0.0.0/8`; a bare
/// address is a /32). With LIMIT, at most LIMIT distinct addresses are
/// drawn, at configuration, and each packet gets one of them.
///
/// As in Click, random numbers have 31 bits, so with `0.0.0.0/0` the top
/// bit of the address is always 0. Click draws from the C library's
/// `random()`; this draws from a xorshift generator with a fixed seed, so
/// runs repeat.
///
/// * Ports: 1 input, 1 output, agnostic.
#[derive(Debug)]
pub struct SetRandIPAddress {
    addr: u32,
    mask: u32,
    addrs: Vec<u32>,
    state: u64,
}

impl SetRandIPAddress {
    /// A random number of 31 bits, as Click's `click_random()`.
    #[inline]
    fn random(&mut self) -> u32 {
        // xorshift64*: fast, and plenty for spreading addresses.
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as u32
    }

    #[inline]
    fn pick(&mut self) -> u32 {
        (self.random() & !self.mask) | (self.addr & self.mask)
    }
}

impl ElementClass for SetRandIPAddress {
    const CLASS: &'static str = "SetRandIPAddress";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let prefix: Ipv4Prefix = args.read_mp("PREFIX")?;
        let limit: Option<i64> = args.read_p("LIMIT")?;
        let mut e = SetRandIPAddress {
            addr: u32::from(prefix.addr),
            mask: u32::from(prefix.mask),
            addrs: Vec::new(),
            state: 0x9e37_79b9_7f4a_7c15,
        };
        if let Some(n) = limit.filter(|&n| n > 0) {
            let n = usize::try_from(n).map_err(|_| "LIMIT too large")?;
            if n > 1 << 26 {
                return Err("LIMIT too large".into());
            }
            e.addrs = (0..n).map(|_| e.pick()).collect();
        }
        Ok(e)
    }
}

impl PacketElement for SetRandIPAddress {
    #[inline]
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let a = if self.addrs.is_empty() {
            self.pick()
        } else {
            // Click's click_random(0, max - 1).
            let i = (u64::from(self.random()) * self.addrs.len() as u64) >> 31;
            self.addrs[i as usize]
        };
        packet.anno_mut().set_dst_ip(Ipv4Addr::from(a));
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use click_engine::Harness;

    fn element(config: &str) -> SetRandIPAddress {
        let ctx = ConfigureCtx {
            name: "s",
            inputs: &[],
            outputs: &[],
        };
        SetRandIPAddress::configure(&mut Args::new(config), &ctx).unwrap()
    }

    fn dst(e: &mut SetRandIPAddress, h: &mut Harness) -> u32 {
        let mut p = Packet::from_slice(&[0; 20]).unwrap();
        h.with(|ctx| e.process(&mut p, ctx));
        u32::from(p.anno().dst_ip())
    }

    #[test]
    fn addresses_stay_in_the_prefix_and_vary() {
        let mut h = Harness::new("s");
        let mut e = element("10.1.0.0/16");
        let seen: std::collections::HashSet<u32> = (0..100).map(|_| dst(&mut e, &mut h)).collect();
        assert!(seen.iter().all(|a| a >> 16 == 0x0a01));
        assert!(seen.len() > 90);
        let mut e = element("0.0.0.0/0");
        assert!((0..100).all(|_| dst(&mut e, &mut h) >> 31 == 0));
    }

    #[test]
    fn limit_draws_a_few_addresses() {
        let mut h = Harness::new("s");
        let mut e = element("0.0.0.0/0, 4");
        let seen: std::collections::HashSet<u32> = (0..200).map(|_| dst(&mut e, &mut h)).collect();
        assert!(seen.len() <= 4 && seen.len() >= 2, "{seen:?}");
        let mut e = element("1.2.3.4");
        assert_eq!(dst(&mut e, &mut h), 0x0102_0304);
    }
}
