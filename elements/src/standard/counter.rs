//! Counter: counts packets and bytes passing through.

use click_engine::args::Args;
use click_engine::{ConfigureCtx, ElementClass, Handler, Packet, PacketElement, Port};

/// `Counter`: passes packets unchanged, counting them and their bytes.
///
/// * Ports: 1 input, 1 output, agnostic.
/// * Handlers: `count`, `byte_count` (read), `reset` (write).
#[derive(Debug, Default)]
pub struct Counter {
    count: u64,
    byte_count: u64,
}

impl ElementClass for Counter {
    const CLASS: &'static str = "Counter";

    fn configure(_args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Counter::default())
    }
}

impl PacketElement for Counter {
    #[inline]
    fn process(&mut self, packet: &mut Packet) -> Option<Port> {
        self.count += 1;
        self.byte_count += packet.len() as u64;
        Some(0)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read("count"),
            Handler::read("byte_count"),
            Handler::write("reset"),
            Handler::write("reset_counts"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        match name {
            "count" => Some(self.count.to_string()),
            "byte_count" => Some(self.byte_count.to_string()),
            _ => None,
        }
    }

    fn write_handler(&mut self, name: &str, _value: &str) -> Result<(), String> {
        match name {
            "reset" | "reset_counts" => {
                *self = Counter::default();
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}
