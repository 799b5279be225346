//! Generic elements: sources, sinks, queues, schedulers, counters.

/// Implements `Element` for a newtype `$outer(inner)` by forwarding every
/// call to the inner element: for Click's classes that are another class
/// under a new name with another configuration (SimpleQueue is a Queue
/// without notifiers, BandwidthRatedUnqueue a RatedUnqueue counting
/// bytes). What differs lives in the inner element's state.
macro_rules! forward_element {
    ($outer:ty) => {
        impl click_engine::Element for $outer {
            #[inline]
            fn push(
                &mut self,
                port: click_engine::Port,
                batch: click_engine::Batch,
                ctx: &mut click_engine::Ctx<'_>,
            ) {
                self.0.push(port, batch, ctx)
            }

            #[inline]
            fn pull(
                &mut self,
                port: click_engine::Port,
                max: usize,
                ctx: &mut click_engine::Ctx<'_>,
            ) -> Option<click_engine::Batch> {
                self.0.pull(port, max, ctx)
            }

            fn initialize(&mut self, ctx: &mut click_engine::InitCtx<'_>) -> Result<(), String> {
                self.0.initialize(ctx)
            }

            fn has_task(&self) -> bool {
                self.0.has_task()
            }

            fn run_task(&mut self, ctx: &mut click_engine::Ctx<'_>) -> bool {
                self.0.run_task(ctx)
            }

            fn run_timer(&mut self, _timer: click_engine::Timer, ctx: &mut click_engine::Ctx<'_>) {
                self.0.run_timer(_timer, ctx)
            }

            fn handlers(&self) -> &'static [click_engine::Handler] {
                self.0.handlers()
            }

            fn read_handler(&self, name: &str) -> Option<String> {
                self.0.read_handler(name)
            }

            fn write_handler(
                &mut self,
                name: &str,
                value: &str,
                ctx: &mut click_engine::Ctx<'_>,
            ) -> Result<(), String> {
                self.0.write_handler(name, value, ctx)
            }

            fn notifier(&self, kind: click_engine::NotifierKind) -> Option<click_engine::Signal> {
                self.0.notifier(kind)
            }

            fn hand_over(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
                self.0.hand_over()
            }

            fn cleanup(&mut self) {
                self.0.cleanup()
            }
        }
    };
}

mod addressinfo;
mod alignmentinfo;
mod annotationinfo;
mod averagecounter;
mod bypass;
mod checkpaint;
pub mod classification;
pub(crate) mod classifier;
mod clickyinfo;
mod clipboard;
mod counter;
mod delayshaper;
mod delayunqueue;
mod discard;
mod drivermanager;
mod gaprate;
mod handlercall;
mod hub;
mod length;
mod linkunqueue;
mod markmacheader;
mod message;
mod mixedqueue;
mod portinfo;
pub(crate) use handlercall::HandlerCall;
mod idle;
mod infinitesource;
mod inputswitch;
mod null;
mod paint;
mod paintswitch;
mod painttee;
mod portselector;
mod print;
mod priosched;
mod pullswitch;
mod queue;
mod randomsample;
mod ratedsource;
mod ratedsplitter;
mod ratedunqueue;
mod resize;
mod roundrobinsched;
mod roundrobinswitch;
mod scheduleinfo;
mod script;
mod setannobyte;
mod setpackettype;
mod settimestamp;
mod shaper;
mod simplequeue;
mod sourcedata;
mod staticswitch;
mod staticthreadsched;
mod stridesched;
mod strip;
mod switch;
mod tee;
mod threadsafequeue;
mod timedsink;
mod timedsource;
mod tokenbucket;
mod unqueue;
mod unstrip;

pub use addressinfo::AddressInfo;
pub use alignmentinfo::AlignmentInfo;
pub use annotationinfo::AnnotationInfo;
pub use averagecounter::AverageCounter;
pub use bypass::Bypass;
pub use checkpaint::CheckPaint;
pub use classifier::Classifier;
pub use clickyinfo::ClickyInfo;
pub use clipboard::Clipboard;
pub use counter::Counter;
pub use delayshaper::DelayShaper;
pub use delayunqueue::DelayUnqueue;
pub use discard::Discard;
pub use drivermanager::DriverManager;
pub use hub::Hub;
pub use idle::Idle;
pub use infinitesource::{InfiniteSource, RandomSource};
pub use inputswitch::InputSwitch;
pub use length::{Pad, Truncate};
pub use linkunqueue::LinkUnqueue;
pub use markmacheader::MarkMACHeader;
pub use message::Message;
pub use mixedqueue::MixedQueue;
pub use null::{Null, PullNull, PushNull};
pub use paint::Paint;
pub use paintswitch::PaintSwitch;
pub use painttee::PaintTee;
pub use portinfo::PortInfo;
pub use print::Print;
pub(crate) use print::{push_timestamp, Contents, Output};
pub use priosched::PrioSched;
pub use pullswitch::{PullSwitch, SimplePullSwitch};
pub use queue::Queue;
pub use randomsample::RandomSample;
pub use ratedsource::RatedSource;
pub use ratedsplitter::{BandwidthRatedSplitter, RatedSplitter};
pub use ratedunqueue::{BandwidthRatedUnqueue, RatedUnqueue};
pub use resize::Resize;
pub use roundrobinsched::RoundRobinSched;
pub use roundrobinswitch::RoundRobinSwitch;
pub use scheduleinfo::ScheduleInfo;
pub use script::Script;
pub use setannobyte::SetAnnoByte;
pub use setpackettype::SetPacketType;
pub use settimestamp::SetTimestamp;
pub use shaper::{BandwidthShaper, Shaper};
pub use simplequeue::{FrontDropQueue, NotifierQueue, SimpleQueue};
pub use staticswitch::StaticSwitch;
pub use staticthreadsched::StaticThreadSched;
pub use stridesched::StrideSched;
pub use strip::Strip;
pub use switch::Switch;
pub use tee::{PullTee, Tee};
pub use threadsafequeue::ThreadSafeQueue;
pub use timedsink::TimedSink;
pub use timedsource::TimedSource;
pub use unqueue::Unqueue;
pub use unstrip::Unstrip;

use click_engine::Registry;

/// Click's other name for Queue.
const FULL_NOTE_QUEUE: &str = "FullNoteQueue";

/// Class aliases: (alias, class), as Click's.
pub const ALIASES: &[(&str, &str)] = &[
    (FULL_NOTE_QUEUE, "Queue"),
    (AVERAGE_COUNTER_MP, "AverageCounter"),
    ("ICMPSendPings", "ICMPPingSource"),
];

const AVERAGE_COUNTER_MP: &str = "AverageCounterMP";

pub(crate) fn register(r: &mut Registry) {
    r.add::<AverageCounter>()
        .alias::<AverageCounter>(AVERAGE_COUNTER_MP);
    r.add::<Counter>()
        .add::<Discard>()
        .add::<InfiniteSource>()
        .add::<RandomSource>()
        .add::<Queue>()
        .alias::<Queue>(FULL_NOTE_QUEUE)
        .add::<NotifierQueue>()
        .add::<FrontDropQueue>()
        .add::<Unqueue>()
        .add::<DelayUnqueue>()
        .add::<MixedQueue>()
        .add::<LinkUnqueue>()
        .add::<DelayShaper>();
    r.add::<Script>().add::<DriverManager>();
    r.add::<Idle>();
    r.add::<Clipboard>();
    r.add::<Bypass>();
    r.add::<Classifier>();
    r.add::<InputSwitch>();
    r.add::<Null>().add::<PushNull>().add::<PullNull>();
    r.add::<Paint>();
    r.add::<PaintSwitch>().add::<PaintTee>();
    r.add::<SetAnnoByte>()
        .add::<SetPacketType>()
        .add::<SetTimestamp>();
    r.add::<AddressInfo>()
        .add::<AnnotationInfo>()
        .add::<PortInfo>();
    r.add::<Print>();
    r.add::<PrioSched>();
    r.add::<RoundRobinSwitch>();
    r.add::<PullTee>();
    r.add::<PullSwitch>().add::<SimplePullSwitch>();
    r.add::<RatedSource>();
    r.add::<RatedSplitter>().add::<BandwidthRatedSplitter>();
    r.add::<RatedUnqueue>().add::<BandwidthRatedUnqueue>();
    r.add::<Resize>();
    r.add::<RoundRobinSched>();
    r.add::<SimpleQueue>();
    r.add::<ScheduleInfo>();
    r.add::<AlignmentInfo>();
    r.add::<ClickyInfo>();
    r.add::<StaticThreadSched>();
    r.add::<StrideSched>();
    r.add::<Strip>();
    r.add::<Truncate>();
    r.add::<Pad>();
    r.add::<Switch>();
    r.add::<Tee>();
    r.add::<ThreadSafeQueue>();
    r.add::<TimedSource>();
    r.add::<TimedSink>();
    r.add::<Shaper>().add::<BandwidthShaper>();
    r.add::<Unstrip>();
    r.add::<Hub>()
        .add::<CheckPaint>()
        .add::<StaticSwitch>()
        .add::<RandomSample>()
        .add::<MarkMACHeader>()
        .add::<Message>();
}
