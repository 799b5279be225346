//! ARPResponder (answers ARP requests for addresses it stands for) and
//! ARPFaker (sends an unasked ARP reply now and then).

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use click_engine::args::{
    split_args, split_words, ArgContext, Args, EtherAddr, FromArg, Ipv4Prefix, NoContext,
};
use click_engine::{
    ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, Packet, PacketCtx, PacketElement,
    Port, Threads, Timer, PUSH,
};

use super::arp::{make_response, ArpFields, ARPOP_REQUEST};

/// One proxy entry: the addresses `dst`/`mask` are at `eth`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    dst: u32,
    mask: u32,
    eth: [u8; 6],
}

impl Entry {
    fn prefix(&self) -> Ipv4Prefix {
        Ipv4Prefix {
            addr: Ipv4Addr::from(self.dst),
            mask: Ipv4Addr::from(self.mask),
        }
    }
}

/// Adds the entries of one argument, `IP/MASK [IP/MASK...] ETH`, to `v`
/// (Click's `ARPResponder::add`). A word that is both an address and an
/// Ethernet address (an AddressInfo name with both) gives the prefix, and
/// also the Ethernet address when no other word does.
fn add_entries(v: &mut Vec<Entry>, arg: &str, names: &dyn ArgContext) -> Result<(), String> {
    let words = split_words(arg);
    let mut added = Vec::new();
    let mut eth: Option<[u8; 6]> = None;
    for w in &words {
        if let Ok(p) = Ipv4Prefix::from_arg_in(w, names) {
            let mask = u32::from(p.mask);
            added.push(Entry {
                dst: u32::from(p.addr) & mask,
                mask,
                eth: [0; 6],
            });
        } else if let Ok(e) = EtherAddr::from_arg_in(w, names) {
            if eth.is_some() {
                return Err("more than one ETH".into());
            }
            eth = Some(e.0);
        } else {
            return Err("expected IP/MASK ETH".into());
        }
    }
    if eth.is_none() {
        eth = words
            .iter()
            .find_map(|w| EtherAddr::from_arg_in(w, names).ok())
            .map(|e| e.0);
    }
    if added.is_empty() {
        return Err("missing IP/MASK".into());
    }
    let eth = eth.ok_or("missing ETH")?;
    v.extend(added.into_iter().map(|e| Entry { eth, ..e }));
    Ok(())
}

/// Click's order of entries (`entry_compare`): a prefix inside another
/// comes before it; equal prefixes keep the later one first; others keep
/// their order. The comparison is not a total order, so this is an
/// insertion sort (Rust's sorts may refuse such comparisons). Duplicates
/// are then removed, keeping the first (the later given), and named in
/// `duplicates`.
fn normalize(v: &mut Vec<Entry>, duplicates: &mut Vec<String>) {
    let mut order: Vec<usize> = (0..v.len()).collect();
    let cmp = |a: usize, b: usize| -> std::cmp::Ordering {
        let (ea, eb) = (&v[a], &v[b]);
        if ea.dst == eb.dst && ea.mask == eb.mask {
            b.cmp(&a)
        } else if ea.dst & eb.mask == eb.dst {
            std::cmp::Ordering::Less
        } else if eb.dst & ea.mask == ea.dst {
            std::cmp::Ordering::Greater
        } else {
            a.cmp(&b)
        }
    };
    for i in 1..order.len() {
        let mut j = i;
        while j > 0 && cmp(order[j - 1], order[j]) == std::cmp::Ordering::Greater {
            order.swap(j - 1, j);
            j -= 1;
        }
    }
    let mut out: Vec<Entry> = Vec::with_capacity(v.len());
    for i in order {
        let e = v[i];
        match out.last() {
            Some(l) if l.dst == e.dst && l.mask == e.mask => {
                duplicates.push(e.prefix().to_string());
            }
            _ => out.push(e),
        }
    }
    *v = out;
}

/// Parses a whole configuration (one argument per entry group), as
/// Click's `configure`: every argument's error is reported.
fn parse_config(
    args: &[String],
    names: &dyn ArgContext,
) -> Result<(Vec<Entry>, Vec<String>), String> {
    let mut v = Vec::new();
    let mut errors = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if let Err(e) = add_entries(&mut v, arg, names) {
            errors.push(format!("argument {i}: {e}"));
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    let mut duplicates = Vec::new();
    normalize(&mut v, &mut duplicates);
    Ok((v, duplicates))
}

/// `ARPResponder(IP/MASK [IP/MASK...] ETH, IP2/MASK2 ETH2, ...)`: answers
/// ARP requests (with their Ethernet header) for the addresses it stands
/// for. Each argument gives one or more IP prefixes and the Ethernet
/// address that answers for them (a bare IP address is a /32); several
/// arguments give several answers, so one ARPResponder does proxy ARP for
/// whole networks as well as replies for the router's own addresses. An
/// AddressInfo name with both kinds of address stands for both
/// (`ARPResponder(NAME)`; `NAME:ipnet` takes its network instead).
///
/// A request (Ethernet type ARP, hardware Ethernet, protocol IP,
/// operation request, at least 42 bytes) whose target address matches an
/// entry (the most specific; entries are kept with more specific prefixes
/// first) is answered: the reply goes to output 0, from the entry's
/// Ethernet address to the asker, with the query's VLAN TCI annotation
/// and no timestamp, and the request is freed. Any other packet goes to
/// output 1 if there is one, else it is dropped. Two entries for one
/// prefix keep the later, with a warning.
///
/// * Ports: 1 input, 1 or 2 outputs; input and output 0 agnostic, output
///   1 push.
/// * Handlers: `table` (read: one `IP/MASK ETH` line per entry, in lookup
///   order); `lookup IP` (read with a parameter: the Ethernet address
///   answering for IP, or nothing); `add` (write: `IP/MASK [IP/MASK...]
///   ETH`); `remove` (write: `IP/MASK`, an error if there is no such
///   entry); `config` (write: a new configuration, Click's live
///   reconfiguration).
pub struct ARPResponder {
    entries: Vec<Entry>,
    has_port1: bool,
    names: Option<Arc<dyn ArgContext>>,
}

impl ARPResponder {
    fn names(&self) -> &dyn ArgContext {
        match &self.names {
            Some(n) => n.as_ref(),
            None => &NoContext,
        }
    }

    /// The Ethernet address answering for `ip`: the first entry matching.
    #[inline]
    fn lookup(&self, ip: u32) -> Option<&[u8; 6]> {
        self.entries
            .iter()
            .find(|e| ip & e.mask == e.dst)
            .map(|e| &e.eth)
    }
}

impl ElementClass for ARPResponder {
    const CLASS: &'static str = "ARPResponder";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, ctx: &ConfigureCtx) -> Result<Self, String> {
        let rest = args.rest();
        let (entries, duplicates) = parse_config(&rest, args.context())?;
        for d in duplicates {
            eprintln!("{}: warning: multiple entries for {d}", ctx.name);
        }
        Ok(ARPResponder {
            entries,
            has_port1: ctx.noutputs() >= 2,
            names: args.shared_context(),
        })
    }
}

impl PacketElement for ARPResponder {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let reply = match ArpFields::read(p.data()) {
            Some(f) if f.is_ip_over_ether(ARPOP_REQUEST) => self
                .lookup(u32::from_be_bytes(f.tpa))
                .map(|eth| make_response(&f.sha, &f.spa, eth, &f.tpa, p.anno().vlan_tci())),
            _ => None,
        };
        match reply {
            Some(Ok(r)) => {
                *p = r;
                Some(0)
            }
            Some(Err(_)) => {
                ctx.drop_because("packet pool exhausted");
                None
            }
            None => self.has_port1.then_some(1),
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("table"),
            Handler::read("lookup"),
            Handler::write("add"),
            Handler::write("remove"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        let (handler, param) = click_engine::args::pop_word(name);
        match handler.as_str() {
            "table" => Some(self.entries.iter().fold(String::new(), |mut s, e| {
                let _ = writeln!(s, "{} {}", e.prefix(), EtherAddr(e.eth));
                s
            })),
            "lookup" => {
                let ip = Ipv4Addr::from_arg_in(param.trim(), self.names()).ok()?;
                Some(
                    self.lookup(u32::from(ip))
                        .map(|e| EtherAddr(*e).to_string())
                        .unwrap_or_default(),
                )
            }
            _ => None,
        }
    }

    fn write_handler(&mut self, name: &str, value: &str, ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "add" => {
                let mut v = self.entries.clone();
                add_entries(&mut v, value, self.names())?;
                normalize(&mut v, &mut Vec::new());
                self.entries = v;
            }
            "remove" => {
                let p = Ipv4Prefix::from_arg_in(value.trim(), self.names())
                    .map_err(|_| "expected IP/MASK".to_string())?;
                let mask = u32::from(p.mask);
                let dst = u32::from(p.addr) & mask;
                let at = self
                    .entries
                    .iter()
                    .position(|e| e.dst == dst && e.mask == mask)
                    .ok_or_else(|| {
                        format!(
                            "{} not found",
                            Ipv4Prefix {
                                addr: dst.into(),
                                mask: p.mask
                            }
                        )
                    })?;
                self.entries.remove(at);
            }
            "config" => {
                let (entries, duplicates) = parse_config(&split_args(value), self.names())?;
                if !duplicates.is_empty() {
                    eprintln!("While calling '{}.config {}':", ctx.name(), value.trim());
                    for d in duplicates {
                        eprintln!("  warning: multiple entries for {d}");
                    }
                }
                self.entries = entries;
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}

/// `ARPFaker(DSTIP, DSTETH, SRCIP, SRCETH)`: every 10 seconds (the first
/// time one second after the router starts), sends an ARP reply to
/// DSTIP at DSTETH claiming that SRCIP is at SRCETH, Ethernet header
/// included. ARPResponder is usually what you want instead.
///
/// * Ports: no inputs, 1 push output.
/// * Handlers: none beyond the defaults.
pub struct ARPFaker {
    dst_ip: [u8; 4],
    dst_eth: [u8; 6],
    src_ip: [u8; 4],
    src_eth: [u8; 6],
}

impl ElementClass for ARPFaker {
    const CLASS: &'static str = "ARPFaker";
    const PORT_COUNT: &'static str = "0/1";
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let dst_ip: Ipv4Addr = args.read_mp("DSTIP")?;
        let dst_eth: EtherAddr = args.read_mp("DSTETH")?;
        let src_ip: Ipv4Addr = args.read_mp("SRCIP")?;
        let src_eth: EtherAddr = args.read_mp("SRCETH")?;
        Ok(ARPFaker {
            dst_ip: dst_ip.octets(),
            dst_eth: dst_eth.0,
            src_ip: src_ip.octets(),
            src_eth: src_eth.0,
        })
    }
}

impl Element for ARPFaker {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        ctx.schedule_after(Duration::from_secs(1));
        Ok(())
    }

    fn run_timer(&mut self, _timer: Timer, ctx: &mut Ctx<'_>) {
        match make_response(&self.dst_eth, &self.dst_ip, &self.src_eth, &self.src_ip, 0) {
            Ok(p) => {
                let mut b = click_engine::Batch::new();
                b.push(p);
                ctx.push(0, b);
            }
            Err(_) => ctx.count_drops_for(1, "packet pool exhausted"),
        }
        ctx.schedule_after(Duration::from_secs(10));
    }
}
