//! StaticThreadSched: places tasks on scheduler threads.

use click_engine::args::{split_words, Args};
use click_engine::{ConfigureCtx, Element, ElementClass};

/// `StaticThreadSched(ELEMENT THREAD, ...)`: runs each ELEMENT's task (and
/// the push path it starts) on scheduler thread THREAD (modulo the thread
/// count). The engine reads this configuration when it places elements;
/// the element itself only checks it.
///
/// * Ports: none.
/// * Handlers: none beyond the defaults.
#[derive(Debug)]
pub struct StaticThreadSched;

impl ElementClass for StaticThreadSched {
    const CLASS: &'static str = "StaticThreadSched";
    const PORT_COUNT: &'static str = "0/0";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        for arg in args.rest() {
            match split_words(&arg).as_slice() {
                [_element, thread] if thread.parse::<usize>().is_ok() => {}
                [_element, thread] => {
                    return Err(format!("'{arg}': THREAD '{thread}' is not a thread number"))
                }
                _ => return Err(format!("'{arg}': expected ELEMENT THREAD")),
            }
        }
        Ok(StaticThreadSched)
    }
}

impl Element for StaticThreadSched {}
