//! ARPPrint: writes a tcpdump-like line about each ARP packet.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, InitCtx, Packet, PacketCtx, PacketElement, Port,
    Threads,
};

use crate::standard::{push_timestamp, Output};

/// `ARPPrint([LABEL, *keywords* TIMESTAMP, ETHER, ACTIVE, OUTFILE])`:
/// passes packets through, writing a line about each ARP packet (its
/// network header marked at the ARP header) to standard error or OUTFILE,
/// in Click's text:
///
/// ```text
/// LABEL: TIMESTAMP: [SRC > DST: ]arp who-has TPA [(THA) ]tell SPA
/// LABEL: TIMESTAMP: arp reply SPA is-at SHA
/// ```
///
/// and `rarp who-is`/`rarp reply`, `invarp who-is`/`invarp reply`,
/// `arp-#OP` for other operations, `trailer-` before trailer protocol
/// packets, `hardware #N` after those of another hardware type,
/// `truncated-arp (LEN)` for short ones. Ethernet addresses are printed
/// as Click does, in upper-case hex with dashes. TIMESTAMP (default true)
/// prints the timestamp; ETHER the Ethernet source and destination, when
/// the packet has a 14-byte MAC header before its ARP header. As Click's,
/// an ARP packet for a protocol other than IP (or with hardware address
/// length 0) prints nothing.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `active` (read/write).
pub struct ARPPrint {
    label: String,
    timestamp: bool,
    ether: bool,
    active: bool,
    outfile: Option<String>,
    output: Output,
    line: String,
}

impl ElementClass for ARPPrint {
    const CLASS: &'static str = "ARPPrint";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let label: String = args.read_p("LABEL")?.unwrap_or_default();
        let timestamp = args.read("TIMESTAMP")?.unwrap_or(true);
        let ether = args.read("ETHER")?.unwrap_or(false);
        let active = args.read("ACTIVE")?.unwrap_or(true);
        let outfile: Option<String> = args.read("OUTFILE")?;
        Ok(ARPPrint {
            line: String::with_capacity(label.len() + 120),
            label,
            timestamp,
            ether,
            active,
            outfile,
            output: Output::Stderr,
        })
    }
}

/// Click's `EtherAddress` text: `00-1A-2B-3C-4D-5E`.
fn push_ether(line: &mut String, a: &[u8]) {
    for (i, b) in a.iter().take(6).enumerate() {
        if i > 0 {
            line.push('-');
        }
        let _ = write!(line, "{b:02X}");
    }
}

fn ip(b: &[u8]) -> Ipv4Addr {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    Ipv4Addr::from(a)
}

impl ARPPrint {
    /// Formats the line for `p` into `self.line`; false when nothing is
    /// printed (no network header; a protocol other than IP).
    fn format(&mut self, p: &Packet) -> bool {
        let Some(arp) = p.network_header() else {
            return false;
        };
        let line = &mut self.line;
        line.clear();
        if !self.label.is_empty() {
            line.push_str(&self.label);
            line.push_str(": ");
        }
        if self.timestamp {
            push_timestamp(line, p.anno().timestamp());
            line.push_str(": ");
        }
        if self.ether {
            let start = p.mac_header_offset().unwrap_or(0);
            let net = p.network_header_offset().unwrap_or(0);
            if start >= 0 && start + 14 <= net && start + 14 <= p.len() as isize {
                let eth = &p.data()[start as usize..start as usize + 14];
                push_ether(line, &eth[6..12]);
                line.push_str(" > ");
                push_ether(line, &eth[..6]);
                line.push_str(": ");
            }
        }
        // click_ether_arp: 8 bytes of header, then sha spa tha tpa.
        if arp.len() < 28 {
            let _ = write!(line, "truncated-arp ({})", arp.len());
            return true;
        }
        let hrd = u16::from_be_bytes([arp[0], arp[1]]);
        let pro = u16::from_be_bytes([arp[2], arp[3]]);
        let (hln, pln) = (arp[4], arp[5]);
        let op = u16::from_be_bytes([arp[6], arp[7]]);
        if (pro != 0x0800 && pro != 0x1000) || pln != 4 || hln == 0 {
            // Click builds this line, then returns before printing it.
            return false;
        }
        let (sha, spa, tha, tpa) = (&arp[8..14], &arp[14..18], &arp[18..24], &arp[24..28]);
        if pro == 0x1000 {
            line.push_str("trailer-");
        }
        match op {
            1 => {
                let _ = write!(line, "arp who-has {}", ip(tpa));
                // Click compares hln bytes of the target address with zero.
                let n = usize::from(hln).min(arp.len() - 18);
                if arp[18..18 + n].iter().any(|&b| b != 0) {
                    line.push_str(" (");
                    push_ether(line, tha);
                    line.push(')');
                }
                let _ = write!(line, " tell {}", ip(spa));
            }
            2 => {
                let _ = write!(line, "arp reply {} is-at ", ip(spa));
                push_ether(line, sha);
            }
            3 | 8 => {
                line.push_str(if op == 3 {
                    "rarp who-is "
                } else {
                    "invarp who-is "
                });
                push_ether(line, tha);
                line.push_str(" tell ");
                push_ether(line, sha);
            }
            4 | 9 => {
                line.push_str(if op == 4 {
                    "rarp reply "
                } else {
                    "invarp reply "
                });
                push_ether(line, tha);
                let _ = write!(line, " at {}", ip(tpa));
            }
            _ => {
                let _ = write!(line, "arp-#{op}");
            }
        }
        if hrd != 1 {
            let _ = write!(line, "hardware #{hrd}");
        }
        true
    }
}

impl PacketElement for ARPPrint {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        self.output = Output::open(self.outfile.as_deref(), ctx)?;
        Ok(())
    }

    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        if self.active && self.format(packet) {
            self.output.line(&self.line);
        }
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("active")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "active").then(|| self.active.to_string())
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

    fn cleanup(&mut self) {
        self.output.flush();
    }
}
