//! The recorder as a script: events in, the figures folded from the log out.

use super::*;

const S: Nanos = 1_000_000_000;

/// A three-member cluster whose m1 leads term 2 from 1 s.
fn led_by_m1() -> Recorder {
    let mut r = Recorder::with_members(3, 1 << 30);
    r.role(0, 0, RoleKind::Follower, 1);
    r.role(S / 2, 0, RoleKind::Candidate, 2);
    r.role(S, 0, RoleKind::Leader, 2);
    r.leader_elected(S, 0, 2);
    r
}

#[test]
fn a_fault_on_the_leader_times_the_failover_to_the_next_leader() {
    let mut r = led_by_m1();
    r.fault_on(10 * S, 0, "pause m1 for 3s".into());
    r.campaign(11 * S, 1, Some(1000.0), None);
    r.role(11 * S, 1, RoleKind::Candidate, 3);
    r.leader_elected(12 * S, 1, 3);
    r.finish(20 * S);
    let f = r.fold();
    assert_eq!(f.failovers_s, [2.0]);
    assert_eq!((f.leader_changes, f.elections, f.max_term), (1, 2, 3));
    assert_eq!(f.elections_table.len(), 1);
    let e = &f.elections_table[0];
    assert_eq!((e.old_leader, e.new_leader, e.term), (Some(0), 1, 3));
    let spans: Vec<_> = f
        .leader_spans
        .iter()
        .map(|s| (s.from_ns / S, s.to_ns / S, s.leader))
        .collect();
    assert_eq!(spans, [(0, 1, None), (1, 12, Some(0)), (12, 20, Some(1))]);
    assert_eq!(r.timeline_entries()[0].what, "pause m1 for 3s");
}

#[test]
fn a_leader_that_survives_its_fault_is_no_failover() {
    let mut r = led_by_m1();
    r.fault_on(10 * S, 0, "slow disk on m1".into());
    r.fault_window_end(11 * S, 0);
    // A later election (a step-down) is timed from the loss, not from the old fault.
    r.leader_lost(30 * S);
    r.leader_elected(31 * S, 2, 3);
    r.finish(40 * S);
    assert_eq!(r.fold().failovers_s, [1.0]);
}

#[test]
fn the_log_folded_again_gives_what_the_world_was_told_live() {
    let mut r = led_by_m1();
    r.role(S, 0, RoleKind::Leader, 2); // no change: not logged
    r.heartbeat_late(2 * S, 0);
    r.heartbeat_late(3 * S, 0);
    r.action_fired();
    r.action_skipped();
    r.leader_lost(5 * S);
    assert_eq!(r.cluster_leader(), None);
    r.leader_elected(6 * S, 2, 3);
    assert!(r.is_cluster_leader(2));
    // A stale leader of an older term changes nothing.
    r.leader_elected(7 * S, 0, 2);
    assert!(r.is_cluster_leader(2));
    r.finish(8 * S);
    let f = r.fold();
    assert_eq!(f.cluster_leader(), r.cluster_leader());
    // The live fold saw the same events in the same order.
    assert_eq!(f.leader_spans, r.live.leader_spans);
    assert_eq!(f.failovers_s, r.live.failovers_s);
    assert_eq!(
        (f.leader_changes, f.elections, f.max_term),
        (r.live.leader_changes, r.live.elections, r.live.max_term)
    );
    assert_eq!(r.role_changes().len(), 3);
    assert_eq!((f.actions, f.skipped_actions), (1, 1));
    assert_eq!(f.heartbeat_send_failures, 2);
    let w = f.warning_counts();
    assert_eq!((w[0].member, w[0].count, w[0].first_at_ns), (0, 2, 2 * S));
    assert_eq!(f.leader_changes, 1);
}
