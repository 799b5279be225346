//! Paint: sets the paint annotation (or another one-byte annotation).

use click_engine::args::{AnnoArg, Args};
use click_engine::packet::Anno;
use click_engine::{ConfigureCtx, ElementClass, Handler, Packet, PacketElement, Port};
use click_engine::{Ctx, PacketCtx, Threads};

/// The one-byte annotation Paint, PaintTee, PaintSwitch and SetAnnoByte
/// use: a byte offset into the annotation area, checked at configure time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteAnno(usize);

impl ByteAnno {
    /// Click's `PAINT` annotation, the default.
    pub(crate) const PAINT: ByteAnno = ByteAnno(16);

    /// Reads the optional positional ANNO argument (Click's `AnnoArg(1)`:
    /// `PAINT`, another one-byte annotation name, an `AnnotationInfo`
    /// name, or an offset 0-47); default PAINT.
    pub(crate) fn read_p(args: &mut Args) -> Result<Self, String> {
        let anno = args.read_p::<AnnoArg<1>>("ANNO")?;
        Ok(anno.map_or(Self::PAINT, |a| ByteAnno(a.offset)))
    }

    /// Reads the mandatory positional ANNO argument.
    pub(crate) fn read_mp(args: &mut Args) -> Result<Self, String> {
        Ok(ByteAnno(args.read_mp::<AnnoArg<1>>("ANNO")?.offset))
    }

    /// The offset into the annotation area.
    pub(crate) fn offset(self) -> usize {
        self.0
    }

    #[inline]
    pub(crate) fn get(self, anno: &Anno) -> u8 {
        // The offset was checked against the area when it was parsed.
        anno.u8(self.0).unwrap_or(0)
    }

    #[inline]
    pub(crate) fn set(self, anno: &mut Anno, v: u8) {
        // Cannot fail: the offset was checked when it was parsed.
        let _ = anno.set_u8(self.0, v);
    }
}

/// `Paint(COLOR [, ANNO])`: sets each packet's paint annotation (or the
/// byte annotation ANNO) to COLOR, 0 to 255.
///
/// ANNO is a one-byte annotation: `PAINT` (the default, byte 16 of the
/// annotation area), another of Click's names (`ICMP_PARAMPROB`,
/// `FIX_IP_SRC`, ...), a name an AnnotationInfo element defines, or a byte
/// offset 0-47 (`Paint(1, 16)` is `Paint(1)`).
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `color` (read/write).
#[derive(Debug)]
pub struct Paint {
    color: u8,
    anno: ByteAnno,
}

impl ElementClass for Paint {
    const CLASS: &'static str = "Paint";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let color = args.read_mp("COLOR")?;
        let anno = ByteAnno::read_p(args)?;
        Ok(Paint { color, anno })
    }
}

impl PacketElement for Paint {
    #[inline]
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        self.anno.set(packet.anno_mut(), self.color);
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read_write("color")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "color").then(|| self.color.to_string())
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        match name {
            "color" => {
                self.color = Args::new(value).read_mp("COLOR")?;
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}
