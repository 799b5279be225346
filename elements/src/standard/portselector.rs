//! The `switch` handler of the switch elements: one port of several,
//! chosen by a number, none when it is negative or out of range.

use click_engine::args::Args;
use click_engine::Port;

/// The selected port of Switch (an output) or PullSwitch (an input).
#[derive(Debug)]
pub(crate) struct PortSelector {
    port: Option<Port>,
    ports: usize,
    /// The argument's name in messages (`OUTPUT`, `INPUT`).
    what: &'static str,
}

impl PortSelector {
    /// Reads the optional first argument (default 0) among `ports` ports.
    pub fn configure(args: &mut Args, what: &'static str, ports: usize) -> Result<Self, String> {
        let k: i64 = args.read_p(what)?.unwrap_or(0);
        let mut s = PortSelector {
            port: None,
            ports,
            what,
        };
        s.set(k);
        Ok(s)
    }

    fn set(&mut self, k: i64) {
        self.port = usize::try_from(k).ok().filter(|&k| k < self.ports);
    }

    /// The selected port, if any.
    #[inline]
    pub fn port(&self) -> Option<Port> {
        self.port
    }

    /// The `switch` read handler: the port, or -1.
    pub fn read_handler(&self, name: &str) -> Option<String> {
        (name == "switch").then(|| self.port.map_or("-1".into(), |k| k.to_string()))
    }

    /// The `switch` write handler.
    pub fn write_handler(&mut self, name: &str, value: &str) -> Result<(), String> {
        match name {
            "switch" => {
                let k: i64 = Args::new(value).read_mp(self.what)?;
                self.set(k);
                Ok(())
            }
            _ => Err(format!("no write handler '{name}'")),
        }
    }
}
