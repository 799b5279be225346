//! ScheduleInfo: gives tasks their share of their thread.

use click_engine::args::{split_words, Args};
use click_engine::{ConfigureCtx, Element, ElementClass};

/// `ScheduleInfo(ELEMENT PARAM, ...)`: ELEMENT's task gets PARAM times the
/// default number of tickets (a real number; 1 is the default share), as
/// in Click's stride scheduling: on a thread, a task with twice the
/// tickets runs twice as often. The engine reads this configuration when
/// it creates tasks; the element itself only checks it.
///
/// * Ports: none.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct ScheduleInfo;

impl ElementClass for ScheduleInfo {
    const CLASS: &'static str = "ScheduleInfo";
    const PORT_COUNT: &'static str = "0/0";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        for arg in args.rest() {
            match split_words(&arg).as_slice() {
                [_element, param] if param.parse::<f64>().is_ok_and(|p| p > 0.0) => {}
                [_element, param] => {
                    return Err(format!("'{arg}': PARAM '{param}' is not a positive number"))
                }
                _ => return Err(format!("'{arg}': expected ELEMENT PARAM")),
            }
        }
        Ok(ScheduleInfo)
    }
}

impl Element for ScheduleInfo {}
