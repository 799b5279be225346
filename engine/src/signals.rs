//! Unix signals for elements, as Click's master delivers them to
//! `Script(TYPE SIGNAL ...)`.
//!
//! An element *catches* a signal for one delivery: when the signal arrives,
//! thread 0 writes the element's handler (Script's `run`) between two
//! scheduling rounds, as Click's driver runs signal handlers between task
//! rounds. A catch is used up by its delivery; Script catches again when it
//! ends with `end`. Signals that arrive before thread 0 gets to them are
//! delivered once. A signal that an element of the router caught once but
//! that has no catch left takes its default action (it ends the process),
//! as Click resets such a signal to `SIG_DFL`.
//!
//! The binary asks for SIGINT and SIGTERM to stop the router
//! ([`stop_on`]): the first one stops it cleanly, a second one takes the
//! default action, as with Click's `click` driver. A signal an element
//! catches overrides that.
//!
//! The operating-system handlers belong to `signal-hook`. In signal
//! context, ours only marks the signal received (an atomic OR), so that
//! thread 0 sees it at its next round, even when the signal interrupted
//! thread 0 itself (a Script's `kill` of its own process). A watcher thread,
//! started with the first signal asked for, gets each signal again outside
//! signal context: it wakes the thread 0 that will deliver it, or stops a
//! router, or applies the default action.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::sched::ThreadWaker;

/// One catch: deliver `signal` to `element`'s `handler`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Catch {
    pub signal: i32,
    pub element: usize,
    pub handler: String,
}

/// A running router's signals, shared by its threads and the watcher.
pub(crate) struct RouterSignals {
    /// Signals some element caught at least once.
    caught_ever: AtomicU64,
    /// Signals that stop the router when no element catches them.
    stop_on: AtomicU64,
    catches: Mutex<Vec<Catch>>,
    stop: Arc<AtomicBool>,
    /// Thread 0, which delivers, and every thread, to notice a stop.
    wakers: Vec<Arc<ThreadWaker>>,
}

/// Routers running in this process, for the watcher.
static ROUTERS: Mutex<Vec<Weak<RouterSignals>>> = Mutex::new(Vec::new());
/// The watcher's handle, to add signals to it; `None` before the first.
static WATCHER: Mutex<Option<signal_hook::iterator::Handle>> = Mutex::new(None);
/// Signals the watcher listens to.
static WATCHED: AtomicU64 = AtomicU64::new(0);
/// Signals received and not yet delivered, one bit per number; set in
/// signal context.
static RECEIVED: AtomicU64 = AtomicU64::new(0);
/// Signals [`stop_on`] asked for before the router ran.
static STOP_ON: AtomicU64 = AtomicU64::new(0);

pub(crate) fn bit(signal: i32) -> u64 {
    1 << (signal as u32 % 64)
}

/// Whether any signal was received and not yet handed over (thread 0 asks
/// once a round: one load of a static; what was received and for whom is
/// sorted out by [`RouterSignals::take_due`]).
#[inline(always)]
pub(crate) fn any_received() -> bool {
    RECEIVED.load(Ordering::Relaxed) != 0
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Asks that `signals` stop the router run next in this process (SIGINT
/// and SIGTERM in the binary), the first time each arrives.
pub fn stop_on(signals: &[i32]) -> std::io::Result<()> {
    for &s in signals {
        watch(s)?;
        STOP_ON.fetch_or(bit(s), Ordering::AcqRel);
    }
    Ok(())
}

/// Makes the watcher listen to `signal` (starting the watcher if needed).
fn watch(signal: i32) -> std::io::Result<()> {
    if !(1..64).contains(&signal) {
        return Err(std::io::Error::other(format!("bad signal number {signal}")));
    }
    if signal_hook::consts::FORBIDDEN.contains(&signal) {
        // KILL, STOP, and the faults (ILL, FPE, SEGV): signal-hook would panic.
        return Err(std::io::Error::other(format!(
            "signal {signal} cannot be caught"
        )));
    }
    let mut watcher = lock(&WATCHER);
    if WATCHED.load(Ordering::Acquire) & bit(signal) != 0 {
        return Ok(());
    }
    let b = bit(signal);
    // SAFETY: the action only does an atomic OR on a static, which is
    // async-signal-safe.
    unsafe {
        signal_hook::low_level::register(signal, move || {
            RECEIVED.fetch_or(b, Ordering::SeqCst);
        })?;
    }
    match watcher.as_ref() {
        Some(handle) => handle.add_signal(signal)?,
        None => {
            let mut signals = signal_hook::iterator::Signals::new([signal])?;
            *watcher = Some(signals.handle());
            std::thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    for signal in signals.forever() {
                        hand_over(signal);
                    }
                })?;
        }
    }
    WATCHED.fetch_or(bit(signal), Ordering::AcqRel);
    Ok(())
}

/// The watcher got `signal`: the routers whose elements caught it deliver
/// it (their thread 0 is woken to); otherwise the first router asked to
/// stop on it stops; otherwise the signal takes its default action.
fn hand_over(signal: i32) {
    let b = bit(signal);
    if RECEIVED.load(Ordering::Acquire) & b == 0 {
        // Handled already: thread 0 delivered it (with any copies that
        // arrived before it looked), or an earlier notice took it. The
        // watcher may run late, even after the router that caught the
        // signal has ended; a stale notice must not end the process.
        return;
    }
    let routers: Vec<Arc<RouterSignals>> = {
        let mut list = lock(&ROUTERS);
        list.retain(|r| r.strong_count() > 0);
        list.iter().filter_map(Weak::upgrade).collect()
    };
    let mut taken = false;
    for r in routers
        .iter()
        .filter(|r| r.caught_ever.load(Ordering::Acquire) & b != 0)
    {
        r.wakers[0].wake();
        taken = true;
    }
    if !taken {
        // Claim the signal. Thread 0 of a router that caught it may have
        // taken it since the check above, delivered it and ended (no router
        // to find now): then it is handled, and must not end the process.
        if RECEIVED.fetch_and(!b, Ordering::AcqRel) & b == 0 {
            return;
        }
        if let Some(r) = routers
            .iter()
            .find(|r| r.stop_on.fetch_and(!b, Ordering::AcqRel) & b != 0)
        {
            tracing::info!(signal, "stopping on signal");
            r.request_stop();
            taken = true;
        }
    }
    if !taken {
        default_action(signal);
    }
}

/// What the signal would have done without us (for most: end the process).
fn default_action(signal: i32) {
    tracing::debug!(signal, "signal: default action");
    let _ = signal_hook::low_level::emulate_default_handler(signal);
}

impl RouterSignals {
    /// A router's signal state, known to the watcher until it is dropped.
    pub(crate) fn new(stop: Arc<AtomicBool>, wakers: Vec<Arc<ThreadWaker>>) -> Arc<Self> {
        let r = Arc::new(RouterSignals {
            caught_ever: AtomicU64::new(0),
            stop_on: AtomicU64::new(STOP_ON.load(Ordering::Acquire)),
            catches: Mutex::new(Vec::new()),
            stop,
            wakers,
        });
        let mut routers = lock(&ROUTERS);
        routers.retain(|r| r.strong_count() > 0);
        routers.push(Arc::downgrade(&r));
        drop(routers);
        r
    }

    /// `element` catches `signal` for one delivery to its `handler`.
    pub(crate) fn catch(&self, c: Catch) -> Result<(), String> {
        watch(c.signal).map_err(|e| format!("cannot catch signal {}: {e}", c.signal))?;
        let b = bit(c.signal);
        let mut catches = lock(&self.catches);
        // An element's catch overrides the stop on this signal, as a Script
        // replaces the click driver's handler.
        self.stop_on.fetch_and(!b, Ordering::AcqRel);
        self.caught_ever.fetch_or(b, Ordering::AcqRel);
        if !catches.contains(&c) {
            catches.push(c);
        }
        Ok(())
    }

    /// Takes the signals received so far and the catches they use up.
    pub(crate) fn take_due(&self) -> (u64, Vec<Catch>) {
        let mut catches = lock(&self.catches);
        let mine = self.caught_ever.load(Ordering::Acquire);
        let bits = RECEIVED.fetch_and(!mine, Ordering::AcqRel) & mine;
        let (due, keep) = catches.drain(..).partition(|c| bits & bit(c.signal) != 0);
        *catches = keep;
        (bits, due)
    }

    /// After delivering `bits`: a signal nobody caught, or that came again
    /// during delivery and has no catch left, takes its default action
    /// (Click's redelivery).
    pub(crate) fn settle(&self, bits: u64, delivered: u64) {
        let catches = lock(&self.catches);
        let again = RECEIVED.load(Ordering::Acquire);
        for signal in 1..64 {
            let b = bit(signal);
            if bits & b == 0 {
                continue;
            }
            let caught = catches.iter().any(|c| c.signal == signal);
            if delivered & b == 0 || (again & b != 0 && !caught) {
                RECEIVED.fetch_and(!b, Ordering::AcqRel);
                default_action(signal);
            }
        }
    }

    fn request_stop(&self) {
        self.stop.store(true, Ordering::Release);
        for w in &self.wakers {
            w.wake();
        }
    }
}

/// Parses a signal given by name (`INT`, `SIGUSR1`) or number.
pub fn parse_signal(text: &str) -> Option<i32> {
    if let Ok(n) = text.parse::<i32>() {
        return (1..64).contains(&n).then_some(n);
    }
    let name = text.strip_prefix("SIG").unwrap_or(text);
    Some(match name {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "ABRT" => libc::SIGABRT,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "PIPE" => libc::SIGPIPE,
        "ALRM" => libc::SIGALRM,
        "TERM" => libc::SIGTERM,
        "CHLD" => libc::SIGCHLD,
        "CONT" => libc::SIGCONT,
        "STOP" => libc::SIGSTOP,
        "TSTP" => libc::SIGTSTP,
        "WINCH" => libc::SIGWINCH,
        _ => return None,
    })
}

/// Sends `signal` to process `pid` (Script's `kill` handler). Only to one
/// process: kill(2)'s 0 and negative IDs (process groups, every process)
/// are refused.
///
/// To this process, the signal goes to the calling thread (raise(3)), so
/// that it has been received when this returns, as in single-threaded
/// Click: kill(2) may hand it to another of our threads, whose handler can
/// then run after thread 0 delivered the first of two signals sent in one
/// step, and end the process as a signal with no catch left.
pub fn send_signal(signal: i32, pid: i32) -> Result<(), String> {
    if pid <= 0 {
        return Err(format!("kill {pid}: not a process ID"));
    }
    let sent = if u32::try_from(pid) == Ok(std::process::id()) {
        // SAFETY: raise(3) takes a plain integer and touches no memory of
        // ours; our handler for it only does an atomic OR.
        unsafe { libc::raise(signal) }
    } else {
        // SAFETY: kill(2) takes plain integers and touches no memory of ours.
        unsafe { libc::kill(pid, signal) }
    };
    if sent == 0 {
        Ok(())
    } else {
        Err(format!("kill {pid}: {}", std::io::Error::last_os_error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_or_number() {
        assert_eq!(parse_signal("INT"), Some(libc::SIGINT));
        assert_eq!(parse_signal("SIGUSR1"), Some(libc::SIGUSR1));
        assert_eq!(parse_signal("10"), Some(10));
        assert_eq!(parse_signal("0"), None);
        assert_eq!(parse_signal("64"), None);
        assert_eq!(parse_signal("FOO"), None);
    }
}
