//! Sleeping on file descriptors: a device-like source watching a pipe
//! sleeps with its thread while the pipe is idle (no CPU), wakes within a
//! millisecond when data arrives, and under load makes at most one wait
//! system call per batch. (One test binary of its own, so that the
//! process's CPU time is the router's.)

use std::io::Write as _;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use click_engine::args::Args;
use click_engine::packet::Packet;
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Handler, InitCtx, Interest, Readiness, Router,
    RunOptions,
};

/// `PipeSource(FD, BURST)`: reads 64-byte packets from a pipe, as a
/// device element reads frames from its ring: its task runs while there
/// is data and sleeps when the pipe is empty, woken by `selected`. End of
/// file stops the router.
struct PipeSource {
    fd: RawFd,
    burst: usize,
    batches: u64,
    /// When each read that found data ran (for the latency test, whose
    /// writes are far enough apart that each is one read: recording only
    /// the first read after the task slept lost a write that came before
    /// the task had gone back to sleep, on a machine whose hypervisor held
    /// the thread up for 20 ms).
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

static ARRIVALS: Mutex<Option<Arc<Mutex<Vec<Instant>>>>> = Mutex::new(None);
/// The tests measure the process: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
static BATCHES: AtomicU64 = AtomicU64::new(0);

impl ElementClass for PipeSource {
    const CLASS: &'static str = "PipeSource";
    const PORT_COUNT: &'static str = "0/1";
    const PROCESSING: &'static str = "h/h";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let arrivals = ARRIVALS.lock().unwrap().clone().unwrap_or_default();
        Ok(PipeSource {
            fd: args.read_mp("FD")?,
            burst: args.read_p("BURST")?.unwrap_or(32),
            batches: 0,
            arrivals,
        })
    }
}

impl Element for PipeSource {
    fn initialize(&mut self, ctx: &mut InitCtx<'_>) -> Result<(), String> {
        ctx.start_unscheduled();
        ctx.add_select(self.fd, Interest::READ)
    }

    fn has_task(&self) -> bool {
        true
    }

    fn selected(&mut self, _fd: RawFd, _ready: Readiness, ctx: &mut Ctx<'_>) {
        ctx.wake_task();
    }

    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let mut buf = [0u8; 64 * 32];
        let want = 64 * self.burst.min(32);
        // SAFETY: reads at most `want` <= buf.len() bytes into a live buffer.
        let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), want) };
        if n == 0 {
            ctx.stop_router();
            ctx.sleep();
            return false;
        }
        if n < 0 {
            // Empty: sleep until the pipe is readable again.
            ctx.sleep();
            return false;
        }
        self.arrivals.lock().unwrap().push(Instant::now());
        let mut batch = Batch::new();
        for chunk in buf[..n as usize].chunks(64) {
            if let Ok(p) = Packet::from_slice(chunk) {
                let _ = batch.try_push(p);
            }
        }
        self.batches += 1;
        BATCHES.fetch_add(1, Ordering::Relaxed);
        ctx.push(0, batch);
        true
    }

    fn handlers(&self) -> &'static [Handler] {
        const H: &[Handler] = &[Handler::read("batches")];
        H
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "batches").then(|| self.batches.to_string())
    }
}

fn pipe() -> (OwnedFd, std::fs::File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a live array for pipe2 to fill.
    assert_eq!(
        unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) },
        0
    );
    // SAFETY: both were just returned by pipe2 and are owned by nobody;
    // the write end is made blocking again for the writer.
    unsafe {
        let flags = libc::fcntl(fds[1], libc::F_GETFL);
        libc::fcntl(fds[1], libc::F_SETFL, flags & !libc::O_NONBLOCK);
        (
            OwnedFd::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    }
}

fn router(config: &str) -> Router {
    let flat = click_lang::load_str(config, "config", &Default::default()).unwrap();
    let mut registry = click_elements::registry();
    registry.add::<PipeSource>();
    Router::new(&flat, &registry).unwrap_or_else(|e| panic!("{e:?}"))
}

/// This process's CPU time (user + system).
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills a live rusage struct.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// Idle, the router sleeps: under 1% of a core over a second. Data wakes
/// it within a millisecond (median of 20 wakes).
#[test]
fn an_idle_source_sleeps_and_wakes_at_once() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    *ARRIVALS.lock().unwrap() = Some(arrivals.clone());
    let (read_end, mut write_end) = pipe();
    let r = router(&format!(
        "s :: PipeSource({}) -> c :: Counter -> Discard;",
        read_end.as_raw_fd()
    ));
    let stop = r.handle();
    let runner = std::thread::spawn(move || {
        let opts = RunOptions {
            final_reads: vec!["c.count".into()],
            ..Default::default()
        };
        r.run(&opts).unwrap()
    });
    std::thread::sleep(Duration::from_millis(200));

    let cpu0 = cpu_time();
    std::thread::sleep(Duration::from_secs(1));
    let idle_cpu = cpu_time() - cpu0;
    assert!(
        idle_cpu < Duration::from_millis(10),
        "idle for 1 s, the router used {idle_cpu:?} of CPU"
    );

    let mut latencies = Vec::new();
    for _ in 0..20 {
        let before = arrivals.lock().unwrap().len();
        let sent = Instant::now();
        write_end.write_all(&[7u8; 64]).unwrap();
        let deadline = sent + Duration::from_secs(5);
        let arrived = loop {
            if let Some(&t) = arrivals.lock().unwrap().get(before) {
                break t;
            }
            assert!(Instant::now() < deadline, "the packet never arrived");
            std::thread::yield_now();
        };
        latencies.push(arrived.saturating_duration_since(sent));
        std::thread::sleep(Duration::from_millis(20));
    }
    latencies.sort();
    eprintln!("idle CPU {idle_cpu:?}; wake-up latencies {latencies:?}");
    assert!(
        latencies[10] < Duration::from_millis(1),
        "median wake-up latency {:?} (all: {latencies:?})",
        latencies[10]
    );
    drop(write_end);
    stop.stop();
    let report = runner.join().unwrap();
    assert_eq!(report.reads[0].as_deref(), Ok("20\n"));
}

/// Busy, the router looks at its descriptors at most once per batch: the
/// source keeps its task running while the pipe has data.
#[test]
fn a_busy_source_makes_at_most_one_wait_per_batch() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (read_end, mut write_end) = pipe();
    let r = router(&format!(
        "s :: PipeSource({}, BURST 32) -> c :: Counter -> Discard;",
        read_end.as_raw_fd()
    ));
    let writer = std::thread::spawn(move || {
        let chunk = [1u8; 64 * 64];
        for _ in 0..2000 {
            write_end.write_all(&chunk).unwrap();
        }
        // Dropping the write end ends the run (end of file).
    });
    let before = BATCHES.load(Ordering::Relaxed);
    let report = r
        .run(&RunOptions {
            final_reads: vec!["c.count".into(), "s.batches".into()],
            ..Default::default()
        })
        .unwrap();
    writer.join().unwrap();
    assert_eq!(report.reads[0].as_deref(), Ok("128000\n"));
    let batches = BATCHES.load(Ordering::Relaxed) - before;
    eprintln!("{} waits for {batches} batches", report.waits);
    assert!(
        report.waits <= batches,
        "{} waits for {batches} batches",
        report.waits
    );
}
