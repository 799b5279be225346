//! RandomSample: passes each packet with a fixed probability.

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, Ctx, ElementClass, Handler, Packet, PacketCtx, PacketElement, Port,
};

/// Probabilities are fixed-point fractions of 2^28, as Click keeps them.
const SHIFT: u32 = 28;
const ONE: u32 = 1 << SHIFT;

/// `RandomSample([P, *keywords* SAMPLE, DROP, ACTIVE])`: passes each packet
/// on output 0 with probability P (or SAMPLE; or 1 minus DROP), between 0
/// and 1, one of which must be given; the others go to output 1 if it is connected, and
/// are dropped otherwise; either way they are counted. With ACTIVE false
/// every packet passes. Pulled, it answers only with sampled packets and
/// pushes the others out of output 1. The draws come from a fixed-seed
/// generator, so runs repeat.
///
/// * Ports: 1 input; output 0 agnostic, output 1 (optional) push.
/// * Handlers: `sampling_prob`, `drop_prob`, `active` (read/write),
///   `drops` (read).
#[derive(Debug)]
pub struct RandomSample {
    /// Probability of passing, in units of 2^-28.
    sample: u32,
    active: bool,
    drops: u64,
    /// xorshift64* state.
    state: u64,
}

impl ElementClass for RandomSample {
    const CLASS: &'static str = "RandomSample";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = "a/ah";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let p: Option<f64> = args.read_p("P")?;
        let sample: Option<f64> = args.read("SAMPLE")?;
        let drop: Option<f64> = args.read("DROP")?;
        let active = args.read("ACTIVE")?.unwrap_or(true);
        if sample.is_some() && drop.is_some() {
            return Err("give at most one of SAMPLE and DROP".into());
        }
        let sample = match (drop, sample.or(p)) {
            (Some(d), _) => ONE - fixed(d)?,
            (None, Some(s)) => fixed(s)?,
            // Click refuses it too (its unset probability is out of range).
            (None, None) => return Err("give P, SAMPLE or DROP".into()),
        };
        Ok(RandomSample {
            sample,
            active,
            drops: 0,
            state: 0x9e37_79b9_7f4a_7c15,
        })
    }
}

/// A probability as a fraction of 2^28; an error outside [0, 1].
fn fixed(p: f64) -> Result<u32, String> {
    if !(0.0..=1.0).contains(&p) {
        return Err("sampling probability must be between 0 and 1".into());
    }
    Ok((p * f64::from(ONE)).round() as u32)
}

/// A fraction of 2^28 in decimal, as Click prints it (`0.25`, `1`).
fn unparse(v: u32) -> String {
    let s = format!("{:.8}", f64::from(v) / f64::from(ONE));
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl RandomSample {
    /// 28 random bits.
    fn draw(&mut self) -> u32 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        (self.state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 36) as u32
    }
}

impl PacketElement for RandomSample {
    #[inline]
    fn process(&mut self, _packet: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        if !self.active || self.draw() < self.sample {
            return Some(0);
        }
        self.drops += 1;
        // Output 1 unconnected: the engine drops and counts the packet.
        Some(1)
    }

    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[
            Handler::read_write("sampling_prob"),
            Handler::read_write("drop_prob"),
            Handler::read_write("active"),
            Handler::read("drops"),
        ];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        Some(match name {
            "sampling_prob" => unparse(self.sample),
            "drop_prob" => unparse(ONE - self.sample),
            "active" => self.active.to_string(),
            "drops" => self.drops.to_string(),
            _ => return None,
        })
    }

    fn write_handler(&mut self, name: &str, value: &str, _ctx: &mut Ctx<'_>) -> Result<(), String> {
        let probability = || -> Result<u32, String> {
            let p: f64 = Args::new(value)
                .read_mp("P")
                .map_err(|_| "Must be given a number between 0.0 and 1.0".to_string())?;
            fixed(p).map_err(|_| "Must be given a number between 0.0 and 1.0".to_string())
        };
        match name {
            "sampling_prob" => self.sample = probability()?,
            "drop_prob" => self.sample = ONE - probability()?,
            "active" => self.active = Args::new(value).read_mp("ACTIVE")?,
            _ => return Err(format!("no write handler '{name}'")),
        }
        Ok(())
    }
}
