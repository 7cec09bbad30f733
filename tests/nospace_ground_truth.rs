//! Experiment A of etcd-ground-truth.md (real etcd 3.4.23 under NOSPACE), end to end through
//! `scenarios/nospace-ground-truth.toml`: where the first put is refused, how far the database
//! overshoots the quota, what compaction, defrag and disarm do to it, and the error text.
//!
//! The run is made in-process with `etcdlab_lab::run` and read from its `RunRecord`. The
//! scenario scrapes every 15 s; these tests override it to 1 s (`metrics.scrape_interval`) so
//! that `RunRecord::db_size` has samples right after the first failure, between the compaction
//! and the defrag, and between the defrag and the disarm. Scrapes only read the members, so
//! the run is otherwise the shipped one (same writes, same alarms, same runbook times).

mod common;

use common::repo_root;
use etcdlab_report::{DbSizeSample, OperatorStep, RunRecord};

const QUOTA: u64 = 16_777_216;
/// The exact text real etcd 3.4.23 returned to clients (gateway, etcdctl, gRPC status).
const REAL_NOSPACE: &str = "etcdserver: mvcc: database space exceeded";
const NS: u64 = 1_000_000_000;

fn run(extra: &[&str]) -> (etcdlab_scenario::Scenario, RunRecord) {
    let mut overrides = vec!["metrics.scrape_interval=\"1s\"".to_string()];
    overrides.extend(extra.iter().map(|s| s.to_string()));
    let sc = etcdlab_scenario::load(
        &repo_root().join("scenarios/nospace-ground-truth.toml"),
        &overrides,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let result = etcdlab_lab::run(&sc).unwrap_or_else(|v| panic!("{v:?}"));
    (sc, result.record)
}

fn step<'a>(r: &'a RunRecord, command: &str) -> &'a OperatorStep {
    let found: Vec<_> = r
        .operator_steps
        .iter()
        .filter(|s| s.command == command)
        .collect();
    assert!(
        !found.is_empty(),
        "no step `{command}` in {:#?}",
        r.operator_steps
    );
    assert!(found.iter().all(|s| s.ok), "`{command}` failed: {found:#?}");
    found[0]
}

/// Member `m`'s samples in `(from, to)` (exclusive), in time order.
fn samples(r: &RunRecord, m: usize, from: u64, to: u64) -> Vec<DbSizeSample> {
    r.db_size
        .iter()
        .filter(|s| s.member == m && s.t_ns > from && s.t_ns < to)
        .copied()
        .collect()
}

fn members(r: &RunRecord) -> std::ops::Range<usize> {
    0..r.member_names.len()
}

/// The RAFT INDEX column of an `etcdctl endpoint status -w table` output, per row.
fn raft_indexes(table: &str) -> Vec<u64> {
    let rows: Vec<Vec<&str>> = table
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| l.split('|').map(str::trim).collect())
        .collect();
    let col = rows[0]
        .iter()
        .position(|c| *c == "RAFT INDEX")
        .unwrap_or_else(|| panic!("no RAFT INDEX column:\n{table}"));
    rows[1..]
        .iter()
        .filter(|r| !r[1].is_empty()) // continuation rows of a wrapped ERRORS cell
        .map(|r| r[col].parse().unwrap_or_else(|_| panic!("{r:?}")))
        .collect()
}

#[test]
fn fill_refuses_near_put_1600_with_a_small_overshoot() {
    let (sc, r) = run(&[]);
    let s = &r.summary;
    // Every refusal carries real etcd's exact text, and nothing else went wrong.
    assert!(s.writes.failed > 0, "no put was refused");
    assert_eq!(
        s.writes.errors.iter().collect::<Vec<_>>(),
        vec![(&REAL_NOSPACE.to_string(), &s.writes.failed)],
        "error texts"
    );

    // The alarm stays on from its first raise until after the workload stopped, so every
    // successful put came before the first refused one (the capped applier refuses all puts
    // while an alarm is active): the first refusal was put #(ok + 1).
    let first_raise = r.alarms.iter().find(|a| a.raised).expect("an alarm").at_ns;
    let first_clear = r.alarms.iter().find(|a| !a.raised).expect("a disarm").at_ns;
    let stop = sc.workload.stop_ns.expect("the scenario stops its writes");
    assert!(first_raise < stop && first_clear > stop);
    let first_refused = s.writes.ok + 1;
    // Real: put #1600 (repeat run A2: #1591).
    assert!(
        (1550..=1650).contains(&first_refused),
        "first refused put #{first_refused} (real #1600)"
    );
    // Real: revision 1600 after 1599 puts: refused puts write nothing.
    let compact = step(&r, "etcdctl compact current --physical");
    assert_eq!(
        compact.output.trim(),
        format!("compacted revision {}", s.writes.ok + 1),
        "the revision counts exactly the successful puts"
    );

    // Size at the first failure: the first 1 s sample after the first alarm. Sizes only grow
    // until the compaction, so this bounds the size at the failure from above. Real: m1
    // 16,961,536 (+1.1%); A2 +0.4%; each member's size is different.
    let at_failure: Vec<u64> = members(&r)
        .map(|m| samples(&r, m, first_raise - 1, first_raise + NS)[0].size_bytes)
        .collect();
    let receiver = at_failure[0];
    assert!(
        (QUOTA..=QUOTA + QUOTA * 15 / 1000).contains(&receiver),
        "m1 at the first failure: {receiver} ({:+.2}% of the quota; real +1.1%)",
        (receiver as f64 / QUOTA as f64 - 1.0) * 100.0
    );
    assert!(
        at_failure.iter().any(|&x| x != receiver),
        "every member has the same size {at_failure:?}: their backends commit independently"
    );
    // Peak over the run, any member. Real: 16,990,208 (+1.27%).
    let peak = r.db_size.iter().map(|x| x.size_bytes).max().unwrap();
    assert!(
        peak > QUOTA && peak <= QUOTA + QUOTA * 15 / 1000,
        "peak {peak} ({:+.2}%; real +1.27%)",
        (peak as f64 / QUOTA as f64 - 1.0) * 100.0
    );
}

#[test]
fn compaction_frees_in_use_only_and_defrag_shrinks_the_file() {
    let (_, r) = run(&[]);
    let compact = step(&r, "etcdctl compact current --physical");
    let defrag = step(&r, "etcdctl defrag --cluster");
    let disarm = step(&r, "etcdctl alarm disarm");
    for m in members(&r) {
        let name = &r.member_names[m];
        let before = *samples(&r, m, 0, compact.started_ns)
            .last()
            .expect("a sample before the compaction");
        // Real: in use 16,449,536 of 16,990,208 before, and right after (and still 3 s later)
        // the size is unchanged while in use is 6,205,440: the pages of all but the last
        // compaction batch are free, those of the last one still pending.
        // Real: "dbSizeInUse ~ dbSize minus about 0.5 MB" before compaction (540,672).
        let free = before.size_bytes - before.in_use_bytes;
        assert!(
            (200_000..=800_000).contains(&free),
            "{name}: {free} bytes free before compaction (real 540,672)"
        );
        let compacted = samples(&r, m, compact.finished_ns, defrag.started_ns);
        assert!(
            compacted.len() >= 3,
            "{name}: too few samples {compacted:?}"
        );
        for x in &compacted {
            assert_eq!(
                x.size_bytes, before.size_bytes,
                "{name}: compaction changed the size"
            );
            // Real: 37.7% of the in-use bytes before. Below a quarter would mean the last
            // batch's pages were released too; above a half, that the earlier batches' were not.
            let ratio = x.in_use_bytes as f64 / before.in_use_bytes as f64;
            assert!(
                (0.25..=0.5).contains(&ratio),
                "{name}: in use {} after compaction vs {} before (real 6,205,440 vs 16,449,536)",
                x.in_use_bytes,
                before.in_use_bytes
            );
        }
        // Real after defrag of each member: 94,208 (in use 86,016).
        let defragged = samples(&r, m, defrag.finished_ns, disarm.started_ns);
        assert!(!defragged.is_empty(), "{name}: no sample after defrag");
        for x in &defragged {
            assert!(
                x.size_bytes < 200_000 && x.in_use_bytes <= x.size_bytes,
                "{name}: after defrag {x:?} (real 94,208)"
            );
        }
    }
}

#[test]
fn runbook_raft_index_costs_match_real_etcd() {
    let (_, r) = run(&[]);
    // Real: alarm list +1, compaction +1, defrag 0, and every DEACTIVATE of the disarm +1.
    let steps: Vec<_> = r
        .operator_steps
        .iter()
        .map(|s| s.command.as_str())
        .collect();
    assert_eq!(
        steps,
        [
            "etcdctl endpoint status -w table",
            "etcdctl alarm list",
            "etcdctl compact current --physical",
            "etcdctl defrag --cluster",
            "etcdctl alarm disarm",
            "etcdctl endpoint status -w table",
        ]
    );
    let first = raft_indexes(&r.operator_steps[0].output);
    let last = raft_indexes(&r.operator_steps[5].output);
    let listed = step(&r, "etcdctl alarm list").output.lines().count() as u64;
    let disarmed = step(&r, "etcdctl alarm disarm").output.lines().count() as u64;
    assert!(
        listed >= 1 && disarmed == listed,
        "{listed} listed, {disarmed} disarmed"
    );
    for line in step(&r, "etcdctl alarm list").output.lines() {
        assert!(
            line.starts_with("memberID:") && line.ends_with(" alarm:NOSPACE "),
            "alarm list line {line:?}"
        );
    }
    assert_eq!(first.len(), 3);
    for (a, b) in first.iter().zip(&last) {
        assert_eq!(b - a, 1 + 1 + disarmed, "raft index {a} -> {b}");
    }
}

#[test]
fn writes_succeed_again_after_disarm() {
    // The shipped scenario stops writing at 15 s; keep writing past the disarm (~58 s).
    let (_, r) = run(&["workload.stop=\"70s\""]);
    let disarm = step(&r, "etcdctl alarm disarm");
    let s = &r.summary;
    let downtime = s
        .write_downtime_s
        .expect("a successful write after the alarms were cleared");
    let nospace = s.nospace_at_s.expect("an alarm");
    let back_ns = ((nospace + downtime) * 1e9) as u64;
    assert!(
        back_ns >= disarm.started_ns && back_ns < disarm.finished_ns + NS,
        "writes came back at {back_ns} ns, disarm ran {}..{}",
        disarm.started_ns,
        disarm.finished_ns
    );
    assert!(s.writes.ok > 1_650, "only {} writes ok", s.writes.ok);
    assert_eq!(
        s.writes.errors.keys().collect::<Vec<_>>(),
        [REAL_NOSPACE],
        "error texts"
    );
}
