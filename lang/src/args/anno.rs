//! Annotation arguments: Click's annotation names and offsets
//! (`include/click/packet_anno.hh`) and its `AnnoArg`.
//!
//! A packet carries a 48-byte annotation area ([`ANNO_SIZE`]). Elements
//! such as Paint, PaintSwitch and SetIPAddress take an ANNO argument saying
//! which bytes of it they use: a name Click defines (`PAINT`, `DST_IP`,
//! ...), a name an `AnnotationInfo` element defines (looked up through the
//! [`ArgContext`]), or a byte offset. Names overlap as Click's do
//! (`VLAN_TCI` is the first two bytes of `AGGREGATE`), since several
//! uses share the area.

use super::context::{ArgContext, NoContext};
use super::split::{is_word, split_words};
use super::types::FromArg;

/// The size of a packet's annotation area in bytes (Click's
/// `Packet::anno_size` at user level).
pub const ANNO_SIZE: usize = 48;

/// Where an annotation lives in the annotation area: its byte offset and
/// its size in bytes. A size of 0 means "unknown" (an annotation given as a
/// bare offset, or an `AnnotationInfo` name defined without a size).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AnnoInfo {
    /// Byte offset into the annotation area.
    pub offset: usize,
    /// Size in bytes; 0 if unknown.
    pub size: usize,
}

impl AnnoInfo {
    /// An annotation of `size` bytes at `offset`.
    pub const fn new(offset: usize, size: usize) -> Self {
        AnnoInfo { offset, size }
    }
}

const fn ai(offset: usize, size: usize) -> AnnoInfo {
    AnnoInfo::new(offset, size)
}

/// Click's annotation names, as its user-level driver defines them on a
/// 64-bit host (`lib/nameinfo.cc`), sorted by name. `VLAN` is another name
/// for `VLAN_TCI`.
///
/// | name | offset | size |
/// |---|---|---|
/// | `DST_IP` | 0 | 4 |
/// | `DST_IP6` | 0 | 16 |
/// | `PAINT` | 16 | 1 |
/// | `WIFI_EXTRA` | 16 | 24 |
/// | `ICMP_PARAMPROB` | 17 | 1 |
/// | `FIX_IP_SRC` | 19 | 1 |
/// | `VLAN_TCI`, `VLAN` | 20 | 2 |
/// | `AGGREGATE`, `FWD_RATE`, `MISC_IP` | 20 | 4 |
/// | `EXTRA_PACKETS`, `REV_RATE` | 24 | 4 |
/// | `GRID_ROUTE_CB` | 27 | 1 |
/// | `EXTRA_LENGTH`, `IPREASSEMBLER` | 28 | 4 |
/// | `FIRST_TIMESTAMP` | 32 | 8 |
/// | `PACKET_NUMBER`, `IPSEC_SPI` | 32 | 4 |
/// | `SEQUENCE_NUMBER` | 36 | 4 |
/// | `PERFCTR`, `IPSEC_SA_DATA_REFERENCE` | 40 | 8 |
pub const ANNOTATIONS: &[(&str, AnnoInfo)] = &[
    ("AGGREGATE", ai(20, 4)),
    ("DST_IP", ai(0, 4)),
    ("DST_IP6", ai(0, 16)),
    ("EXTRA_LENGTH", ai(28, 4)),
    ("EXTRA_PACKETS", ai(24, 4)),
    ("FIRST_TIMESTAMP", ai(32, 8)),
    ("FIX_IP_SRC", ai(19, 1)),
    ("FWD_RATE", ai(20, 4)),
    ("GRID_ROUTE_CB", ai(27, 1)),
    ("ICMP_PARAMPROB", ai(17, 1)),
    ("IPREASSEMBLER", ai(28, 4)),
    ("IPSEC_SA_DATA_REFERENCE", ai(40, 8)),
    ("IPSEC_SPI", ai(32, 4)),
    ("MISC_IP", ai(20, 4)),
    ("PACKET_NUMBER", ai(32, 4)),
    ("PAINT", ai(16, 1)),
    ("PERFCTR", ai(40, 8)),
    ("REV_RATE", ai(24, 4)),
    ("SEQUENCE_NUMBER", ai(36, 4)),
    ("VLAN", ai(20, 2)),
    ("VLAN_TCI", ai(20, 2)),
    ("WIFI_EXTRA", ai(16, 24)),
];

/// One of Click's own annotation names ([`ANNOTATIONS`]). The name of the
/// C++ macro, `NAME_ANNO` (`PAINT_ANNO`), is accepted too, which Click's
/// parser does not.
pub fn builtin_annotation(name: &str) -> Option<AnnoInfo> {
    let find = |n: &str| {
        ANNOTATIONS
            .binary_search_by(|(k, _)| (*k).cmp(n))
            .ok()
            .map(|i| ANNOTATIONS[i].1)
    };
    find(name).or_else(|| name.strip_suffix("_ANNO").and_then(find))
}

/// What `text` names as an annotation, as Click's `NameInfo::query_int`
/// finds it: a name an `AnnotationInfo` element in scope defines (through
/// `ctx`), one of Click's own names, or else a byte offset in Click's
/// integer syntax (size unknown). Not checked against the area.
pub fn lookup_annotation(text: &str, ctx: &dyn ArgContext) -> Option<AnnoInfo> {
    ctx.annotation(text)
        .or_else(|| builtin_annotation(text))
        .or_else(|| {
            u16::from_arg(text)
                .ok()
                .map(|offset| AnnoInfo::new(offset.into(), 0))
        })
}

/// Click's `AnnoArg(size)`: `text` as an annotation that an element uses
/// `size` bytes of (0: any size, the annotation's own size returned).
///
/// A named annotation with a known size must have exactly `size` bytes
/// (`Paint(1, DST_IP)` is an error: DST_IP has 4), and the bytes must lie
/// inside the area. Click's user-level build does not ask for alignment on
/// hosts that do not need it, and nor do we: every access is by bytes.
pub fn parse_annotation(text: &str, size: usize, ctx: &dyn ArgContext) -> Result<AnnoInfo, String> {
    let info = lookup_annotation(text, ctx).ok_or_else(|| "expected annotation".to_string())?;
    if size == 0 {
        if info.offset >= ANNO_SIZE {
            return Err(format!(
                "annotation offset {} is outside the {ANNO_SIZE}-byte annotation area",
                info.offset
            ));
        }
        return Ok(info);
    }
    if info.size != 0 && info.size != size {
        return Err(format!(
            "annotation '{text}' has size {}, expected {size}",
            info.size
        ));
    }
    if info.offset + size > ANNO_SIZE {
        let bytes = match size {
            1 => format!("byte {} is", info.offset),
            _ => format!("bytes {}-{} are", info.offset, info.offset + size - 1),
        };
        return Err(format!(
            "annotation {bytes} outside the {ANNO_SIZE}-byte annotation area"
        ));
    }
    Ok(AnnoInfo::new(info.offset, size))
}

/// An annotation argument for an element that uses `SIZE` bytes of it
/// (Click's `AnnoArg(SIZE)`): read it with `args.read_p::<AnnoArg<1>>("ANNO")`.
/// `SIZE` 0 takes an annotation of any size and keeps its own size (0 for
/// a bare offset).
///
/// ```
/// use click_lang::args::{AnnoArg, Args};
/// let mut args = Args::new("1, PAINT");
/// let color: u8 = args.read_mp("COLOR").unwrap();
/// let anno: AnnoArg<1> = args.read_p("ANNO").unwrap().unwrap();
/// assert_eq!((color, anno.offset), (1, 16));
/// assert_eq!(
///     Args::new("DST_IP").read_mp::<AnnoArg<1>>("ANNO").unwrap_err().to_string(),
///     "ANNO: annotation 'DST_IP' has size 4, expected 1"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnnoArg<const SIZE: usize> {
    /// Byte offset into the annotation area.
    pub offset: usize,
    /// Size in bytes: `SIZE`, or for `SIZE` 0 the annotation's own size.
    pub size: usize,
}

impl<const SIZE: usize> AnnoArg<SIZE> {
    /// The annotation at `offset`.
    pub const fn at(offset: usize) -> Self {
        AnnoArg { offset, size: SIZE }
    }
}

impl<const SIZE: usize> FromArg for AnnoArg<SIZE> {
    const EXPECTED: &'static str = "annotation";

    fn from_arg(text: &str) -> Result<Self, String> {
        Self::from_arg_in(text, &NoContext)
    }

    fn from_arg_in(text: &str, ctx: &dyn ArgContext) -> Result<Self, String> {
        let info = parse_annotation(text, SIZE, ctx)?;
        Ok(AnnoArg {
            offset: info.offset,
            size: info.size,
        })
    }
}

/// One argument of `AnnotationInfo(NAME OFFSET [SIZE], ..., CHECK_OVERLAP
/// ANNO...)`, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnnotationInfoArg {
    /// An empty argument, or a comment (`# ...`): allowed, ignored.
    Skip,
    /// `CHECK_OVERLAP ANNO...`: the annotations named must not overlap
    /// (checked once every name is defined).
    CheckOverlap(Vec<String>),
    /// `NAME OFFSET [SIZE]`: NAME stands for SIZE bytes at OFFSET (size 0:
    /// not given).
    Define {
        /// The name defined.
        name: String,
        /// Where it is.
        anno: AnnoInfo,
    },
}

/// Parses one argument of an `AnnotationInfo` element as Click does.
/// OFFSET may itself be an annotation (`MY_PAINT PAINT`: offset 16, size
/// as given, else unknown); a SIZE must agree with a named OFFSET's size,
/// and the bytes must fit the area. NAME must be a word that is not
/// already one of Click's names (`bad NAME 'PAINT'`); anything else wrong
/// is `bad entry for 'NAME'`.
///
/// ```
/// use click_lang::args::{parse_annotation_info, AnnoInfo, AnnotationInfoArg, NoContext};
/// assert_eq!(
///     parse_annotation_info("COLOR 5 1", &NoContext),
///     Ok(AnnotationInfoArg::Define { name: "COLOR".into(), anno: AnnoInfo::new(5, 1) })
/// );
/// assert_eq!(parse_annotation_info("PAINT 5 1", &NoContext), Err("bad NAME 'PAINT'".into()));
/// ```
pub fn parse_annotation_info(arg: &str, ctx: &dyn ArgContext) -> Result<AnnotationInfoArg, String> {
    let words = split_words(arg);
    let Some(name) = words.first() else {
        return Ok(AnnotationInfoArg::Skip);
    };
    if name.starts_with('#') {
        return Ok(AnnotationInfoArg::Skip);
    }
    if name == "CHECK_OVERLAP" {
        return Ok(AnnotationInfoArg::CheckOverlap(words[1..].to_vec()));
    }
    if !is_word(name) || parse_annotation(name, 0, &NoContext).is_ok() {
        return Err(format!("bad NAME '{name}'"));
    }
    let bad = || format!("bad entry for '{name}'");
    let at = words
        .get(1)
        .and_then(|o| parse_annotation(o, 0, ctx).ok())
        .ok_or_else(bad)?;
    let size = match words.get(2) {
        None => 0,
        Some(s) => usize::from_arg(s).map_err(|_| bad())?,
    };
    let fits = at
        .offset
        .checked_add(size)
        .is_some_and(|end| end <= ANNO_SIZE);
    if !fits || (size != 0 && at.size != 0 && size != at.size) || words.len() > 3 {
        return Err(bad());
    }
    Ok(AnnotationInfoArg::Define {
        name: name.clone(),
        anno: AnnoInfo::new(at.offset, size),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Args;

    /// A context with one compound's AnnotationInfo names.
    struct Names(&'static [(&'static str, AnnoInfo)]);

    impl ArgContext for Names {
        fn annotation(&self, name: &str) -> Option<AnnoInfo> {
            self.0.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
        }
    }

    #[test]
    fn table_is_sorted_and_inside_the_area() {
        assert!(ANNOTATIONS.windows(2).all(|w| w[0].0 < w[1].0));
        for (name, a) in ANNOTATIONS {
            assert!(a.offset + a.size <= ANNO_SIZE, "{name}");
        }
    }

    #[test]
    fn names_and_offsets() {
        let one = |t: &str| AnnoArg::<1>::from_arg(t).map(|a| a.offset);
        assert_eq!(one("PAINT"), Ok(16));
        assert_eq!(one("PAINT_ANNO"), Ok(16));
        assert_eq!(one("ICMP_PARAMPROB"), Ok(17));
        assert_eq!(one("FIX_IP_SRC"), Ok(19));
        assert_eq!(one("16"), Ok(16));
        assert_eq!(one("0x10"), Ok(16));
        assert_eq!(one("0"), Ok(0));
        assert_eq!(one("47"), Ok(47));
        assert_eq!(
            one("48"),
            Err("annotation byte 48 is outside the 48-byte annotation area".into())
        );
        assert_eq!(one("paint"), Err("expected annotation".into()));
        assert_eq!(one("-1"), Err("expected annotation".into()));
        assert_eq!(one(""), Err("expected annotation".into()));
        assert_eq!(
            one("VLAN_TCI"),
            Err("annotation 'VLAN_TCI' has size 2, expected 1".into())
        );
        let four = |t: &str| AnnoArg::<4>::from_arg(t).map(|a| a.offset);
        assert_eq!(four("DST_IP"), Ok(0));
        assert_eq!(four("AGGREGATE"), Ok(20));
        assert_eq!(four("MISC_IP"), Ok(20));
        assert_eq!(four("EXTRA_LENGTH"), Ok(28));
        assert_eq!(four("44"), Ok(44));
        assert!(four("45").is_err());
        assert_eq!(AnnoArg::<2>::from_arg("VLAN").map(|a| a.offset), Ok(20));
        assert_eq!(
            AnnoArg::<8>::from_arg("FIRST_TIMESTAMP").map(|a| a.offset),
            Ok(32)
        );
    }

    #[test]
    fn any_size_keeps_the_annotation_size() {
        let any = |t: &str| AnnoArg::<0>::from_arg(t).map(|a| (a.offset, a.size));
        assert_eq!(any("DST_IP6"), Ok((0, 16)));
        assert_eq!(any("WIFI_EXTRA"), Ok((16, 24)));
        assert_eq!(any("47"), Ok((47, 0)));
        assert!(any("48").is_err());
    }

    #[test]
    fn annotation_info_arguments() {
        use AnnotationInfoArg::*;
        let p = |a: &str| parse_annotation_info(a, &NoContext);
        let def = |n: &str, o, s| {
            Ok(Define {
                name: n.into(),
                anno: AnnoInfo::new(o, s),
            })
        };
        assert_eq!(p("COLOR 5 1"), def("COLOR", 5, 1));
        assert_eq!(p("COLOR 5"), def("COLOR", 5, 0));
        assert_eq!(p("MY_PAINT PAINT"), def("MY_PAINT", 16, 0));
        assert_eq!(p("MY_PAINT PAINT 1"), def("MY_PAINT", 16, 1));
        assert_eq!(p("LOW_AGG AGGREGATE 4"), def("LOW_AGG", 20, 4));
        assert_eq!(p("X 44 4"), def("X", 44, 4));
        assert_eq!(p("X 0x2f 1"), def("X", 47, 1));
        assert_eq!(p(""), Ok(Skip));
        assert_eq!(p("# a comment 1 2 3"), Ok(Skip));
        assert_eq!(
            p("CHECK_OVERLAP A B PAINT"),
            Ok(CheckOverlap(vec!["A".into(), "B".into(), "PAINT".into()]))
        );
        for bad_name in ["PAINT 5 1", "DST_IP 0 4", "7 5 1", "'q' 5 1"] {
            assert!(
                p(bad_name).unwrap_err().starts_with("bad NAME"),
                "{bad_name}"
            );
        }
        // A number too big to be an offset is a name, as in Click.
        assert_eq!(p("100 5 1"), def("100", 5, 1));
        for bad_entry in [
            "X",
            "X 48",
            "X 45 4",
            "X PAINT 2",
            "X 5 -1",
            "X 5 1 extra",
            "X nowhere 1",
        ] {
            assert_eq!(p(bad_entry), Err("bad entry for 'X'".into()), "{bad_entry}");
        }
    }

    #[test]
    fn annotation_info_names_come_from_the_context() {
        const NAMES: &[(&str, AnnoInfo)] = &[
            ("MY_PAINT", AnnoInfo::new(5, 1)),
            ("WIDE", AnnoInfo::new(8, 4)),
            ("ANY", AnnoInfo::new(40, 0)),
        ];
        let ctx = Names(NAMES);
        let one = |t: &str| parse_annotation(t, 1, &ctx).map(|a| a.offset);
        assert_eq!(one("MY_PAINT"), Ok(5));
        assert_eq!(one("ANY"), Ok(40));
        assert_eq!(one("PAINT"), Ok(16));
        assert!(one("WIDE").is_err());
        assert!(AnnoArg::<1>::from_arg("MY_PAINT").is_err());
        assert_eq!(parse_annotation("ANY", 8, &ctx), Ok(AnnoInfo::new(40, 8)));
        assert!(parse_annotation("ANY", 9, &ctx).is_err());
        // Through Args with the context lent.
        let mut args = Args::with_context("1, MY_PAINT", std::sync::Arc::new(ctx));
        assert_eq!(args.read_mp::<u8>("COLOR"), Ok(1));
        assert_eq!(
            args.read_p::<AnnoArg<1>>("ANNO")
                .map(|a| a.map(|a| a.offset)),
            Ok(Some(5))
        );
    }
}
