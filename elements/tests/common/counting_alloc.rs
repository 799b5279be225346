//! A counting `#[global_allocator]` for the zero-allocation tests (this
//! crate's `*_alloc.rs`, and the root crate's `tests/zero_alloc.rs` through
//! `#[path]`): it counts allocations, and reallocations (which may move),
//! made by threads whose `COUNTING` flag is set, in that thread's
//! `ALLOCS`; and, while `COUNTING_ALL` is set, those of every thread in
//! `ALL_ALLOCS`, for routers with several scheduler threads (tests using
//! it must run alone). Memory itself comes from `System`, unchanged.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub struct CountingAlloc;

thread_local! {
    // `const` initialization and no destructor: using them never allocates.
    pub static COUNTING: Cell<bool> = const { Cell::new(false) };
    pub static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

/// Counting on every thread.
pub static COUNTING_ALL: AtomicBool = AtomicBool::new(false);
pub static ALL_ALLOCS: AtomicU64 = AtomicU64::new(0);

fn note_alloc() {
    if COUNTING_ALL.load(Ordering::Relaxed) {
        ALL_ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
    // `try_with`: allocations during thread teardown must not panic.
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every method forwards to `System` unchanged; counting has no
// effect on the memory handed out.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc();
        // SAFETY: the caller upholds `alloc`'s contract, which we forward.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_alloc();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_alloc();
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;
