//! `router -R`: the global `hotconfig` write handler, which replaces the
//! running router with one built from new configuration text (Click's hot
//! swapping).
//!
//! The new text is parsed, flattened and checked (classes, ports,
//! push/pull, configuration strings, thread placement) while the old router
//! runs; if anything is wrong, the write fails with the errors and the old
//! router goes on. Otherwise the old router stops, its elements hand over
//! their state ([`click_engine::HotSwap`]) and the new router starts, its
//! elements taking the state of their namesakes.

use std::sync::{Arc, Mutex, Weak};

use click_engine::{HotSwap, Router, RouterHandle};
use click_lang::FlatConfig;

/// A router and the configuration it was built from (for its errors).
pub struct Loaded {
    pub router: Router,
    pub config: FlatConfig,
}

/// Builds a router from `hotconfig` text, or says why it cannot.
pub type Build = Box<dyn Fn(&str) -> Result<Loaded, String> + Send + Sync>;

/// The driver's side of hot swapping: the router waiting to replace the
/// running one, and the state passed between them.
pub struct Reconfigure {
    build: Build,
    /// The router running now.
    running: Mutex<Option<RouterHandle>>,
    /// The router that replaces it when it stops.
    next: Mutex<Option<Loaded>>,
    /// Elements' state, from the running router to the next.
    pub state: Arc<HotSwap>,
}

impl Reconfigure {
    pub fn new(build: Build) -> Arc<Self> {
        Arc::new(Reconfigure {
            build,
            running: Mutex::new(None),
            next: Mutex::new(None),
            state: Arc::new(HotSwap::new()),
        })
    }

    /// Gives `router` the `hotconfig` handler.
    pub fn install(self: &Arc<Self>, router: &mut Router) {
        // Weak: the routers this holds carry the handler too.
        let me: Weak<Self> = Arc::downgrade(self);
        router.add_global_write(
            "hotconfig",
            Arc::new(move |text| match me.upgrade() {
                Some(me) => me.hotconfig(text),
                None => Err("the router is not running".into()),
            }),
        );
    }

    /// `router` is the first to run.
    pub fn running(&self, router: &Router) {
        *lock(&self.running) = Some(router.handle());
    }

    /// The router to run next, if a `hotconfig` write stopped the last
    /// one; it counts as running from now on, so that a write that comes
    /// before it starts stops it in turn (it then hands over what it took).
    pub fn take_next(&self) -> Option<Loaded> {
        let mut next = lock(&self.next);
        let taken = next.take()?;
        *lock(&self.running) = Some(taken.router.handle());
        Some(taken)
    }

    fn hotconfig(self: Arc<Self>, text: &str) -> Result<(), String> {
        let mut built = (self.build)(text)?;
        self.install(&mut built.router);
        // The lock orders this against `take_next`. A second write before
        // the swap replaces the first.
        let mut next = lock(&self.next);
        *next = Some(built);
        self.state.arm();
        if let Some(running) = lock(&self.running).as_ref() {
            running.stop();
        }
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
