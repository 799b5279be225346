//! Reading and writing packet traces: pcap (microsecond and nanosecond,
//! either byte order) and pcapng, through the `pcap-file` crate's slice
//! parsers, over a read-ahead block of our own.
//!
//! [`TraceReader`] reads the file in large blocks ([`READ_BLOCK`] bytes,
//! a few system calls per block, none per packet) and parses records out
//! of the block in place, so it always knows the byte offset of the next
//! record (FromDump's `filepos`), can seek, and can say where a trace
//! that ends in the middle of a record, or holds a corrupt record header,
//! stops being readable. [`TraceWriter`] writes pcap records into a large
//! buffer and hands whole blocks to the file.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use click_engine::packet::Timestamp;
use pcap_file::pcap::{PcapHeader, PcapParser, RawPcapPacket};
use pcap_file::pcapng::{Block, PcapNgParser};
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};

/// How much the reader asks the file for at a time.
pub(crate) const READ_BLOCK: usize = 1 << 20;
/// How much the writer gathers before writing.
pub(crate) const WRITE_BLOCK: usize = 1 << 18;
/// The longest record accepted: libpcap's largest snapshot length. A
/// record header claiming more is taken as corrupt.
pub(crate) const MAX_RECORD: usize = 262_144;

/// Click's link type names (`fakepcap.cc`), for ENCAP and the `encap`
/// handler.
const DLT_NAMES: &[(&str, u32)] = &[
    ("NULL", 0),
    ("IP", 101),
    ("ETHER", 1),
    ("FDDI", 10),
    ("ATM", 100),
    ("RFC1483", 100),
    ("ATM_RFC1483", 100),
    ("802_11", 105),
    ("802.11", 105),
    ("802_11_RADIO", 127),
    ("802.11_RADIO", 127),
    ("SLL", 113),
    ("AIRONET", 120),
    ("HDLC", 104),
    ("PPP_HDLC", 50),
    ("PPP", 9),
    ("SUNATM", 123),
    ("PRISM", 119),
];

/// Link types.
pub(crate) const DLT_NULL: u32 = 0;
pub(crate) const DLT_EN10MB: u32 = 1;
pub(crate) const DLT_RAW: u32 = 101;
/// OpenBSD's number for raw IP, which Click maps to [`DLT_RAW`].
const DLT_HOST_RAW: u32 = 12;
pub(crate) const DLT_LINUX_SLL: u32 = 113;
/// The `LINKTYPE_` number of raw IPv4 (pcapng writers use it).
const LINKTYPE_IPV4: u32 = 228;

/// Parses an ENCAP argument: one of Click's names or `#NUMBER`.
pub(crate) fn parse_dlt(text: &str) -> Option<u32> {
    if let Some((_, dlt)) = DLT_NAMES.iter().find(|(n, _)| *n == text) {
        return Some(*dlt);
    }
    let n: u32 = text.strip_prefix('#')?.parse().ok()?;
    (n < 0x7fff_ffff).then_some(n)
}

/// Click's name for a link type (`ETHER`), or `#NUMBER`.
pub(crate) fn unparse_dlt(dlt: u32) -> String {
    match DLT_NAMES.iter().find(|(_, d)| *d == dlt) {
        Some((name, _)) => (*name).to_string(),
        None => format!("#{dlt}"),
    }
}

/// Click's canonical link type: OpenBSD's raw IP is raw IP.
fn canonical_dlt(dlt: u32) -> u32 {
    match dlt {
        DLT_HOST_RAW | LINKTYPE_IPV4 => DLT_RAW,
        d => d,
    }
}

/// Whether FORCE_IP can find IP headers in frames of this link type.
pub(crate) fn force_ipable(dlt: u32) -> bool {
    matches!(
        dlt,
        DLT_NULL | DLT_EN10MB | DLT_RAW | DLT_LINUX_SLL | 104 | 50 | 9
    )
}

fn is_ip_ethertype(t: u16) -> bool {
    t == 0x0800 || t == 0x86dd
}

/// Where the IP header of a frame of link type `dlt` starts, if the frame
/// carries IP (Click's `fake_pcap_force_ip`, for the link types seen on
/// Linux and in test traces: Ethernet with one VLAN tag, raw IP, Linux
/// cooked, BSD loopback, Cisco HDLC, PPP).
pub(crate) fn ip_offset(dlt: u32, data: &[u8]) -> Option<usize> {
    let be16 = |o: usize| data.get(o..o + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    match dlt {
        DLT_RAW => Some(0),
        DLT_EN10MB => {
            let t = be16(12)?;
            if is_ip_ethertype(t) {
                Some(14)
            } else if t == 0x8100 && data.len() >= 18 && is_ip_ethertype(be16(16)?) {
                Some(18)
            } else {
                None
            }
        }
        DLT_LINUX_SLL => is_ip_ethertype(be16(14)?).then_some(16),
        104 => is_ip_ethertype(be16(2)?).then_some(4),
        50 => {
            let d = data.get(..4)?;
            if d[0] == 0xff {
                (d[2] == 0 && (d[3] == 0x21 || d[3] == 0x57)).then_some(4)
            } else if d[0] == 0x0f || d[0] == 0x8f {
                is_ip_ethertype(be16(2)?).then_some(4)
            } else {
                None
            }
        }
        9 => {
            let mut o = 0;
            if data.len() >= 2 && data[0] == 0xff && data[1] == 0x03 {
                o = 2;
            }
            let d = data.get(o..o + 2)?;
            if d[0] == 0x21 || d[0] == 0x57 {
                Some(o + 1)
            } else if d[0] == 0 && (d[1] == 0x21 || d[1] == 0x57) {
                Some(o + 2)
            } else {
                None
            }
        }
        DLT_NULL => {
            let d = data.get(..4)?;
            let mut family = u32::from(d[0]) | (u32::from(d[1]) << 8);
            if family == 0 {
                family = (u32::from(d[2]) << 8) | u32::from(d[3]);
            }
            matches!(family, 2 | 24 | 28 | 30).then_some(4)
        }
        _ => None,
    }
}

/// Why a trace cannot be read (further).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TraceError {
    /// The file ends in the middle of the record (or header) at `offset`.
    Truncated { offset: u64 },
    /// The record (or file header) at `offset` is corrupt.
    Corrupt { offset: u64, why: String },
    /// The file could not be read.
    Io(String),
}

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TraceError::Truncated { offset } => {
                write!(
                    f,
                    "trace ends in the middle of the record at byte offset {offset}"
                )
            }
            TraceError::Corrupt { offset, why } => {
                write!(f, "corrupt record at byte offset {offset} ({why})")
            }
            TraceError::Io(e) => f.write_str(e),
        }
    }
}

/// One record, borrowed from the reader's block.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    /// Its timestamp.
    pub ts: Timestamp,
    /// Its length on the wire (at least `data.len()`).
    pub wire_len: u32,
    /// The captured bytes (FromDump copies them later, through
    /// [`TraceReader::last_data`], once it knows it keeps the packet).
    #[cfg_attr(not(test), allow(dead_code))]
    pub data: &'a [u8],
}

/// Where the bytes come from.
enum Source {
    File(File),
    Stdin(io::Stdin),
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::File(f) => f.read(buf),
            Source::Stdin(s) => s.read(buf),
        }
    }
}

enum Format {
    /// Before the file header is read.
    Unknown,
    Pcap {
        parser: PcapParser,
        /// Records swap caplen and len (pcap 2.3 and older).
        old: bool,
    },
    PcapNg(Box<PcapNgParser>),
}

/// A pcap or pcapng file, read ahead in blocks.
pub(crate) struct TraceReader {
    source: Source,
    buf: Vec<u8>,
    /// The unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// File offset of `buf[0]`.
    buf_offset: u64,
    eof: bool,
    format: Format,
    /// The file's link type (pcapng: its first interface's).
    pub linktype: u32,
    /// Whether the file has nanosecond timestamps (pcap).
    pub nano: bool,
    /// Where the last record's data is in `buf`.
    last: std::ops::Range<usize>,
}

fn corrupt(offset: u64, why: impl Into<String>) -> TraceError {
    TraceError::Corrupt {
        offset,
        why: why.into(),
    }
}

fn io_error(e: io::Error) -> TraceError {
    TraceError::Io(e.to_string())
}

/// What parsing the unread bytes found.
enum Parsed {
    /// A record: bytes consumed, data range (relative), timestamp, length.
    Record(usize, std::ops::Range<usize>, Timestamp, u32),
    /// Something else (a pcapng block that carries no packet).
    Skip(usize),
    /// More bytes are needed: at least this many in all.
    Need(usize),
}

impl TraceReader {
    /// Opens `path` (`-`: standard input) and reads its file header.
    pub(crate) fn open(path: &str) -> Result<TraceReader, TraceError> {
        let source = if path == "-" {
            Source::Stdin(io::stdin())
        } else {
            Source::File(File::open(path).map_err(|e| TraceError::Io(format!("{path}: {e}")))?)
        };
        let mut r = TraceReader {
            source,
            buf: vec![0; READ_BLOCK],
            start: 0,
            end: 0,
            buf_offset: 0,
            eof: false,
            format: Format::Unknown,
            linktype: DLT_EN10MB,
            nano: false,
            last: 0..0,
        };
        r.fill(64)?;
        let head = &r.buf[..r.end];
        if head.len() < 4 {
            return Err(corrupt(0, "not a pcap or pcapng file (too short)"));
        }
        if head[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            r.open_pcapng()?;
        } else {
            if head.len() < 24 {
                return Err(corrupt(0, "not a pcap file (header too short)"));
            }
            let (rest, parser) = PcapParser::new(head).map_err(|e| match e {
                PcapError::InvalidField(_) => corrupt(0, "not a pcap file (bad magic number)"),
                e => corrupt(0, e.to_string()),
            })?;
            let h = parser.header();
            if h.version_major != 2 {
                return Err(corrupt(
                    0,
                    format!("unknown major version {}", h.version_major),
                ));
            }
            r.start = head.len() - rest.len();
            r.linktype = canonical_dlt(u32::from(h.datalink));
            r.nano = h.ts_resolution == TsResolution::NanoSecond;
            let old = h.version_minor < 3;
            r.format = Format::Pcap { parser, old };
        }
        Ok(r)
    }

    fn open_pcapng(&mut self) -> Result<(), TraceError> {
        let (consumed, parser) = loop {
            let avail = &self.buf[..self.end];
            match PcapNgParser::new(avail) {
                Ok((rest, parser)) => break (avail.len() - rest.len(), parser),
                Err(PcapError::IncompleteBuffer) if !self.eof => {
                    let want = self.end + 4096;
                    self.fill(want)?;
                }
                Err(PcapError::IncompleteBuffer) => {
                    return Err(TraceError::Truncated { offset: 0 })
                }
                Err(e) => return Err(corrupt(0, format!("bad pcapng section header: {e}"))),
            }
        };
        self.start = consumed;
        self.format = Format::PcapNg(Box::new(parser));
        // The link type: parse ahead to the first interface description.
        let saved = self.start;
        let mut linktype = None;
        let mut at = self.start;
        while linktype.is_none() {
            let Format::PcapNg(parser) = &mut self.format else {
                unreachable!()
            };
            match parser.next_raw_block(&self.buf[at..self.end]) {
                Ok((rest, _)) => {
                    at = self.end - rest.len();
                    if let Some(i) = parser.interfaces().first() {
                        linktype = Some(u32::from(i.linktype));
                    }
                }
                Err(_) => break,
            }
        }
        // Start over with a fresh parser (the probe's interfaces would be
        // seen twice).
        let (_, parser) = PcapNgParser::new(&self.buf[..self.end])
            .map_err(|e| corrupt(0, format!("bad pcapng section header: {e}")))?;
        self.format = Format::PcapNg(Box::new(parser));
        self.start = saved;
        self.linktype = canonical_dlt(linktype.unwrap_or(DLT_EN10MB));
        self.nano = true;
        Ok(())
    }

    /// The data of the record [`TraceReader::next_record`] returned last
    /// (until the next call).
    pub(crate) fn last_data(&self) -> &[u8] {
        self.buf.get(self.last.clone()).unwrap_or(&[])
    }

    /// The file offset of the next record.
    pub(crate) fn pos(&self) -> u64 {
        self.buf_offset + self.start as u64
    }

    /// The file's size, if it is a regular file.
    pub(crate) fn file_size(&self) -> Option<u64> {
        match &self.source {
            Source::File(f) => f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len()),
            Source::Stdin(_) => None,
        }
    }

    /// Goes to file offset `pos` (a record's start).
    pub(crate) fn seek(&mut self, pos: u64) -> Result<(), TraceError> {
        self.last = 0..0;
        if pos >= self.buf_offset && pos <= self.buf_offset + self.end as u64 {
            self.start = (pos - self.buf_offset) as usize;
            return Ok(());
        }
        let Source::File(f) = &mut self.source else {
            return Err(TraceError::Io("cannot seek on standard input".into()));
        };
        let size = f.metadata().map_err(io_error)?.len();
        if pos > size {
            return Err(TraceError::Io("FILEPOS out of range".into()));
        }
        f.seek(SeekFrom::Start(pos)).map_err(io_error)?;
        self.buf_offset = pos;
        self.start = 0;
        self.end = 0;
        self.eof = false;
        Ok(())
    }

    /// Makes at least `want` unread bytes available unless the file ends
    /// first: moves the unread bytes to the front of the block and reads
    /// until the block is full (or the file ends).
    fn fill(&mut self, want: usize) -> Result<(), TraceError> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.buf_offset += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        if want > self.buf.len() {
            self.buf.resize(want.next_power_of_two(), 0);
        }
        while !self.eof && self.end < self.buf.len() {
            match self.source.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(e)),
            }
            if self.end >= want && self.end - self.start >= READ_BLOCK / 2 {
                break;
            }
        }
        Ok(())
    }

    /// The next record, `None` at the end of the file.
    pub(crate) fn next_record(&mut self) -> Result<Option<Record<'_>>, TraceError> {
        loop {
            let offset = self.pos();
            let avail = &self.buf[self.start..self.end];
            let parsed = match &mut self.format {
                Format::Pcap { parser, old } => parse_pcap(parser, *old, avail, offset)?,
                Format::PcapNg(parser) => parse_pcapng(parser, avail, offset)?,
                Format::Unknown => return Ok(None),
            };
            match parsed {
                Parsed::Record(used, range, ts, wire_len) => {
                    let base = self.start;
                    self.start += used;
                    self.last = base + range.start..base + range.end;
                    return Ok(Some(Record {
                        ts,
                        wire_len,
                        data: &self.buf[self.last.clone()],
                    }));
                }
                Parsed::Skip(used) => self.start += used,
                Parsed::Need(_) if self.eof => {
                    return if self.start == self.end {
                        Ok(None)
                    } else {
                        Err(TraceError::Truncated { offset })
                    };
                }
                Parsed::Need(n) if n <= self.end - self.start => {
                    // The parser wants bytes that are there: the record
                    // does not parse as its header says.
                    return Err(corrupt(offset, "record does not parse"));
                }
                Parsed::Need(n) => self.fill(n)?,
            }
        }
    }
}

/// A u32 at `at` in `bytes`, in `endianness`.
fn u32_at(bytes: &[u8], at: usize, endianness: Endianness) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(match endianness {
        Endianness::Big => u32::from_be_bytes(b),
        Endianness::Little => u32::from_le_bytes(b),
    })
}

fn parse_pcap(
    parser: &PcapParser,
    old: bool,
    avail: &[u8],
    offset: u64,
) -> Result<Parsed, TraceError> {
    let header = parser.header();
    if avail.len() < 16 {
        return Ok(Parsed::Need(16));
    }
    let incl = u32_at(avail, 8, header.endianness).unwrap_or(0) as usize;
    if incl > MAX_RECORD.max(header.snaplen as usize).min(MAX_RECORD * 4) {
        return Err(corrupt(
            offset,
            format!("captured length {incl} is too large"),
        ));
    }
    let raw: RawPcapPacket<'_> = match parser.next_raw_packet(avail) {
        Ok((_, raw)) => raw,
        Err(PcapError::IncompleteBuffer) => return Ok(Parsed::Need(16 + incl)),
        Err(e) => return Err(corrupt(offset, e.to_string())),
    };
    // Before pcap 2.3, caplen and len were the other way round (Click's
    // rule: at 2.3, swapped only if caplen > len).
    let (caplen, len) = if old && raw.incl_len > raw.orig_len {
        (raw.orig_len, raw.incl_len)
    } else {
        (raw.incl_len, raw.orig_len)
    };
    let used = 16 + raw.incl_len as usize;
    // A captured length beyond the wire length: keep the wire length's
    // worth (tcptrace's off-by-one, as Click and tcpdump do).
    let keep = caplen.min(len.max(if old { caplen } else { 0 })) as usize;
    let keep = keep.min(raw.incl_len as usize);
    let frac = u64::from(raw.ts_frac);
    let ns = u64::from(raw.ts_sec) * 1_000_000_000
        + if header.ts_resolution == TsResolution::NanoSecond {
            frac
        } else {
            frac * 1000
        };
    Ok(Parsed::Record(
        used,
        16..16 + keep,
        Timestamp::from_nanos(ns),
        len.max(keep as u32),
    ))
}

/// Nanoseconds for `units` of an interface's timestamp resolution.
fn pcapng_nanos(units: u64, tsresol: u8, offset_secs: u64) -> u64 {
    let ns: u128 = if tsresol & 0x80 != 0 {
        let shift = u32::from(tsresol & 0x7f).min(127);
        (u128::from(units) * 1_000_000_000) >> shift
    } else {
        let exp = u32::from(tsresol);
        if exp <= 9 {
            u128::from(units) * 10u128.pow(9 - exp)
        } else {
            u128::from(units) / 10u128.checked_pow(exp - 9).unwrap_or(u128::MAX)
        }
    };
    let ns = ns + u128::from(offset_secs) * 1_000_000_000;
    u64::try_from(ns).unwrap_or(u64::MAX)
}

fn parse_pcapng(
    parser: &mut PcapNgParser,
    avail: &[u8],
    offset: u64,
) -> Result<Parsed, TraceError> {
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption as Opt;
    if avail.len() < 12 {
        return Ok(Parsed::Need(12));
    }
    // A section header's length is in its own byte order.
    let endianness = if avail[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
        match avail.get(8..12) {
            Some([0x1a, 0x2b, 0x3c, 0x4d]) => Endianness::Big,
            _ => Endianness::Little,
        }
    } else {
        parser.section().endianness
    };
    let block_len = u32_at(avail, 4, endianness).unwrap_or(0) as usize;
    if block_len > MAX_RECORD * 4 {
        return Err(corrupt(
            offset,
            format!("block length {block_len} is too large"),
        ));
    }
    let base = avail.as_ptr() as usize;
    match parser.next_block(avail) {
        Ok((rest, block)) => {
            let used = avail.len() - rest.len();
            let (iface, units, wire_len, data) = match &block {
                Block::EnhancedPacket(p) => (
                    Some(p.interface_id),
                    // pcap-file keeps the raw count of units here.
                    u64::try_from(p.timestamp.as_nanos()).unwrap_or(u64::MAX),
                    p.original_len,
                    &p.data,
                ),
                Block::SimplePacket(p) => (None, 0, p.original_len, &p.data),
                Block::Packet(p) => (
                    Some(u32::from(p.interface_id)),
                    p.timestamp,
                    p.original_len,
                    &p.data,
                ),
                _ => return Ok(Parsed::Skip(used)),
            };
            let (mut tsresol, mut tsoffset) = (6u8, 0u64);
            let iface = match iface {
                Some(i) => parser.interfaces().get(i as usize),
                None => parser.interfaces().first(),
            };
            if let Some(iface) = iface {
                for o in &iface.options {
                    match o {
                        Opt::IfTsResol(r) => tsresol = *r,
                        Opt::IfTsOffset(s) => tsoffset = *s,
                        _ => {}
                    }
                }
            }
            let start = data.as_ptr() as usize - base;
            let len = data.len().min(MAX_RECORD * 4);
            Ok(Parsed::Record(
                used,
                start..start + len,
                Timestamp::from_nanos(pcapng_nanos(units, tsresol, tsoffset)),
                wire_len.max(len as u32),
            ))
        }
        Err(PcapError::IncompleteBuffer) => Ok(Parsed::Need(block_len.max(12))),
        Err(e) => Err(corrupt(offset, e.to_string())),
    }
}

/// A pcap file being written: records gathered in a large buffer, written
/// to the file a block at a time.
pub(crate) struct TraceWriter {
    out: Box<dyn Write + Send>,
    buf: Vec<u8>,
    header: PcapHeader,
    /// Whether the file header has been written.
    started: bool,
    /// Write through after every batch (UNBUFFERED).
    unbuffered: bool,
    /// The first write error, after which nothing more is written.
    pub failed: Option<String>,
}

impl TraceWriter {
    /// A writer to `path` (`-`: standard output), with a pcap file header
    /// as Click's ToDump writes it: version 2.4, host byte order, zone and
    /// accuracy 0.
    pub(crate) fn create(
        path: &str,
        snaplen: u32,
        linktype: u32,
        nano: bool,
        unbuffered: bool,
    ) -> Result<TraceWriter, String> {
        let out: Box<dyn Write + Send> = if path == "-" {
            Box::new(io::stdout())
        } else {
            Box::new(File::create(path).map_err(|e| format!("{path}: {e}"))?)
        };
        let header = PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen,
            datalink: DataLink::from(linktype),
            ts_resolution: if nano {
                TsResolution::NanoSecond
            } else {
                TsResolution::MicroSecond
            },
            endianness: if cfg!(target_endian = "big") {
                Endianness::Big
            } else {
                Endianness::Little
            },
        };
        Ok(TraceWriter {
            out,
            buf: Vec::with_capacity(WRITE_BLOCK + 65536),
            header,
            started: false,
            unbuffered,
            failed: None,
        })
    }

    /// Sets the link type, until the header is written.
    pub(crate) fn set_linktype(&mut self, linktype: u32) {
        if !self.started {
            self.header.datalink = DataLink::from(linktype);
        }
    }

    /// Writes the file header if it has not been.
    pub(crate) fn start(&mut self) {
        if !self.started {
            self.started = true;
            let _ = self.header.write_to(&mut self.buf);
        }
    }

    /// Adds a record: `data` cut to the snapshot length, `wire_len` kept.
    pub(crate) fn write_record(&mut self, ts: Timestamp, data: &[u8], wire_len: u32) {
        self.start();
        let caplen = data.len().min(self.header.snaplen as usize);
        let ns = ts.as_nanos();
        let frac = (ns % 1_000_000_000) as u32;
        let frac = match self.header.ts_resolution {
            TsResolution::NanoSecond => frac,
            TsResolution::MicroSecond => frac / 1000,
        };
        // The record header in host byte order, as the file header says.
        for field in [(ns / 1_000_000_000) as u32, frac, caplen as u32, wire_len] {
            self.buf.extend_from_slice(&field.to_ne_bytes());
        }
        self.buf.extend_from_slice(&data[..caplen]);
        if self.buf.len() >= WRITE_BLOCK {
            self.write_out();
        }
    }

    /// After a batch: writes through if unbuffered.
    pub(crate) fn end_batch(&mut self) {
        if self.unbuffered {
            self.flush();
        }
    }

    fn write_out(&mut self) {
        if self.failed.is_none() && !self.buf.is_empty() {
            if let Err(e) = self.out.write_all(&self.buf) {
                self.failed = Some(e.to_string());
            }
        }
        self.buf.clear();
    }

    /// Writes everything gathered (the header too) and flushes the file.
    pub(crate) fn flush(&mut self) {
        self.start();
        self.write_out();
        if self.failed.is_none() {
            if let Err(e) = self.out.flush() {
                self.failed = Some(e.to_string());
            }
        }
    }
}

impl Drop for TraceWriter {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A pcap file of `n` records of `len` bytes.
    fn pcap(n: usize, len: usize, nano: bool) -> Vec<u8> {
        let mut f = Vec::new();
        let magic: u32 = if nano { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        f.extend(magic.to_le_bytes());
        f.extend(2u16.to_le_bytes());
        f.extend(4u16.to_le_bytes());
        f.extend([0u8; 8]);
        f.extend(65535u32.to_le_bytes());
        f.extend(1u32.to_le_bytes());
        for i in 0..n {
            f.extend((1_000 + i as u32).to_le_bytes());
            f.extend((i as u32 * 7).to_le_bytes());
            f.extend((len as u32).to_le_bytes());
            f.extend((len as u32 + 3).to_le_bytes());
            f.extend((0..len).map(|j| (i + j) as u8));
        }
        f
    }

    fn temp(data: &[u8]) -> tempfile_path::TempPath {
        tempfile_path::TempPath::new(data)
    }

    /// A file in the temporary directory, removed when dropped.
    mod tempfile_path {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        pub struct TempPath(pub String);
        impl TempPath {
            pub fn new(data: &[u8]) -> TempPath {
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                let p = std::env::temp_dir().join(format!("trace-test-{}-{n}", std::process::id()));
                std::fs::write(&p, data).unwrap();
                TempPath(p.to_string_lossy().into_owned())
            }
        }
        impl Drop for TempPath {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    /// Reads every record; the count, and how the trace ended.
    fn read_all(data: &[u8]) -> Result<(usize, Option<TraceError>), TraceError> {
        let f = temp(data);
        let mut r = TraceReader::open(&f.0)?;
        let mut n = 0;
        loop {
            match r.next_record() {
                Ok(Some(rec)) => {
                    assert!(rec.data.len() <= MAX_RECORD * 4);
                    assert!(rec.wire_len as usize >= rec.data.len());
                    n += 1;
                }
                Ok(None) => return Ok((n, None)),
                Err(e) => return Ok((n, Some(e))),
            }
        }
    }

    #[test]
    fn reads_records_and_timestamps() {
        for nano in [false, true] {
            let f = temp(&pcap(3, 10, nano));
            let mut r = TraceReader::open(&f.0).unwrap();
            let rec = r.next_record().unwrap().unwrap();
            assert_eq!(rec.data, &(0..10).collect::<Vec<u8>>()[..]);
            assert_eq!(rec.wire_len, 13);
            assert_eq!(rec.ts.as_nanos(), 1_000_000_000_000);
            let rec = r.next_record().unwrap().unwrap();
            let frac = if nano { 7 } else { 7000 };
            assert_eq!(rec.ts.as_nanos(), 1_001_000_000_000 + frac);
            assert_eq!(r.pos(), 24 + 2 * 26);
            assert!(r.next_record().unwrap().is_some());
            assert!(r.next_record().unwrap().is_none());
            // Seeking back to a record reads it again.
            r.seek(24 + 26).unwrap();
            assert_eq!(r.next_record().unwrap().unwrap().data[0], 1);
        }
    }

    #[test]
    fn truncation_names_the_record_offset() {
        let whole = pcap(4, 100, false);
        for cut in [24 + 116 + 10, 24 + 116 + 16 + 50, 24 + 3 * 116 + 1] {
            let (n, e) = read_all(&whole[..cut]).unwrap();
            let record = (cut - 24) / 116;
            assert_eq!(n, record);
            assert_eq!(
                e,
                Some(TraceError::Truncated {
                    offset: (24 + record * 116) as u64
                })
            );
        }
    }

    #[test]
    fn large_records_grow_the_block() {
        // Records longer than half a block, and a file longer than one.
        let (n, e) = read_all(&pcap(5, 200_000, true)).unwrap();
        assert_eq!((n, e), (5, None));
    }

    #[test]
    fn link_type_names_are_clicks() {
        assert_eq!(parse_dlt("ETHER"), Some(1));
        assert_eq!(parse_dlt("IP"), Some(101));
        assert_eq!(parse_dlt("SLL"), Some(113));
        assert_eq!(parse_dlt("#147"), Some(147));
        assert_eq!(parse_dlt("ether"), None);
        assert_eq!(unparse_dlt(113), "SLL");
        assert_eq!(unparse_dlt(147), "#147");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Random bytes, alone or after a valid pcap or pcapng header,
        /// never panic the reader and always end.
        #[test]
        fn random_bytes_never_panic(kind in 0..3u8, tail in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let mut data = match kind {
                0 => Vec::new(),
                1 => pcap(0, 0, false),
                _ => {
                    let mut shb = vec![0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0];
                    shb.extend([0xff; 8]);
                    shb.extend([28, 0, 0, 0]);
                    shb
                }
            };
            data.extend(tail);
            let _ = read_all(&data);
        }

        /// A real-looking trace cut anywhere, or with any byte changed,
        /// reads up to the damage and ends.
        #[test]
        fn cut_or_flipped_traces_never_panic(cut in 0..1200usize, at in 0..1200usize, v in any::<u8>(), nano in any::<bool>()) {
            let mut data = pcap(10, 90, nano);
            if at < data.len() {
                data[at] = v;
            }
            data.truncate(cut.max(1));
            if let Ok((n, _)) = read_all(&data) {
                prop_assert!(n <= 10 || at < data.len());
            }
        }
    }
}
