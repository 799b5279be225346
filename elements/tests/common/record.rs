//! `Record`: a test element, written as a user's crate would, that remembers
//! what passed through it.

use std::fmt::Write as _;

use click_engine::args::Args;
use click_engine::PacketCtx;
use click_engine::{ConfigureCtx, ElementClass, Handler, Packet, PacketElement, Port};

/// `Record`: passes packets through; `seq` reads the paint annotation of
/// each packet seen, as digits, and `last` the hex data of the last one.
#[derive(Debug, Default)]
pub struct Record {
    seq: String,
    last: String,
}

impl ElementClass for Record {
    const CLASS: &'static str = "Record";

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Record::default())
    }
}

impl PacketElement for Record {
    fn process(&mut self, packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let _ = write!(self.seq, "{}", packet.anno().paint());
        self.last.clear();
        for b in packet.data() {
            let _ = write!(self.last, "{b:02x}");
        }
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("seq"), Handler::read("last")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        match name {
            "seq" => Some(self.seq.clone()),
            "last" => Some(self.last.clone()),
            _ => None,
        }
    }
}
