//! The simulated world's engine: nanosecond clock, one event queue with a stable tie-break,
//! named random streams derived from the run's seed, distributions, and the trace hash.
//!
//! Nothing here reads the wall clock or iterates an unordered map: a run is a pure function of
//! (inputs, seed).

pub mod alloc_count;
pub mod array;
pub mod disk;
pub mod dist;
pub mod net;
pub mod queue;
pub mod rng;
pub mod trace;

pub use dist::Dist;
pub use queue::EventQueue;
pub use rng::{stream, Rng};
pub use trace::TraceHash;

/// Nanoseconds of simulated time since the start of the run.
pub type Nanos = u64;

pub const NANOS_PER_MS: u64 = 1_000_000;
pub const NANOS_PER_S: u64 = 1_000_000_000;

/// Milliseconds (fractional, as scenarios write them) to nanoseconds, rounded.
pub fn ms_to_ns(ms: f64) -> Nanos {
    debug_assert!(
        ms >= 0.0 && ms.is_finite(),
        "negative or non-finite duration {ms}"
    );
    (ms * NANOS_PER_MS as f64).round() as Nanos
}

pub fn ns_to_ms(ns: Nanos) -> f64 {
    ns as f64 / NANOS_PER_MS as f64
}

pub fn ns_to_s(ns: Nanos) -> f64 {
    ns as f64 / NANOS_PER_S as f64
}
