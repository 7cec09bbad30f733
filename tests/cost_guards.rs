//! Cost guards (issue 19): what a client write costs on a fixed scenario, in deterministic
//! counts (simulator events, heap allocations, bytes allocated), must stay under a threshold
//! a little above the figures measured when the guard was set. Counts, never a stopwatch:
//! the same binary and scenario give the same counts on any machine, so these cannot flake.
//! Lower a threshold when an optimisation lowers its count; raise one only with a reason.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

/// Counts this thread's allocations (the harness runs other tests on other threads).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
}

fn count(size: usize) {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
    let _ = BYTES.try_with(|c| c.set(c.get() + size as u64));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// The costs of simulating `baseline-ssd` for `duration`, per client write.
struct PerWrite {
    writes: u64,
    events: f64,
    allocations: f64,
    bytes: f64,
}

fn per_write(duration: &str) -> PerWrite {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/baseline-ssd.toml");
    let sc = etcdlab_scenario::load(&path, &[format!("duration={duration}")]).unwrap();
    let (allocations, bytes) = (ALLOCATIONS.get(), BYTES.get());
    let simulated = etcdlab_lab::simulate(&sc, None, None).expect("no broken invariant");
    let (allocations, bytes) = (ALLOCATIONS.get() - allocations, BYTES.get() - bytes);
    let result = etcdlab_lab::judge(&sc, simulated);
    let s = &result.record.summary;
    let writes = s.writes.ok + s.writes.failed;
    PerWrite {
        writes,
        events: s.events as f64 / writes as f64,
        allocations: allocations as f64 / writes as f64,
        bytes: bytes as f64 / writes as f64,
    }
}

#[test]
fn a_client_write_costs_no_more_than_it_did() {
    let c = per_write("60s");
    let figures = format!(
        "{} writes; per write: {:.2} events, {:.2} allocations, {:.0} bytes allocated",
        c.writes, c.events, c.allocations, c.bytes
    );
    eprintln!("baseline-ssd, 60 s: {figures}");
    // Deterministic: the same run counts the same.
    let again = per_write("60s");
    assert_eq!(
        (again.events, again.allocations, again.bytes),
        (c.events, c.allocations, c.bytes)
    );
    assert!(c.writes > 10_000, "{figures}");
    assert!(c.events <= EVENTS_PER_WRITE, "{figures}");
    assert!(c.allocations <= ALLOCATIONS_PER_WRITE, "{figures}");
    assert!(c.bytes <= BYTES_PER_WRITE, "{figures}");
}

// About 10% above the figures measured when the guards were set (2026-12-04, release build:
// 25,095 writes; per write 14.71 events, 35.46 allocations, 6,559 bytes allocated).
const EVENTS_PER_WRITE: f64 = 16.2;
const ALLOCATIONS_PER_WRITE: f64 = 39.0;
const BYTES_PER_WRITE: f64 = 7_200.0;
