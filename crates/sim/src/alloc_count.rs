//! A global allocator that counts what its thread allocates: allocations, bytes, and live
//! bytes with their peak. `etcdlab bench` and the cost guards install it
//! (`#[global_allocator] static A: Counting = Counting;`) to report deterministic costs: the
//! same run counts the same on any machine, unlike a stopwatch.
//!
//! Counters are per thread (the test harness runs other tests on other threads); memory freed
//! by another thread than the one that allocated it is not seen, which a simulation (one
//! thread) never does.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub struct Counting;

/// What this thread allocated so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocCounts {
    pub allocations: u64,
    pub bytes: u64,
    pub live_bytes: i64,
    pub peak_live_bytes: i64,
}

thread_local! {
    static COUNTS: Cell<AllocCounts> = const {
        Cell::new(AllocCounts { allocations: 0, bytes: 0, live_bytes: 0, peak_live_bytes: 0 })
    };
}

/// This thread's counts.
pub fn counts() -> AllocCounts {
    COUNTS.try_with(Cell::get).unwrap_or_default()
}

/// Starts measuring a peak from now: the peak is set to the bytes live now.
pub fn reset_peak() {
    let _ = COUNTS.try_with(|c| {
        let mut n = c.get();
        n.peak_live_bytes = n.live_bytes;
        c.set(n);
    });
}

fn on_alloc(size: usize, freed: usize) {
    // try_with: the allocator runs while thread-locals are being torn down, too.
    let _ = COUNTS.try_with(|c| {
        let mut n = c.get();
        n.allocations += 1;
        n.bytes += size as u64;
        n.live_bytes += size as i64 - freed as i64;
        n.peak_live_bytes = n.peak_live_bytes.max(n.live_bytes);
        c.set(n);
    });
}

fn on_free(size: usize) {
    let _ = COUNTS.try_with(|c| {
        let mut n = c.get();
        n.live_bytes -= size as i64;
        c.set(n);
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size(), 0);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size(), 0);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        on_alloc(new_size, layout.size());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        on_free(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
}
