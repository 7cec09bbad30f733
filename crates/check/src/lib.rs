//! Judges what clients saw. A history (`history.jsonl`: one client operation a line, see
//! `docs/history-format.md`) is checked against etcd's key-value model: a single revision for
//! the whole store, each write advancing it, each read returning the state at the revision its
//! header names. The checker knows nothing of the simulation, so it checks histories recorded
//! against a real etcd as well.

pub mod format;
pub mod linearizability;
mod model;
pub mod picture;
pub mod serializable;
pub mod watch;

pub use format::{parse_jsonl, Operation, ParseError};
pub use linearizability::{check_linearizable, Budget, Outcome, Verdict};
pub use serializable::{check_serializable_reads, SerializableFailure, SerializableOutcome};
pub use watch::{check_watches, WatchFailure, WatchOutcome};
