//! StaticThreadSched: places tasks on scheduler threads.

use click_engine::args::{split_words, Args};
use click_engine::{ConfigureCtx, Element, ElementClass};

/// `StaticThreadSched(ELEMENT THREAD, ...)`: runs each ELEMENT's task (and
/// the push path it starts) on scheduler thread THREAD (modulo the thread
/// count). ELEMENT is looked up as Click looks up element arguments: in the
/// StaticThreadSched's own compound first, then in each enclosing one; a
/// compound's name places every element in it. A later StaticThreadSched
/// overrides an earlier one, so one inside a compound can place a part of
/// a compound that an outer one placed as a whole. A name that matches no
/// element is an error. The engine reads this configuration when it places
/// elements; the element itself only checks its syntax.
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
