//! AlignmentInfo: where packets start relative to word boundaries.

use click_engine::args::{split_words, Args};
use click_engine::{ConfigureCtx, Element, ElementClass};

/// `AlignmentInfo(ELEMENT [MODULUS OFFSET ...], ...)`: says that packets
/// arriving on ELEMENT's input *n* start OFFSET*n* bytes past a
/// MODULUS*n*-byte boundary, one MODULUS OFFSET pair per input. Click's
/// `click-align` writes these; Click's elements may use them to pick a
/// faster code path. Ours read unaligned data safely everywhere, so the
/// element only checks its configuration (each OFFSET below its
/// MODULUS).
///
/// * Ports: none.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct AlignmentInfo;

impl ElementClass for AlignmentInfo {
    const CLASS: &'static str = "AlignmentInfo";
    const PORT_COUNT: &'static str = "0/0";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        for arg in args.rest() {
            let words = split_words(&arg);
            let Some((_element, pairs)) = words.split_first() else {
                return Err("expected ELEMENT [MODULUS OFFSET ...]".into());
            };
            if pairs.len() % 2 != 0 {
                return Err(format!("'{arg}': expected ELEMENT [MODULUS OFFSET ...]"));
            }
            for pair in pairs.chunks(2) {
                let (modulus, offset) = (pair[0].parse::<u32>(), pair[1].parse::<u32>());
                match (modulus, offset) {
                    (Ok(m), Ok(o)) if o < m => {}
                    _ => {
                        return Err(format!(
                            "'{arg}': '{} {}' is not a MODULUS and an OFFSET below it",
                            pair[0], pair[1]
                        ))
                    }
                }
            }
        }
        Ok(AlignmentInfo)
    }
}

impl Element for AlignmentInfo {}
