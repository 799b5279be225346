//! Generic elements: sources, sinks, queues, schedulers, counters.

mod counter;
mod discard;
mod drivermanager;
mod handlercall;
mod idle;
mod infinitesource;
mod null;
mod paint;
mod paintswitch;
mod print;
mod priosched;
mod queue;
mod ratedsource;
mod ratedsplitter;
mod ratedunqueue;
mod resize;
mod roundrobinsched;
mod scheduleinfo;
mod script;
mod simplequeue;
mod sourcedata;
mod staticthreadsched;
mod stridesched;
mod strip;
mod switch;
mod tee;
mod threadsafequeue;
mod timedsource;
mod tokenbucket;
mod unqueue;
mod unstrip;

pub use counter::Counter;
pub use discard::Discard;
pub use drivermanager::DriverManager;
pub use idle::Idle;
pub use infinitesource::InfiniteSource;
pub use null::{Null, PullNull, PushNull};
pub use paint::Paint;
pub use paintswitch::PaintSwitch;
pub use print::Print;
pub use priosched::PrioSched;
pub use queue::Queue;
pub use ratedsource::RatedSource;
pub use ratedsplitter::{BandwidthRatedSplitter, RatedSplitter};
pub use ratedunqueue::{BandwidthRatedUnqueue, RatedUnqueue};
pub use resize::Resize;
pub use roundrobinsched::RoundRobinSched;
pub use scheduleinfo::ScheduleInfo;
pub use script::Script;
pub use simplequeue::{FrontDropQueue, NotifierQueue, SimpleQueue};
pub use staticthreadsched::StaticThreadSched;
pub use stridesched::StrideSched;
pub use strip::Strip;
pub use switch::Switch;
pub use tee::{PullTee, Tee};
pub use threadsafequeue::ThreadSafeQueue;
pub use timedsource::TimedSource;
pub use unqueue::Unqueue;
pub use unstrip::Unstrip;

use click_engine::Registry;

/// Click's other name for Queue.
const FULL_NOTE_QUEUE: &str = "FullNoteQueue";

/// Class aliases: (alias, class), as Click's.
pub const ALIASES: &[(&str, &str)] = &[(FULL_NOTE_QUEUE, "Queue")];

pub(crate) fn register(r: &mut Registry) {
    r.add::<Counter>()
        .add::<Discard>()
        .add::<InfiniteSource>()
        .add::<Queue>()
        .alias::<Queue>(FULL_NOTE_QUEUE)
        .add::<NotifierQueue>()
        .add::<FrontDropQueue>()
        .add::<Unqueue>();
    r.add::<Script>().add::<DriverManager>();
    r.add::<Idle>();
    r.add::<Null>().add::<PushNull>().add::<PullNull>();
    r.add::<Paint>();
    r.add::<PaintSwitch>();
    r.add::<Print>();
    r.add::<PrioSched>();
    r.add::<PullTee>();
    r.add::<RatedSource>();
    r.add::<RatedSplitter>().add::<BandwidthRatedSplitter>();
    r.add::<RatedUnqueue>().add::<BandwidthRatedUnqueue>();
    r.add::<Resize>();
    r.add::<RoundRobinSched>();
    r.add::<SimpleQueue>();
    r.add::<ScheduleInfo>();
    r.add::<StaticThreadSched>();
    r.add::<StrideSched>();
    r.add::<Strip>();
    r.add::<Switch>();
    r.add::<Tee>();
    r.add::<ThreadSafeQueue>();
    r.add::<TimedSource>();
    r.add::<Unstrip>();
}
