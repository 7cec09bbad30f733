//! The report's rejoin catch-up: a member behind when its pause or partition ends is timed
//! until it has applied what the cluster had applied at that moment. Measured on real etcd
//! 3.5.1 with pre-vote (`scripts/fidelity/partition_rejoin.py`, docs/fidelity.md): a follower
//! cut off for 5 s while 100 keys are written catches up within about one heartbeat interval
//! after the heal, with no election.

mod common;
use common::run_text;
use etcdlab_report::Failover;

/// A 3-member cluster writing 25 keys/s from 5 s; `timeline`: its fault lines.
fn catch_up(writes_per_s: u32, timeline: &str) -> (Failover, u64) {
    let text = format!(
        "seed = 1\nduration = \"80s\"\n\n[cluster]\nsize = 3\netcd_version = \"3.5\"\n\n\
         [disk]\nprofile = \"ssd\"\n\n[workload]\nwrites_per_s = {writes_per_s}\nstart = \"5s\"\n\n\
         {timeline}"
    );
    let s = run_text(&text, "rejoin.toml", &[]).record.summary;
    (s.rejoin_catch_up_s, s.leader_changes)
}

const ISOLATE_FOLLOWER_3_TIMES: &str = "[[timeline]]\nat = \"20s\"\naction = \"isolate\"\n\
    member = \"follower\"\nduration = \"5s\"\nrepeat = { count = 3, every = \"20s\" }\n";

#[test]
fn a_follower_cut_off_with_pre_vote_catches_up_within_a_heartbeat_of_the_heal() {
    let (c, leader_changes) = catch_up(25, ISOLATE_FOLLOWER_3_TIMES);
    assert_eq!(c.count, 3, "{c:?}");
    assert_eq!(leader_changes, 0);
    // The leader's next heartbeat (every 100 ms) finds it behind; a round trip or two later
    // it has the entries and applies them.
    assert!(c.min.unwrap() > 0.0 && c.max.unwrap() < 0.15, "{c:?}");
}

#[test]
fn a_paused_follower_catches_up_from_what_queued_while_it_was_stopped() {
    let pause = ISOLATE_FOLLOWER_3_TIMES.replace("isolate", "pause");
    let (c, leader_changes) = catch_up(25, &pause);
    assert_eq!(c.count, 3, "{c:?}");
    assert_eq!(leader_changes, 0);
    assert!(c.max.unwrap() < 0.05, "{c:?}");
}

#[test]
fn a_member_that_missed_nothing_gives_no_figure() {
    let (c, _) = catch_up(0, ISOLATE_FOLLOWER_3_TIMES);
    assert_eq!(c.count, 0, "{c:?}");
    assert_eq!(c.median, None);
}

#[test]
fn a_leader_cut_off_is_timed_too_once_the_others_elected_a_new_one() {
    let isolate_leader = "[[timeline]]\nat = \"20s\"\naction = \"isolate\"\nmember = \"leader\"\n\
        duration = \"5s\"\n";
    let (c, leader_changes) = catch_up(25, isolate_leader);
    assert_eq!(leader_changes, 1);
    assert_eq!(c.count, 1, "{c:?}");
}
