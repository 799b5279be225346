//! Tasks and the per-thread scheduler loop.
//!
//! Each scheduler thread owns a [`Shard`](crate::shard::Shard): its
//! elements, their tasks and timers. Tasks are picked by stride scheduling
//! (Click's tickets: a task with twice the tickets runs twice as often).
//! When no task is scheduled and no timer is due, the thread sleeps (see
//! `poller.rs`) until the next timer, a watched file descriptor, or a
//! notifier or control message wakes it, so an idle router does not burn a
//! core.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use std::sync::Arc;

use crate::poller::WakeFd;

/// Click's default number of tickets for a task.
pub const DEFAULT_TICKETS: u32 = 1024;
/// Most tickets a task can have (Click's `Task::MAX_TICKETS`).
pub const MAX_TICKETS: u32 = 1 << 15;
const STRIDE_ONE: u64 = 1 << 24;

/// A handle to a task that other elements and threads can wake.
#[derive(Clone, Debug)]
pub struct TaskHandle(Arc<TaskState>);

/// `TaskState::sched` bits: the task is scheduled (it runs when picked).
const SCHEDULED: u8 = 1;
/// `TaskState::sched` bits: a wake came since the task's run began (see
/// [`TaskHandle::after_sleep`]).
const WOKEN: u8 = 2;

#[derive(Debug)]
struct TaskState {
    /// `SCHEDULED | WOKEN` bits. A task stays scheduled while it runs;
    /// only its own thread clears the bits (`before_run`, `after_sleep`),
    /// and wakes set both in one swap.
    sched: AtomicU8,
    /// The task's share (Click's tickets); the `tickets` handler may
    /// change it while the router runs.
    tickets: AtomicU32,
    thread: Arc<ThreadWaker>,
    /// The scheduler thread the task runs on (Click's `home_thread`).
    home_thread: usize,
}

impl TaskHandle {
    pub(crate) fn new(scheduled: bool, thread: Arc<ThreadWaker>, home_thread: usize) -> Self {
        TaskHandle(Arc::new(TaskState {
            sched: AtomicU8::new(if scheduled { SCHEDULED } else { 0 }),
            tickets: AtomicU32::new(DEFAULT_TICKETS),
            thread,
            home_thread,
        }))
    }

    /// The scheduler thread the task runs on.
    pub fn home_thread(&self) -> usize {
        self.0.home_thread
    }

    /// Schedules the task; wakes its thread if the task was asleep.
    #[inline]
    pub fn wake(&self) {
        if self.0.sched.swap(SCHEDULED | WOKEN, Ordering::SeqCst) & SCHEDULED == 0 {
            self.0.thread.wake();
        }
    }

    /// The task's tickets.
    pub fn tickets(&self) -> u32 {
        self.0.tickets.load(Ordering::Relaxed)
    }

    /// Sets the task's tickets (1 to `MAX_TICKETS`); its thread's
    /// scheduler picks the change up at the task's next run.
    pub(crate) fn set_tickets(&self, tickets: u32) {
        self.0
            .tickets
            .store(tickets.clamp(1, MAX_TICKETS), Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn is_scheduled(&self) -> bool {
        self.0.sched.load(Ordering::Acquire) & SCHEDULED != 0
    }

    /// The task is about to run: forgets the wakes that came before (the
    /// run sees what they announced), so that only a wake during the run
    /// keeps a sleeping task scheduled, as when tasks were unscheduled for
    /// their runs. A plain load unless a wake came (an atomic swap then,
    /// whose acquire makes the waker's signal visible to the run; a wake
    /// that lands between the load and the swap is taken by it too).
    #[inline(always)]
    pub(crate) fn before_run(&self) {
        if self.0.sched.load(Ordering::Relaxed) & WOKEN != 0 {
            // Only this thread clears SCHEDULED, and the task was picked.
            self.0.sched.swap(SCHEDULED, Ordering::SeqCst);
        }
    }

    /// The task's run ended with a sleep (`Ctx::sleep`): unschedules it,
    /// unless a wake came since it last slept, which may have raised a
    /// signal after the task read it; then it stays scheduled and runs
    /// again.
    ///
    /// Why no wake is lost, with no atomic read-modify-write or fence on
    /// a run that does not sleep (which an unschedule before every run and
    /// a fence after it cost: two a batch on a Queue path): a waker raises
    /// the signal and then swaps in `SCHEDULED | WOKEN`; this swap clears
    /// both. Swaps of one location are totally ordered. If the waker's
    /// came first, this one reads `WOKEN` and reschedules. If this one came
    /// first, the waker's reads `SCHEDULED` clear and wakes the thread.
    #[cold]
    #[inline(never)]
    pub(crate) fn after_sleep(&self) {
        if self.0.sched.swap(0, Ordering::SeqCst) & WOKEN != 0 {
            // A waker may have swapped in both bits since: keep them.
            self.0.sched.fetch_or(SCHEDULED, Ordering::Relaxed);
        }
    }
}

/// Wakes a sleeping scheduler thread. Wakers exist from the start (tasks
/// are created before their threads); a wake before the thread sleeps is
/// remembered and keeps it from sleeping.
///
/// A thread about to sleep marks itself sleeping and then looks for a
/// pending wake; a waker marks the wake pending and then, if the thread is
/// sleeping, writes its eventfd. Both orders are SeqCst, so either the
/// thread sees the wake or the waker sees it sleeping: no wake is lost, and
/// a wake costs a system call only when the thread really sleeps.
#[derive(Debug, Default)]
pub struct ThreadWaker {
    pending: AtomicBool,
    sleeping: AtomicBool,
    /// The eventfd the thread's poller watches (none: the thread never
    /// sleeps, as in a test harness).
    fd: Option<WakeFd>,
}

impl ThreadWaker {
    /// A waker for a thread that sleeps in a poller watching its eventfd.
    pub(crate) fn new() -> std::io::Result<ThreadWaker> {
        Ok(ThreadWaker {
            fd: Some(WakeFd::new()?),
            ..ThreadWaker::default()
        })
    }

    /// Wakes the thread if it sleeps (or keeps it from sleeping next).
    #[inline]
    pub fn wake(&self) {
        self.pending.store(true, Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) {
            self.signal();
        }
    }

    #[cold]
    fn signal(&self) {
        if let Some(fd) = &self.fd {
            fd.signal();
        }
    }

    /// Whether a wake is pending (not yet taken by the thread).
    #[inline]
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.load(Ordering::SeqCst)
    }

    /// Takes a pending wake, if there is one.
    #[inline]
    pub(crate) fn take_pending(&self) -> bool {
        self.pending.swap(false, Ordering::AcqRel)
    }

    /// The thread is about to sleep: returns false (and stays awake) if a
    /// wake is already pending.
    pub(crate) fn start_sleeping(&self) -> bool {
        self.sleeping.store(true, Ordering::SeqCst);
        if self.pending.swap(false, Ordering::SeqCst) {
            self.sleeping.store(false, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// The thread woke up.
    pub(crate) fn stop_sleeping(&self) {
        self.sleeping.store(false, Ordering::SeqCst);
        self.pending.store(false, Ordering::Release);
    }

    /// The eventfd its thread's poller watches.
    pub(crate) fn fd(&self) -> Option<&WakeFd> {
        self.fd.as_ref()
    }
}

/// One task in a shard's run list.
#[derive(Debug)]
pub(crate) struct TaskEntry {
    pub element: usize,
    pub handle: TaskHandle,
    /// The tickets `stride` was computed from.
    tickets: u32,
    pub stride: u64,
    pub pass: u64,
}

impl TaskEntry {
    pub fn new(element: usize, handle: TaskHandle, tickets: u32) -> Self {
        handle.set_tickets(tickets);
        let tickets = handle.tickets();
        TaskEntry {
            element,
            handle,
            tickets,
            stride: STRIDE_ONE / u64::from(tickets),
            pass: 0,
        }
    }

    /// Follows a change of the task's tickets (a `tickets` write).
    #[inline]
    fn refresh_stride(&mut self) {
        let tickets = self.handle.tickets();
        if tickets != self.tickets {
            self.tickets = tickets;
            self.stride = STRIDE_ONE / u64::from(tickets);
        }
    }
}

/// Picks the scheduled task with the smallest pass (stride scheduling).
/// `clock` is the pass of the last task run: a task waking from a long
/// sleep starts there instead of monopolising the thread to catch up.
pub(crate) fn pick_task(tasks: &mut [TaskEntry], clock: &mut u64) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, t) in tasks.iter().enumerate() {
        if t.handle.is_scheduled() && best.is_none_or(|b| t.pass < tasks[b].pass) {
            best = Some(i);
        }
    }
    let task = &mut tasks[best?];
    task.refresh_stride();
    task.pass = task.pass.max(*clock);
    *clock = task.pass;
    task.pass += task.stride;
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stride_scheduling_follows_tickets() {
        let waker = Arc::new(ThreadWaker::default());
        let mut tasks = vec![
            TaskEntry::new(0, TaskHandle::new(true, waker.clone(), 0), 1024),
            TaskEntry::new(1, TaskHandle::new(true, waker.clone(), 0), 2048),
        ];
        let mut runs = [0; 2];
        let mut clock = 0;
        for _ in 0..3000 {
            runs[pick_task(&mut tasks, &mut clock).unwrap()] += 1;
        }
        assert!(
            (runs[1] as f64 / runs[0] as f64 - 2.0).abs() < 0.01,
            "{runs:?}"
        );
    }

    #[test]
    fn a_run_that_sleeps_stays_scheduled_only_if_woken_during_it() {
        let waker = Arc::new(ThreadWaker::default());
        let h = TaskHandle::new(true, waker.clone(), 0);
        // A wake before the run is the run's to see: the sleep unschedules.
        h.wake();
        h.before_run();
        h.after_sleep();
        assert!(!h.is_scheduled());
        // A wake during the run (after the task read its signals) keeps
        // it scheduled, once.
        h.wake();
        h.before_run();
        h.wake();
        h.after_sleep();
        assert!(h.is_scheduled());
        h.before_run();
        h.after_sleep();
        assert!(!h.is_scheduled());
        // A run that does not sleep leaves it scheduled.
        h.wake();
        h.before_run();
        assert!(h.is_scheduled());
    }

    #[test]
    fn sleeping_tasks_are_skipped_and_woken() {
        let waker = Arc::new(ThreadWaker::default());
        let h = TaskHandle::new(false, waker.clone(), 0);
        let mut tasks = vec![TaskEntry::new(7, h.clone(), DEFAULT_TICKETS)];
        let mut clock = 0;
        assert_eq!(pick_task(&mut tasks, &mut clock), None);
        h.wake();
        assert_eq!(pick_task(&mut tasks, &mut clock), Some(0));
    }
}
