//! What the device tests share: test elements that collect received
//! frames and emit given ones, and running a router on a thread inside the
//! test's namespace.

#![allow(dead_code)] // each test binary uses its own part

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use click_engine::args::Args;
use click_engine::packet::{Packet, BATCH_CAPACITY};
use click_engine::{
    Batch, ConfigureCtx, Ctx, Element, ElementClass, Port, Registry, Router, RouterHandle,
    RunOptions, RunReport, PUSH,
};
use netmap_io::testnet::seq_of;

/// Frames collected by `Collect(ID)`, and frames `Frames(ID)` emits, by ID.
static COLLECTED: Mutex<Option<HashMap<u32, Vec<Vec<u8>>>>> = Mutex::new(None);
static TO_SEND: Mutex<Option<HashMap<u32, Vec<Vec<u8>>>>> = Mutex::new(None);

/// A fresh id for a test's Collect/Frames.
pub fn new_id() -> u32 {
    static N: AtomicU32 = AtomicU32::new(1);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The test frames `Collect(id)` has received so far.
pub fn collected(id: u32) -> Vec<Vec<u8>> {
    COLLECTED
        .lock()
        .unwrap()
        .as_ref()
        .and_then(|m| m.get(&id).cloned())
        .unwrap_or_default()
}

/// Gives `Frames(id)` the frames to emit.
pub fn to_send(id: u32, frames: Vec<Vec<u8>>) {
    TO_SEND
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert(id, frames);
}

/// `Collect(ID)`: keeps the bytes of every test frame pushed to it.
pub struct Collect {
    id: u32,
}

impl ElementClass for Collect {
    const CLASS: &'static str = "Collect";
    const PORT_COUNT: &'static str = "1/0";
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Collect {
            id: args.read_mp("ID")?,
        })
    }
}

impl Element for Collect {
    fn push(&mut self, _port: Port, batch: Batch, _ctx: &mut Ctx<'_>) {
        let mut all = COLLECTED.lock().unwrap();
        let v = all
            .get_or_insert_with(HashMap::new)
            .entry(self.id)
            .or_default();
        for p in batch.iter() {
            if seq_of(p.data()).is_some() {
                v.push(p.data().to_vec());
            }
        }
    }
}

/// `Frames(ID)`: emits the frames given to [`to_send`] for ID, a batch per
/// task run, then sleeps.
pub struct Frames {
    frames: Vec<Vec<u8>>,
    next: usize,
}

impl ElementClass for Frames {
    const CLASS: &'static str = "Frames";
    const PORT_COUNT: &'static str = "0/1";
    const PROCESSING: &'static str = PUSH;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let id: u32 = args.read_mp("ID")?;
        let frames = TO_SEND
            .lock()
            .unwrap()
            .as_mut()
            .and_then(|m| m.get(&id).cloned())
            .ok_or("no frames for this ID")?;
        Ok(Frames { frames, next: 0 })
    }
}

impl Element for Frames {
    fn has_task(&self) -> bool {
        true
    }

    fn run_task(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let mut batch = Batch::new();
        while self.next < self.frames.len() && batch.len() < BATCH_CAPACITY {
            batch.push(Packet::from_slice(&self.frames[self.next]).expect("pool"));
            self.next += 1;
        }
        if batch.is_empty() {
            ctx.sleep();
            return false;
        }
        ctx.push(0, batch);
        true
    }
}

/// The library's classes, the device elements and the test elements.
pub fn registry() -> Registry {
    let mut r = click_elements::registry();
    netmap_io::register(&mut r);
    r.add::<Collect>().add::<Frames>();
    r
}

/// Builds a router from `config`; the error rendered as the binary would.
pub fn build(config: &str) -> Result<Router, String> {
    let flat =
        click_lang::load_str(config, "config", &Default::default()).map_err(|d| d.render())?;
    Router::new(&flat, &registry()).map_err(|ds| {
        ds.iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// A router running on a thread of its own (in the calling thread's
/// namespace), with the handlers to read when it stops.
pub struct Running {
    pub handle: RouterHandle,
    runner: std::thread::JoinHandle<Result<RunReport, String>>,
}

impl Running {
    /// Starts `config` on `threads` threads and waits until `ready` (an
    /// `element.handler` of it) can be read.
    pub fn start(config: &str, threads: usize, reads: &[&str], ready: &str) -> Running {
        let r = build(config).unwrap_or_else(|e| panic!("{e}"));
        let handle = r.handle();
        let opts = RunOptions {
            threads,
            final_reads: reads.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let runner = std::thread::spawn(move || {
            r.run(&opts).map_err(|ds| {
                ds.iter()
                    .map(|d| d.message.clone())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while handle.read(ready).is_err() {
            assert!(
                !runner.is_finished(),
                "the router ended early: {:?}",
                runner.join().unwrap().map(|_| ())
            );
            assert!(Instant::now() < deadline, "the router did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        Running { handle, runner }
    }

    /// Stops the router; the final reads, in order.
    pub fn stop(self) -> Vec<String> {
        self.handle.stop();
        let report = self
            .runner
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("{e}"));
        report
            .reads
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| panic!("{e}")).trim().to_string())
            .collect()
    }
}

/// Waits until `done` or `timeout`; returns whether it is done.
pub fn wait_for(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}
