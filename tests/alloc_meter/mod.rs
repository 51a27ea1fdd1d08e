//! A global allocator that counts, for the thread that asks, how many
//! bytes are live, the most that were live at once, the largest single
//! allocation, and how many allocations were made. Shared by `tests/bounded_resources.rs` and
//! `tests/fuzz_corpus.rs`; a test binary that includes it opts in to
//! `unsafe` (the library itself forbids it).
#![allow(dead_code, unreachable_pub)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub(crate) struct Counting;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

struct Meter {
    on: Cell<bool>,
    live: Cell<isize>,
    peak: Cell<isize>,
    largest: Cell<isize>,
    allocations: Cell<usize>,
}

thread_local! {
    // Const-initialised and without `Drop`: using it allocates nothing,
    // so the allocator may touch it.
    static METER: Meter = const {
        Meter {
            on: Cell::new(false),
            live: Cell::new(0),
            peak: Cell::new(0),
            largest: Cell::new(0),
            allocations: Cell::new(0),
        }
    };
}

fn record(delta: isize) {
    let _ = METER.try_with(|m| {
        if m.on.get() {
            let live = m.live.get() + delta;
            m.live.set(live);
            m.peak.set(m.peak.get().max(live));
            m.largest.set(m.largest.get().max(delta));
            if delta > 0 {
                m.allocations.set(m.allocations.get() + 1);
            }
        }
    });
}

fn size(bytes: usize) -> isize {
    isize::try_from(bytes).unwrap_or(isize::MAX)
}

// SAFETY: every call is forwarded unchanged to `System`; the only added
// work is arithmetic on thread-local cells, which does not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            record(size(layout.size()));
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            record(size(layout.size()));
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        record(-size(layout.size()));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // Counted as a move, the worst case: for a moment the new
            // block is live next to the old one.
            record(size(new_size));
            record(-size(layout.size()));
        }
        new
    }
}

/// Runs `f` with the meter counting from zero: its result, the bytes it
/// left live (allocated and not freed), and the most that were live at once.
fn metered<R>(f: impl FnOnce() -> R) -> (R, isize, isize) {
    start();
    let result = f();
    let (live, peak) = METER.with(|m| {
        m.on.set(false);
        (m.live.get(), m.peak.get())
    });
    (result, live, peak)
}

/// Runs `f` and returns its result with the bytes it left live.
pub(crate) fn retained_by<R>(f: impl FnOnce() -> R) -> (R, isize) {
    let (result, live, _) = metered(f);
    (result, live)
}

/// Runs `f` and returns its result with the most bytes that were live at
/// once during the call, beyond what was live before it.
pub(crate) fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let (result, _, peak) = metered(f);
    (result, usize::try_from(peak).unwrap_or(0))
}

/// Runs `f` and returns its result with the number of allocations it made
/// (a `realloc` counts as one: it may move the block).
pub(crate) fn allocations_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    METER.with(|m| m.allocations.set(0));
    let (result, _, _) = metered(f);
    (result, METER.with(|m| m.allocations.get()))
}

/// Starts counting on this thread from zero (for measurements that span
/// several calls, read with [`stop`]).
pub(crate) fn start() {
    METER.with(|m| {
        m.live.set(0);
        m.peak.set(0);
        m.largest.set(0);
        m.on.set(true);
    });
}

/// Stops counting: `(largest single allocation, peak live bytes)` since [`start`].
pub(crate) fn stop() -> (usize, usize) {
    METER.with(|m| {
        m.on.set(false);
        (
            usize::try_from(m.largest.get()).unwrap_or(0),
            usize::try_from(m.peak.get()).unwrap_or(0),
        )
    })
}
