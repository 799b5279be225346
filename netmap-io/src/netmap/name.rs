//! netmap port names, as libnetmap's `nmport_open` reads them
//! (`libnetmap/nmreq.c`: `nmreq_header_decode`, `nmreq_register_decode`),
//! turned into what the legacy `NIOCREGIF` takes: the kernel's name (no
//! `netmap:` prefix: the kernel does not strip it), a mode, a ring, flags
//! and a memory region.
//!
//! * `netmap:eth0`: every hardware ring pair; `netmap:eth0-2`: ring pair 2;
//!   `netmap:eth0^`: the host rings (`^1`: host ring pair 1);
//!   `netmap:eth0*`: hardware and host rings.
//! * `vale0:p`: port `p` of VALE switch `vale0` (made if it does not exist).
//! * `netmap:x{1`, `netmap:x}1`: the two ends of pipe 1 of port `x`
//!   (sharing `x`'s memory); a bare `x{1` means the same.
//! * Suffixes: `/x` exclusive use, `@N` memory region N (`vale0:p@1`: a
//!   VALE port in the global region, so that it can swap buffers with the
//!   other ports of region 1).

use std::fmt;

use super::abi::{
    NETMAP_RING_MASK, NR_EXCLUSIVE, NR_REG_ALL_NIC, NR_REG_NIC_SW, NR_REG_ONE_NIC, NR_REG_ONE_SW,
    NR_REG_SW,
};

/// A parsed netmap port name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortName {
    /// The name as given (with `netmap:` added to a bare one).
    pub spec: String,
    /// The kernel's name for the port (`eth0`, `vale0:p`, `x{1`).
    pub kernel_name: String,
    /// `NR_REG_*`.
    pub mode: u32,
    /// The ring of `NR_REG_ONE_NIC` / `NR_REG_ONE_SW`.
    pub ringid: u16,
    /// `NR_EXCLUSIVE` if asked for.
    pub flags: u32,
    /// The memory region asked for (0: the kernel's choice).
    pub mem_id: u16,
}

fn is_ident(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether `name` names a netmap port by its prefix (`netmap:`, `vale`).
pub fn has_netmap_prefix(name: &str) -> bool {
    name.starts_with("netmap:") || (name.starts_with("vale") && name.contains(':'))
}

impl PortName {
    /// Parses `name`; a name without `netmap:` or `valeX:` is a device
    /// (or pipe) name, taken as `netmap:NAME`.
    pub fn parse(name: &str) -> Result<PortName, String> {
        let err = |what: String| Err(format!("netmap port '{name}': {what}"));
        let (spec, kernel_start, rest) = if let Some(r) = name.strip_prefix("netmap:") {
            (name.to_string(), 0, r)
        } else if name.starts_with("vale") && name.contains(':') {
            let colon = name.find(':').expect("checked");
            if !is_ident(&name[4..colon]) {
                return err(format!("bad switch name '{}'", &name[..colon]));
            }
            (name.to_string(), usize::MAX, &name[colon + 1..])
        } else if name.contains(':') {
            return err("unknown prefix (netmap: or valeX:)".into());
        } else {
            (format!("netmap:{name}"), 0, name)
        };
        // The port's name runs to the first suffix character.
        let end = rest.find(['-', '*', '^', '/', '@']).unwrap_or(rest.len());
        let base = &rest[..end];
        if base.is_empty() {
            return err("empty port name".into());
        }
        if let Some(p) = base.find(['{', '}']) {
            let id = &base[p + 1..];
            if id.is_empty() || !is_ident(id) {
                return err(format!("bad pipe name '{id}'"));
            }
            if base[..p].is_empty() {
                return err("a pipe needs its port's name before '{' or '}'".into());
            }
        }
        let kernel_name = if kernel_start == usize::MAX {
            // A VALE port keeps its switch: `vale0:p`.
            let colon = name.find(':').expect("checked");
            format!("{}{}", &name[..=colon], base)
        } else {
            base.to_string()
        };
        if kernel_name.len() > 15 {
            return err(format!(
                "'{kernel_name}' is longer than the 15 bytes netmap's legacy registration takes"
            ));
        }
        let mut p = PortName {
            spec,
            kernel_name,
            mode: NR_REG_ALL_NIC,
            ringid: 0,
            flags: 0,
            mem_id: 0,
        };
        let mut s = &rest[end..];
        let number = |s: &str| -> (Option<u32>, usize) {
            let n = s.bytes().take_while(u8::is_ascii_digit).count();
            (s[..n].parse().ok(), n)
        };
        // Ring selection first, then flags, then the memory region.
        match s.as_bytes().first() {
            Some(b'^') => {
                let (k, n) = number(&s[1..]);
                match k {
                    Some(k) => {
                        p.mode = NR_REG_ONE_SW;
                        p.ringid = ring_number(k, name)?;
                    }
                    None => p.mode = NR_REG_SW,
                }
                s = &s[1 + n..];
            }
            Some(b'*') => {
                p.mode = NR_REG_NIC_SW;
                s = &s[1..];
            }
            Some(b'-') => {
                let (k, n) = number(&s[1..]);
                let Some(k) = k else {
                    return err("a number must follow '-'".into());
                };
                p.mode = NR_REG_ONE_NIC;
                p.ringid = ring_number(k, name)?;
                s = &s[1 + n..];
            }
            _ => {}
        }
        if let Some(f) = s.strip_prefix('/') {
            let n = f.find('@').unwrap_or(f.len());
            if n == 0 {
                return err("empty flags after '/'".into());
            }
            for c in f[..n].chars() {
                match c {
                    'x' => p.flags |= NR_EXCLUSIVE,
                    'R' | 'T' => {
                        return err(format!(
                            "flag '{c}': receivers bind only RX rings and senders only TX rings already"
                        ))
                    }
                    _ => return err(format!("flag '{c}' is not supported (only x)")),
                }
            }
            s = &f[n..];
        }
        if let Some(m) = s.strip_prefix('@') {
            let (k, n) = number(m);
            match k {
                Some(k) if k > 0 && k <= u16::MAX as u32 && n == m.len() => p.mem_id = k as u16,
                _ => return err(format!("bad memory region '@{m}'")),
            }
            s = "";
        }
        if !s.is_empty() {
            return err(format!("unexpected '{s}'"));
        }
        Ok(p)
    }

    /// The name for queue `queue` of `n_queues` (FromDevice's QUEUE and
    /// N_QUEUES): with several queues and no ring chosen in the name,
    /// hardware ring pair `queue`.
    pub fn for_queue(mut self, queue: u32, n_queues: u32) -> Result<PortName, String> {
        if n_queues > 1 || queue > 0 {
            if self.mode != NR_REG_ALL_NIC {
                return Err(format!(
                    "{}: QUEUE/N_QUEUES and a ring in the name both choose the ring",
                    self.spec
                ));
            }
            self.mode = NR_REG_ONE_NIC;
            self.ringid = ring_number(queue, &self.spec)?;
        }
        Ok(self)
    }

    /// Whether this is a VALE port.
    pub fn is_vale(&self) -> bool {
        self.kernel_name.starts_with("vale") && self.kernel_name.contains(':')
    }

    /// Whether this is a pipe end.
    pub fn is_pipe(&self) -> bool {
        self.kernel_name.contains(['{', '}'])
    }
}

fn ring_number(k: u32, name: &str) -> Result<u16, String> {
    if k >= NETMAP_RING_MASK as u32 {
        return Err(format!(
            "netmap port '{name}': ring {k} out of range [0, {NETMAP_RING_MASK})"
        ));
    }
    Ok(k as u16)
}

impl fmt::Display for PortName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PortName {
        PortName::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn names_nm_open_takes() {
        let a = p("netmap:eth0");
        assert_eq!(
            (a.kernel_name.as_str(), a.mode, a.ringid),
            ("eth0", NR_REG_ALL_NIC, 0)
        );
        let b = p("netmap:eth0-2");
        assert_eq!(
            (b.kernel_name.as_str(), b.mode, b.ringid),
            ("eth0", NR_REG_ONE_NIC, 2)
        );
        let c = p("netmap:eth0^");
        assert_eq!((c.kernel_name.as_str(), c.mode), ("eth0", NR_REG_SW));
        let c1 = p("netmap:eth0^1");
        assert_eq!((c1.mode, c1.ringid), (NR_REG_ONE_SW, 1));
        let d = p("netmap:eth0*");
        assert_eq!(d.mode, NR_REG_NIC_SW);
        let v = p("vale0:p");
        assert_eq!(
            (v.kernel_name.as_str(), v.mode),
            ("vale0:p", NR_REG_ALL_NIC)
        );
        assert!(v.is_vale() && !v.is_pipe());
        let v1 = p("vale:p@1");
        assert_eq!((v1.kernel_name.as_str(), v1.mem_id), ("vale:p", 1));
        let m = p("netmap:x{1");
        assert_eq!((m.kernel_name.as_str(), m.mode), ("x{1", NR_REG_ALL_NIC));
        assert!(m.is_pipe());
        let s = p("x}1");
        assert_eq!(s.kernel_name, "x}1");
        assert_eq!(s.spec, "netmap:x}1");
        let e = p("eth1");
        assert_eq!(
            (e.spec.as_str(), e.kernel_name.as_str()),
            ("netmap:eth1", "eth1")
        );
        let x = p("netmap:eth0-1/x@3");
        assert_eq!(
            (x.mode, x.ringid, x.flags, x.mem_id),
            (NR_REG_ONE_NIC, 1, NR_EXCLUSIVE, 3)
        );
        assert!(has_netmap_prefix("netmap:x") && has_netmap_prefix("vale1:a"));
        assert!(!has_netmap_prefix("eth0") && !has_netmap_prefix("valeport"));
    }

    #[test]
    fn bad_names() {
        for bad in [
            "netmap:",
            "netmap:-1",
            "netmap:eth0-",
            "netmap:eth0-x",
            "netmap:x{",
            "netmap:{1",
            "netmap:x{a-b",
            "netmap:eth0/q",
            "netmap:eth0/R",
            "netmap:eth0@",
            "netmap:eth0@0",
            "netmap:eth0@conf:x",
            "netmap:eth0-1-2",
            "vale-0:p",
            "pcap:eth0",
            "netmap:averyveryverylongname",
            "netmap:eth0-4095",
        ] {
            assert!(PortName::parse(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn queues_choose_a_ring() {
        let q = p("eth0").for_queue(1, 2).unwrap();
        assert_eq!((q.mode, q.ringid), (NR_REG_ONE_NIC, 1));
        let all = p("eth0").for_queue(0, 1).unwrap();
        assert_eq!(all.mode, NR_REG_ALL_NIC);
        assert!(p("eth0-1").for_queue(1, 2).is_err());
    }
}
