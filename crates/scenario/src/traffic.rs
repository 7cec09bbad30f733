//! `[traffic]`: closed-loop clients that exercise etcd's semantics, as etcd's robustness
//! tests drive a cluster (tests/robustness/traffic): a few sequential clients per member, each
//! sending its next request when the last one answered, drawn from a mix of gets, ranges,
//! puts, deletes, txns, puts with a lease and lease revokes. Every request is in the run's
//! history and checked.

use crate::dist::read_dist;
use crate::error::R;
use crate::names::{read_members, Members};
use crate::read::{Field, Table};
use crate::{Dist, Nanos};

const KEYS: &[&str] = &[
    "clients_per_member",
    "key_count",
    "value_size_bytes",
    "think_time",
    "request_timeout",
    "start",
    "stop",
    "mix",
];
const MIX_KEYS: &[&str] = &[
    "get",
    "range",
    "get_at_revision",
    "range_at_revision",
    "put",
    "delete",
    "txn",
    "lease_put",
    "lease_revoke",
    "compact",
];
const NS_PER_S: Nanos = 1_000_000_000;

/// The closed-loop clients (`[traffic]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Traffic {
    /// Sequential clients connected to each member of the initial cluster (client i talks to
    /// member i mod size only, as etcd's robustness clients each have one endpoint).
    pub clients_per_member: u32,
    /// Keys are `/traffic/key-<n>`, n uniform in [0, key_count).
    pub key_count: u64,
    pub value_size_bytes: Dist,
    /// A client's pause between an answer and its next request.
    pub think_time_ns: Nanos,
    /// The client's own deadline: a request unanswered by then fails with `context deadline
    /// exceeded` (etcdctl's default `--command-timeout` is 5 s).
    pub request_timeout_ns: Nanos,
    pub start_ns: Nanos,
    pub stop_ns: Option<Nanos>,
    pub mix: TrafficMix,
    /// The TTL of the clients' leases: longer than the run, so that only revokes end them
    /// (the checkers' model has no lease expiry, as etcd's robustness model has none).
    pub lease_ttl_s: i64,
}

/// The relative weights of each request kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrafficMix {
    pub get: u32,
    /// A range over every traffic key (`get /traffic/ --prefix`).
    pub range: u32,
    /// A get of one key as of a recent revision the client saw (etcd's `WithRev`).
    pub get_at_revision: u32,
    /// A range over every traffic key as of a recent revision the client saw.
    pub range_at_revision: u32,
    pub put: u32,
    pub delete: u32,
    /// One compare on a key's value, version, create or mod revision, with `=`, `!=`, `>` or
    /// `<` against what the client last saw; put when it holds, get the key otherwise.
    pub txn: u32,
    /// A put attached to the client's lease (a client without one grants one first).
    pub lease_put: u32,
    /// A revoke of the client's lease, deleting its keys (a client without one grants one).
    pub lease_revoke: u32,
    /// A compaction to a revision a little below the last the client saw (0 by default:
    /// later reads at a revision may then fail as compacted).
    pub compact: u32,
}

impl TrafficMix {
    pub fn total(&self) -> u32 {
        self.get
            + self.range
            + self.get_at_revision
            + self.range_at_revision
            + self.put
            + self.delete
            + self.txn
            + self.lease_put
            + self.lease_revoke
            + self.compact
    }
}

impl Default for TrafficMix {
    fn default() -> Self {
        TrafficMix {
            get: 10,
            range: 10,
            get_at_revision: 5,
            range_at_revision: 5,
            put: 25,
            delete: 5,
            txn: 25,
            lease_put: 10,
            lease_revoke: 5,
            compact: 0,
        }
    }
}

pub(crate) fn read_traffic(t: Table<'_>, run_ns: Nanos) -> R<Traffic> {
    t.check_keys(KEYS)?;
    let mut traffic = Traffic {
        clients_per_member: 2,
        key_count: 10,
        value_size_bytes: Dist::constant(100.0),
        think_time_ns: 0,
        request_timeout_ns: 5 * NS_PER_S,
        start_ns: 0,
        stop_ns: None,
        mix: TrafficMix::default(),
        lease_ttl_s: (run_ns / NS_PER_S) as i64 + 3600,
    };
    if let Some(n) = t.opt("clients_per_member", |f| {
        f.u64_in(1..=16, "between 1 and 16 clients per member")
    })? {
        traffic.clients_per_member = n as u32;
    }
    if let Some(n) = t.opt("key_count", |f| {
        f.u64_in(1..=10_000, "between 1 and 10000 keys")
    })? {
        traffic.key_count = n;
    }
    if let Some(d) = t.opt("value_size_bytes", read_dist)? {
        traffic.value_size_bytes = d;
    }
    if let Some(ns) = t.opt("think_time", |f| f.duration())? {
        traffic.think_time_ns = ns;
    }
    if let Some(ns) = t.opt("request_timeout", |f| f.positive_duration())? {
        traffic.request_timeout_ns = ns;
    }
    traffic.start_ns = t.opt("start", |f| f.duration_before(run_ns))?.unwrap_or(0);
    traffic.stop_ns = t.opt("stop", |f| {
        let stop = f.duration()?;
        if stop <= traffic.start_ns {
            return Err(f.fail("must be after traffic.start"));
        }
        Ok(stop)
    })?;
    if let Some(mix) = t.opt("mix", read_mix)? {
        traffic.mix = mix;
    }
    Ok(traffic)
}

/// `[traffic.mix]`: weights; a kind left out weighs 0 (with no table: the default mix).
fn read_mix(f: Field<'_>) -> R<TrafficMix> {
    let t = f.table()?;
    t.check_keys(MIX_KEYS)?;
    let weight = |key: &str| -> R<u32> {
        let w = t.opt(key, |f| {
            f.u64_in(0..=1_000_000, "a weight from 0 to 1000000")
        })?;
        Ok(w.unwrap_or(0) as u32)
    };
    let mix = TrafficMix {
        get: weight("get")?,
        range: weight("range")?,
        get_at_revision: weight("get_at_revision")?,
        range_at_revision: weight("range_at_revision")?,
        put: weight("put")?,
        delete: weight("delete")?,
        txn: weight("txn")?,
        lease_put: weight("lease_put")?,
        lease_revoke: weight("lease_revoke")?,
        compact: weight("compact")?,
    };
    if mix.total() == 0 {
        return Err(f.fail("every weight is 0: the clients would send nothing"));
    }
    Ok(mix)
}

/// `[liveness]`: after the faults, the cluster must recover (TigerBeetle's VOPR checks
/// liveness so: heal, then require progress within a bound).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Liveness {
    /// When the faults are over (every fault window of the scenario should end by then).
    pub from_ns: Nanos,
    /// By `from + within`: every member of the core runs, the core's members follow one
    /// leader that leads, and a client write sent after `from` has been acknowledged.
    pub within_ns: Nanos,
    /// The members that must recover (0-based, ascending; added members too): at least a
    /// quorum of the initial cluster's size; faults on the others may last (TigerBeetle's VOPR heals only such a core).
    /// Default: every member of the initial cluster.
    pub core: Vec<usize>,
}

pub(crate) fn read_liveness(t: Table<'_>, run_ns: Nanos, members: Members) -> R<Liveness> {
    t.check_keys(&["from", "within", "core"])?;
    let from_ns = t.req("from", |f| f.duration_before(run_ns))?;
    let within_ns = t.req("within", |f| {
        let ns = f.positive_duration()?;
        if from_ns.saturating_add(ns) > run_ns {
            return Err(f.fail("liveness.from + within must end by the end of the run"));
        }
        Ok(ns)
    })?;
    let core = t.opt("core", |f| {
        // A member `etcdctl member add` adds may stand in for one that was replaced.
        let mut core = read_members(&f, members)?;
        core.sort_unstable();
        let quorum = members.size / 2 + 1;
        if core.len() < quorum {
            return Err(f.fail(format!(
                "a core of {} cannot elect a leader: it must hold a quorum of the {} members ({quorum})",
                core.len(),
                members.size
            )));
        }
        Ok(core)
    })?;
    Ok(Liveness {
        from_ns,
        within_ns,
        core: core.unwrap_or_else(|| (0..members.size).collect()),
    })
}
