//! Linearizability of a history against etcd's key-value model: a search for an order of the
//! operations that respects real time (an operation that returned before another was called
//! comes first) and in which every response is what the model answers (Wing and Gong's
//! search with Lowe's cache of visited states, as porcupine does it).
//!
//! The revision is global, so the history is not split per key. What keeps the search short:
//! every response carries its revision (a write can only be placed where the revision fits),
//! and failed writes resolved from the cluster's log are applied or dropped, not guessed. A
//! write nobody resolved doubles the states to follow; a step budget bounds the search, and
//! running out of it is an `Undecided` verdict, never a pass.

use crate::format::{is_definite, OpName, Operation};
use crate::model::{mix, Compare, CompareResult, Fate, RangeRead, State, Step, Target, Undo};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::rc::Rc;

mod window;
use window::Window;

/// How much searching a verdict may cost.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Steps (an operation tried at a point of the search) before giving up.
    pub steps: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget { steps: 200_000_000 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// No order explains the responses. `window`: the operation that cannot be placed and the
    /// operations around it (ids, in call order).
    Fail {
        culprit: u64,
        window: Vec<u64>,
    },
    /// The budget ran out first.
    Undecided,
}

#[derive(Clone, Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    /// Operations checked (after dropping failed reads, serializable reads and writes known
    /// not to have been applied).
    pub operations: usize,
    /// Of them, writes whose fate was unknown.
    pub maybe_applied: usize,
    pub steps: u64,
}

/// One operation as the search sees it.
#[derive(Clone, Copy, Debug)]
struct Op {
    id: u64,
    call_ns: u64,
    return_ns: u64,
    step: Step,
    fate: Fate,
}

impl Op {
    /// The revision its response names, if known.
    fn claimed(&self) -> Option<i64> {
        match self.fate {
            Fate::Returned(r) | Fate::Applied(Some(r)) => Some(r),
            Fate::Applied(None) | Fate::Maybe => None,
        }
    }

    /// A maybe-applied write has two outcomes to try: applied, then not.
    fn choices(&self) -> u8 {
        if self.fate == Fate::Maybe {
            2
        } else {
            1
        }
    }
}

/// Interns keys and values as small numbers, in the order first seen (only membership is
/// looked up: the map's order never shows).
#[derive(Default)]
struct Names<'a>(HashMap<&'a str, u32>);

impl<'a> Names<'a> {
    fn of(&mut self, s: &'a str) -> u32 {
        let n = self.0.len() as u32;
        *self.0.entry(s).or_insert(n)
    }
}

/// The operations the model checks, with each one's step and fate, and the ranges they
/// read.
fn normalize<'a>(history: impl Iterator<Item = &'a Operation>) -> (Vec<Op>, Rc<[RangeRead]>) {
    let (mut keys, mut values) = (Names::default(), Names::default());
    let mut ops = Vec::new();
    let mut ranges: Vec<&'a Operation> = Vec::new();
    for o in history {
        if o.op == OpName::Watch {
            continue; // judged by the watch checker
        }
        let is_read = matches!(o.op, OpName::Get | OpName::Range);
        let fate = match (&o.error, o.return_ns, o.applied) {
            (None, Some(_), _) => Fate::Returned(o.revision.expect("validated")),
            _ if is_read => continue, // a read that failed or never returned shows nothing
            (_, _, Some(false)) => continue,
            (_, _, Some(true)) => Fate::Applied(o.revision),
            (Some(e), _, None) if is_definite(e) => continue,
            _ => Fate::Maybe,
        };
        if is_read && o.serializable {
            continue;
        }
        let key = o.key.as_deref().map(|k| keys.of(k)).unwrap_or(0);
        let mut value = |v: &'a Option<String>| v.as_deref().map(|v| values.of(v));
        let step = match o.op {
            OpName::Put => Step::Put {
                key,
                value: value(&o.value).expect("validated"),
                lease: o.lease.unwrap_or(0),
            },
            OpName::Range => {
                for kv in &o.kvs {
                    keys.of(&kv.key);
                    values.of(&kv.value);
                }
                ranges.push(o);
                Step::Range {
                    range: ranges.len() as u32 - 1,
                }
            }
            OpName::LeaseGrant => Step::LeaseGrant {
                lease: o.lease.expect("validated"),
            },
            OpName::LeaseRevoke => Step::LeaseRevoke {
                lease: o.lease.expect("validated"),
            },
            OpName::Get => Step::Get {
                key,
                found: value(&o.value),
                at: o.at_revision.unwrap_or(0),
            },
            OpName::Delete => Step::Delete { key },
            OpName::Txn => Step::Txn {
                key,
                compare: compare(o, value(&o.expect_value)),
                value: value(&o.value).expect("validated"),
                succeeded: o.succeeded,
                // The read is known only from a response that says the compare failed.
                else_get: (o.else_get && o.succeeded == Some(false) && o.error.is_none())
                    .then(|| value(&o.else_value)),
            },
            OpName::Write => Step::Write,
            OpName::Watch => unreachable!("skipped above"),
        };
        let return_ns = match fate {
            Fate::Returned(_) => o.return_ns.expect("returned"),
            _ => u64::MAX, // its effect may come at any time after the call
        };
        ops.push(Op {
            id: o.id,
            call_ns: o.call_ns,
            return_ns,
            step,
            fate,
        });
    }
    let ranges = ranges
        .iter()
        .map(|o| range_read(o, &keys, &values))
        .collect();
    (ops, ranges)
}

/// What range `o` covered (every key of the history in it) and found, by interned number.
fn range_read(o: &Operation, keys: &Names, values: &Names) -> RangeRead {
    let mut covered: Vec<u32> = (keys.0.iter())
        .filter(|(k, _)| o.covers(k))
        .map(|(_, n)| *n)
        .collect();
    covered.sort_unstable();
    let mut found: Vec<(u32, u32)> = (o.kvs.iter())
        .map(|kv| (keys.0[kv.key.as_str()], values.0[kv.value.as_str()]))
        .collect();
    found.sort_unstable();
    let impossible =
        o.kvs.iter().any(|kv| !o.covers(&kv.key)) || found.windows(2).any(|w| w[0].0 == w[1].0);
    RangeRead {
        keys: covered,
        found,
        impossible,
        at: o.at_revision.unwrap_or(0),
    }
}

/// A txn's compare for the model (validated: at most one target).
fn compare(o: &Operation, value: Option<u32>) -> Compare {
    let target = match (
        o.expect_version,
        o.expect_create_revision,
        o.expect_mod_revision,
    ) {
        (Some(n), _, _) => Target::Version(n),
        (_, Some(n), _) => Target::CreateRevision(n),
        (_, _, Some(n)) => Target::ModRevision(n),
        _ => Target::Value(value),
    };
    Compare {
        target,
        result: o.compare_result.unwrap_or(CompareResult::Equal),
    }
}

/// A call or return in the doubly linked list the search lifts operations out of.
#[derive(Clone, Copy)]
struct Entry {
    op: usize,
    call: bool,
    /// The other entry of the same operation.
    pair: usize,
    prev: usize,
    next: usize,
}

const NIL: usize = usize::MAX;

struct List {
    e: Vec<Entry>,
}

impl List {
    /// Entry 0 is the head; then calls and returns in time order (a call at the same instant
    /// as a return comes first: operations that touch are concurrent).
    fn new(ops: &[Op]) -> List {
        let mut points: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * ops.len());
        for (i, op) in ops.iter().enumerate() {
            points.push((op.call_ns, false, i));
            points.push((op.return_ns, true, i));
        }
        points.sort_unstable();
        let mut e = vec![Entry {
            op: NIL,
            call: false,
            pair: NIL,
            prev: NIL,
            next: NIL,
        }];
        let mut call_at = vec![0; ops.len()];
        for (_, is_return, i) in points {
            let at = e.len();
            let prev = at - 1;
            e[prev].next = at;
            let pair = if is_return { call_at[i] } else { NIL };
            if is_return {
                e[call_at[i]].pair = at;
            } else {
                call_at[i] = at;
            }
            e.push(Entry {
                op: i,
                call: !is_return,
                pair,
                prev,
                next: NIL,
            });
        }
        List { e }
    }

    fn unlink(&mut self, i: usize) {
        let Entry { prev, next, .. } = self.e[i];
        self.e[prev].next = next;
        if next != NIL {
            self.e[next].prev = prev;
        }
    }

    fn relink(&mut self, i: usize) {
        let Entry { prev, next, .. } = self.e[i];
        self.e[prev].next = i;
        if next != NIL {
            self.e[next].prev = i;
        }
    }

    /// Takes an operation (its call entry `i`) out of the list.
    fn lift(&mut self, i: usize) {
        self.unlink(i);
        self.unlink(self.e[i].pair);
    }

    fn unlift(&mut self, i: usize) {
        self.relink(self.e[i].pair);
        self.relink(i);
    }
}

/// One level of the search: the last candidate tried here (in the order of `priority`), and
/// the operation placed. Candidates are not stored: a history with thousands of operations
/// in flight at once (a stalled cluster) would need thousands per level.
struct Level {
    tried: Option<Key>,
    placed: Option<(usize, Undo)>,
    /// The placement was a read that changes nothing (see `identity_read`): no other
    /// candidate needs trying here.
    forced: bool,
}

/// The order to try candidates in: a total order on (choice, revision claimed, read after
/// write, entry).
type Key = (u8, i64, bool, usize);

impl Level {
    fn new() -> Level {
        Level {
            tried: None,
            placed: None,
            forced: false,
        }
    }
}

/// Checks `history` against etcd's model within `budget`, each era on its own (a restore
/// of the whole cluster from a backup starts a new era, whose revisions may go back).
pub fn check_linearizable(history: &[Operation], budget: Budget) -> Outcome {
    let eras: BTreeSet<u32> = history.iter().map(|o| o.era).collect();
    let mut total = Outcome {
        verdict: Verdict::Pass,
        operations: 0,
        maybe_applied: 0,
        steps: 0,
    };
    for era in eras {
        let era_is_first = era == 0;
        let (ops, ranges) = normalize(history.iter().filter(|o| o.era == era));
        let reads_at_revision = (history.iter()).any(|o| o.era == era && o.at_revision.is_some());
        total.operations += ops.len();
        total.maybe_applied += ops.iter().filter(|o| o.fate == Fate::Maybe).count();
        let left = Budget {
            steps: budget.steps.saturating_sub(total.steps),
        };
        // The first era starts from an empty store; a later one from a restored backup the
        // history does not describe.
        let start = if era_is_first {
            State::default()
        } else {
            State::starting_unknown()
        }
        .with_ranges(ranges)
        .with_versions(reads_at_revision);
        let (verdict, steps) = search(&ops, left, start);
        total.steps += steps;
        if verdict != Verdict::Pass {
            total.verdict = verdict;
            break;
        }
    }
    total
}

/// The revisions that unplaced operations claim, to prune at once an order that strands one:
/// the revision never goes back and every operation needs it at or below its own, so once
/// the state's revision passes an unplaced operation's, that operation can never be placed.
/// (Without this, a stale read is found only when the search has tried every order of what
/// came after it.)
struct Claims(BTreeSet<(i64, usize)>);

impl Claims {
    fn new(ops: &[Op]) -> Claims {
        Claims(
            ops.iter()
                .enumerate()
                .filter_map(|(i, o)| o.claimed().map(|r| (r, i)))
                .collect(),
        )
    }

    fn take(&mut self, ops: &[Op], i: usize) {
        if let Some(r) = ops[i].claimed() {
            self.0.remove(&(r, i));
        }
    }

    fn put_back(&mut self, ops: &[Op], i: usize) {
        if let Some(r) = ops[i].claimed() {
            self.0.insert((r, i));
        }
    }

    /// An unplaced operation whose revision the state has passed.
    fn stranded(&self, revision: i64) -> Option<usize> {
        self.0
            .first()
            .filter(|(r, _)| *r < revision)
            .map(|(_, i)| *i)
    }
}

/// Windows up to this many calls are also walked, in builds with debug assertions.
#[cfg(debug_assertions)]
const WALK_CHECK_MAX: usize = 64;

fn search(ops: &[Op], budget: Budget, start: State) -> (Verdict, u64) {
    let mut claims = Claims::new(ops);
    let mut stranded: Option<usize> = None;
    let mut list = List::new(ops);
    let mut window = Window::new(&list, ops);
    let mut state = start;
    let mut placed_hash = 0u64;
    let mut seen: HashSet<(u64, u64)> = HashSet::new();
    let mut levels = vec![Level::new()];
    let mut steps = 0u64;
    // The deepest level reached, and the operation whose return stopped it there.
    let mut deepest = (0usize, NIL);
    loop {
        if list.e[0].next == NIL {
            return (Verdict::Pass, steps);
        }
        let depth = levels.len();
        let level = levels.last_mut().expect("never empty");
        let mut descended = false;
        if level.tried.is_none() {
            let read = window.identity_read(ops, &list, &state);
            #[cfg(debug_assertions)]
            if window.len() <= WALK_CHECK_MAX {
                assert_eq!(read, window::walk::identity_read(&list, ops, &state));
            }
            if let Some(entry) = read {
                steps += 1;
                let op_index = list.e[entry].op;
                let op = &ops[op_index];
                let undo = state
                    .step(op.step, op.fate, true)
                    .expect("an identity read");
                let h = placed_hash ^ mix(op_index as u64 + 1);
                level.forced = true;
                level.tried = Some((0, 0, false, entry));
                if seen.insert((h, state.hash())) {
                    placed_hash = h;
                    claims.take(ops, op_index);
                    window.lift(&mut list, ops, entry);
                    level.placed = Some((entry, undo));
                    descended = true;
                } else {
                    state.undo(undo);
                }
            }
        }
        while !level.forced && !descended {
            let next = window.next_candidate(state.revision, level.tried);
            #[cfg(debug_assertions)]
            if window.len() <= WALK_CHECK_MAX {
                assert_eq!(
                    next,
                    window::walk::next_candidate(&list, ops, state.revision, level.tried)
                );
            }
            let Some(key) = next else {
                break;
            };
            steps += 1;
            if steps > budget.steps {
                return (Verdict::Undecided, steps);
            }
            level.tried = Some(key);
            let (choice, _, _, entry) = key;
            let op_index = list.e[entry].op;
            let op = &ops[op_index];
            let Some(undo) = state.step(op.step, op.fate, choice == 0) else {
                continue;
            };
            claims.take(ops, op_index);
            if let Some(s) = claims.stranded(state.revision) {
                stranded = Some(s);
                claims.put_back(ops, op_index);
                state.undo(undo);
                continue;
            }
            let h = placed_hash ^ mix(op_index as u64 + 1);
            if !seen.insert((h, state.hash())) {
                claims.put_back(ops, op_index);
                state.undo(undo);
                continue;
            }
            placed_hash = h;
            window.lift(&mut list, ops, entry);
            level.placed = Some((entry, undo));
            descended = true;
        }
        if descended {
            levels.push(Level::new());
            stranded = None;
            continue;
        }
        // Nothing fits here: an operation the next step would strand, else the first return
        // in the list, is of an operation that cannot be placed.
        if depth >= deepest.0 {
            let mut i = list.e[0].next;
            while i != NIL && list.e[i].call {
                i = list.e[i].next;
            }
            if let Some(s) = stranded {
                deepest = (depth, s);
            } else if i != NIL {
                deepest = (depth, list.e[i].op);
            }
        }
        stranded = None;
        // Back up past every forced level: nothing else was worth trying there.
        loop {
            levels.pop();
            let Some(parent) = levels.last_mut() else {
                return (failure(ops, deepest.1), steps);
            };
            let (entry, undo) = parent.placed.take().expect("a level below a placement");
            state.undo(undo);
            window.unlift(&mut list, ops, entry);
            claims.put_back(ops, list.e[entry].op);
            placed_hash ^= mix(list.e[entry].op as u64 + 1);
            if !parent.forced {
                break;
            }
        }
    }
}

/// The operation that could not be placed at the deepest point of the search, the operations
/// concurrent with it (the nearest by call time, at most `WINDOW_CONCURRENT`), and the few that
/// returned just before it was called.
fn failure(ops: &[Op], culprit: usize) -> Verdict {
    const WINDOW_CONCURRENT: usize = 12;
    const WINDOW_BEFORE: usize = 5;
    let c = &ops[culprit.min(ops.len() - 1)];
    let mut concurrent: Vec<&Op> = ops
        .iter()
        .filter(|o| o.call_ns <= c.return_ns && o.return_ns >= c.call_ns)
        .collect();
    concurrent.sort_by_key(|o| (o.call_ns.abs_diff(c.call_ns), o.id));
    concurrent.truncate(WINDOW_CONCURRENT);
    let mut before: Vec<&Op> = ops.iter().filter(|o| o.return_ns < c.call_ns).collect();
    before.sort_by_key(|o| std::cmp::Reverse((o.return_ns, o.id)));
    before.truncate(WINDOW_BEFORE);
    let mut window: Vec<&Op> = concurrent.into_iter().chain(before).collect();
    window.push(c);
    window.sort_by_key(|o| (o.call_ns, o.id));
    window.dedup_by_key(|o| o.id);
    Verdict::Fail {
        culprit: c.id,
        window: window.iter().map(|o| o.id).collect(),
    }
}
