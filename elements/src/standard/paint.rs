//! Paint: sets the paint annotation.

use click_engine::args::{Args, Flags};
use click_engine::packet::{Anno, USER_ANNO_SIZE};
use click_engine::Ctx;
use click_engine::PacketCtx;
use click_engine::Threads;
use click_engine::{ConfigureCtx, ElementClass, Handler, Packet, PacketElement, Port};

/// Which byte annotation Paint and PaintSwitch use: the paint annotation,
/// or a byte of the user area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByteAnno {
    Paint,
    User(usize),
}

impl ByteAnno {
    /// Parses Click's ANNO argument: `PAINT` (or `PAINT_ANNO`), or a byte
    /// offset into the user annotation area.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        match text {
            "PAINT" | "PAINT_ANNO" => Ok(ByteAnno::Paint),
            _ => match text.parse::<usize>() {
                Ok(off) if off < USER_ANNO_SIZE => Ok(ByteAnno::User(off)),
                _ => Err(format!(
                    "expected PAINT or a user annotation offset below {USER_ANNO_SIZE}"
                )),
            },
        }
    }

    /// Reads the optional positional ANNO argument (default: paint).
    pub(crate) fn read_p(args: &mut Args) -> Result<Self, String> {
        let anno = args.read_with("ANNO", Flags::POSITIONAL, ByteAnno::parse)?;
        Ok(anno.unwrap_or(ByteAnno::Paint))
    }

    #[inline]
    pub(crate) fn get(self, anno: &Anno) -> u8 {
        match self {
            ByteAnno::Paint => anno.paint(),
            ByteAnno::User(off) => anno.u8(off),
        }
    }

    #[inline]
    pub(crate) fn set(self, anno: &mut Anno, v: u8) {
        match self {
            ByteAnno::Paint => anno.set_paint(v),
            ByteAnno::User(off) => anno.set_u8(off, v),
        }
    }
}

/// `Paint(COLOR [, ANNO])`: sets each packet's paint annotation (or the
/// byte annotation ANNO) to COLOR, 0 to 255.
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
