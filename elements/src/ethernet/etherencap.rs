//! EtherEncap and EtherRewrite: a fixed Ethernet header, prepended or
//! written over the one a packet has.

use click_engine::args::{Args, EtherAddr, FromArg};
use click_engine::packet::PacketError;
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port, Threads,
};

use super::arp::ETHER_LEN;

/// The reason a packet that could not grow or be made unique is dropped.
pub(crate) fn packet_error_reason(e: PacketError) -> &'static str {
    match e {
        PacketError::PoolExhausted => "packet pool exhausted",
        PacketError::TooLong { .. } => "too long for an Ethernet header: past the longest packet",
        _ => "packet cannot take an Ethernet header",
    }
}

/// Prepends 14 bytes to `p` and marks them as its MAC header, with the
/// network header right after them (Click's `push_mac_header`): a
/// network header already marked there is kept as it is.
#[inline]
pub(crate) fn push_ether_header(p: &mut Packet) -> Result<&mut [u8; ETHER_LEN], PacketError> {
    p.push(ETHER_LEN)?;
    // Offsets inside the data just pushed: these cannot fail.
    let _ = p.set_mac_header(0);
    if p.network_header_offset() != Some(ETHER_LEN as isize) {
        let rest = p.len() - ETHER_LEN;
        let _ = p.set_network_header(ETHER_LEN, rest);
    }
    let d = p.data_mut()?;
    Ok((&mut d[..ETHER_LEN])
        .try_into()
        .expect("14 bytes were pushed"))
}

fn parse_ether(name: &str, value: &str) -> Result<[u8; 6], String> {
    EtherAddr::from_arg(value.trim())
        .map(|a| a.0)
        .map_err(|e| format!("{}: {e}", name.to_uppercase()))
}

/// `EtherEncap(ETHERTYPE, SRC, DST)`: prepends to each packet an Ethernet
/// header with type ETHERTYPE (a number in host order: `0x0800` for IP),
/// source SRC and destination DST, and marks it as the packet's MAC
/// header (the network header follows it). For IP packets, ARPQuerier
/// finds the destination instead. A packet that cannot grow (pool
/// exhausted) is dropped, counted under that reason.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `src`, `dst`, `ethertype` (read/write; a write changes the
///   configuration, as Click's keyword handlers do); `etht`, Click's
///   deprecated name for `ethertype`.
#[derive(Debug)]
pub struct EtherEncap {
    /// The header, as written into packets.
    header: [u8; ETHER_LEN],
}

impl ElementClass for EtherEncap {
    const CLASS: &'static str = "EtherEncap";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let ethertype: u16 = args.read_mp("ETHERTYPE")?;
        let src: EtherAddr = args.read_mp("SRC")?;
        let dst: EtherAddr = args.read_mp("DST")?;
        let mut header = [0; ETHER_LEN];
        header[..6].copy_from_slice(&dst.0);
        header[6..12].copy_from_slice(&src.0);
        header[12..].copy_from_slice(&ethertype.to_be_bytes());
        Ok(EtherEncap { header })
    }
}

impl PacketElement for EtherEncap {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        match push_ether_header(p) {
            Ok(h) => {
                *h = self.header;
                Some(0)
            }
            Err(e) => {
                ctx.drop_because(packet_error_reason(e));
                None
            }
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::keyword("src", "SRC"),
            Handler::keyword("dst", "DST"),
            Handler::keyword("ethertype", "ETHERTYPE"),
            Handler::keyword("etht", "ETHERTYPE"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        let h = &self.header;
        Some(match name {
            "src" => EtherAddr(h[6..12].try_into().ok()?).to_string(),
            "dst" => EtherAddr(h[..6].try_into().ok()?).to_string(),
            "ethertype" | "etht" => u16::from_be_bytes([h[12], h[13]]).to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "src" => self.header[6..12].copy_from_slice(&parse_ether(name, value)?),
            "dst" => self.header[..6].copy_from_slice(&parse_ether(name, value)?),
            "ethertype" | "etht" => {
                let t: u16 = Args::new(value).read_mp("ETHERTYPE")?;
                self.header[12..].copy_from_slice(&t.to_be_bytes());
            }
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}

/// `EtherRewrite(SRC, DST)`: writes source SRC and destination DST over
/// the Ethernet header of each packet, leaving its type alone: for a link
/// with a single next hop. The header is where the packet's MAC header
/// is marked (which may lie before its data, after a Strip), or at the
/// start of the data when none is marked (where Click would crash). A
/// packet too short to hold the 12 bytes there is dropped, as is one that
/// cannot be made unique (pool exhausted).
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `src`, `dst` (read/write, changing the configuration).
#[derive(Debug)]
pub struct EtherRewrite {
    /// Destination, then source.
    addrs: [u8; 12],
}

impl ElementClass for EtherRewrite {
    const CLASS: &'static str = "EtherRewrite";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let src: EtherAddr = args.read_mp("SRC")?;
        let dst: EtherAddr = args.read_mp("DST")?;
        let mut addrs = [0; 12];
        addrs[..6].copy_from_slice(&dst.0);
        addrs[6..].copy_from_slice(&src.0);
        Ok(EtherRewrite { addrs })
    }
}

impl PacketElement for EtherRewrite {
    #[inline]
    fn process(&mut self, p: &mut Packet, ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let mac = p.mac_header_offset().unwrap_or(0);
        let written = if mac >= 0 {
            let at = mac as usize;
            if at + 12 > p.len() {
                ctx.drop_because("too short for an Ethernet header");
                return None;
            }
            p.data_mut()
                .map(|d| d[at..at + 12].copy_from_slice(&self.addrs))
        } else {
            // The header lies in the headroom (a Strip moved the data on).
            let at = p.headroom() as isize + mac;
            let end = at + 12;
            if at < 0 || end > (p.headroom() + p.len()) as isize {
                ctx.drop_because("too short for an Ethernet header");
                return None;
            }
            p.buffer_mut()
                .map(|b| b[at as usize..end as usize].copy_from_slice(&self.addrs))
        };
        match written {
            Ok(()) => Some(0),
            Err(e) => {
                ctx.drop_because(packet_error_reason(e));
                None
            }
        }
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::keyword("src", "SRC"),
            Handler::keyword("dst", "DST"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "src" => EtherAddr(self.addrs[6..].try_into().ok()?).to_string(),
            "dst" => EtherAddr(self.addrs[..6].try_into().ok()?).to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "src" => self.addrs[6..].copy_from_slice(&parse_ether(name, value)?),
            "dst" => self.addrs[..6].copy_from_slice(&parse_ether(name, value)?),
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
