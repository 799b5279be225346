//! Generic elements: sources, sinks, queues, schedulers, counters.

mod counter;
mod discard;
mod infinitesource;
mod queue;
mod unqueue;

pub use counter::Counter;
pub use discard::Discard;
pub use infinitesource::InfiniteSource;
pub use queue::Queue;
pub use unqueue::Unqueue;

use click_engine::Registry;

pub(crate) fn register(r: &mut Registry) {
    r.add::<Counter>()
        .add::<Discard>()
        .add::<InfiniteSource>()
        .add::<Queue>()
        .add::<Unqueue>();
}
