//! Log compaction, snapshots sent to lagging followers, and membership changes, as scripts.

mod harness;

use etcdlab_raft::{ConfChange, MessageType, ProgressState};
use harness::{blob, Network};

/// Leader 1 of three with `n` entries committed everywhere.
fn cluster_with_entries(n: u64) -> Network {
    let mut net = Network::new(3, &|_| {});
    net.campaign(1);
    for i in 0..n {
        net.propose(1, blob(i + 1)).unwrap();
    }
    net
}

/// Node 3 cut off while the leader appends 5 more entries, snapshots at 7 and compacts.
fn follower_3_behind_a_snapshot_at_7() -> Network {
    let mut net = cluster_with_entries(2);
    net.isolate(3);
    for i in 0..5 {
        net.propose(1, blob(100 + i)).unwrap();
    }
    net.node_mut(1).create_snapshot(7);
    net.node_mut(1).compact_log(7);
    net
}

#[test]
fn compacting_drops_entries_up_to_the_snapshot_only() {
    let mut net = cluster_with_entries(10);
    let leader = net.node_mut(1);
    assert_eq!(leader.applied_index(), 11);
    leader.create_snapshot(8);
    leader.compact_log(10); // capped at the snapshot
    assert_eq!(leader.first_index(), 9);
    assert_eq!(leader.snapshot_meta().index, 8);
    assert_eq!(leader.snapshot_meta().voters, vec![1, 2, 3]);
    assert_eq!(
        leader.term_at(8),
        Some(1),
        "the snapshot's term is remembered"
    );
    assert!(leader.entry_at(8).is_none());
    assert!(leader.entry_at(9).is_some());
}

#[test]
fn a_follower_behind_the_compacted_log_gets_a_snapshot_then_entries() {
    let mut net = cluster_with_entries(2);
    net.isolate(3);
    for i in 0..10 {
        net.propose(1, blob(100 + i)).unwrap();
    }
    let leader = net.node_mut(1);
    leader.create_snapshot(10);
    leader.compact_log(10);
    net.heal();
    // The next heartbeat round finds 3 behind; its probe needs index 3, long gone.
    net.tick_all(1);
    let snaps = net.sent_of(MessageType::Snap);
    assert_eq!(snaps.len(), 1, "one snapshot, not one per heartbeat");
    assert_eq!(snaps[0].to, 3);
    assert_eq!(snaps[0].snapshot.as_ref().unwrap().index, 10);
    // The follower replaced its log and told the leader where it is.
    assert_eq!(net.node(3).first_index(), 11);
    assert_eq!(net.node(3).commit_index(), net.node(1).commit_index());
    // The server reports the transfer done; the leader resumes with entries.
    net.node_mut(1).report_snapshot(3, true);
    net.tick_all(2);
    assert_eq!(net.node(3).last_index(), net.node(1).last_index());
    assert_eq!(
        net.node(1).progress(3).unwrap().state(),
        ProgressState::Replicate
    );
}

#[test]
fn no_snapshot_goes_to_a_follower_not_heard_from() {
    let mut net = follower_3_behind_a_snapshot_at_7();
    net.tick_all(25); // check-quorum rounds clear recent_active of the silent follower
    assert!(net.sent_of(MessageType::Snap).is_empty());
}

#[test]
fn a_failed_snapshot_is_retried_after_a_report() {
    let mut net = follower_3_behind_a_snapshot_at_7();
    net.heal();
    net.drop_if(|m| m.msg_type == MessageType::Snap);
    net.tick_all(1);
    assert_eq!(net.sent_of(MessageType::Snap).len(), 1);
    net.tick_all(3);
    assert_eq!(
        net.sent_of(MessageType::Snap).len(),
        1,
        "paused until reported"
    );
    net.heal();
    net.node_mut(1).report_snapshot(3, false);
    net.tick_all(2);
    assert_eq!(net.sent_of(MessageType::Snap).len(), 2);
    assert_eq!(net.node(3).last_index(), net.node(1).last_index());
}

#[test]
fn adding_a_node_changes_the_quorum_and_it_catches_up() {
    let mut net = cluster_with_entries(3);
    for id in 1..=3 {
        net.node_mut(id).apply_conf_change(ConfChange::AddNode(4));
    }
    assert_eq!(net.node(1).voters(), vec![1, 2, 3, 4]);
    // With 4 voters, two down members stop commits.
    net.isolate(2);
    net.isolate(3);
    let before = net.node(1).commit_index();
    net.propose(1, blob(50)).unwrap();
    assert_eq!(net.node(1).commit_index(), before, "1 of 4 is no quorum");
}

#[test]
fn removing_a_node_lets_the_rest_commit() {
    let mut net = cluster_with_entries(1);
    net.isolate(3);
    net.isolate(2);
    let before = net.node(1).commit_index();
    net.propose(1, blob(60)).unwrap();
    assert_eq!(net.node(1).commit_index(), before);
    net.node_mut(1).apply_conf_change(ConfChange::RemoveNode(3));
    net.node_mut(1).apply_conf_change(ConfChange::RemoveNode(2));
    assert_eq!(
        net.node(1).commit_index(),
        before + 1,
        "alone it is the quorum"
    );
}

#[test]
fn a_follower_that_lost_its_log_stops_on_the_leaders_commit() {
    let mut net = cluster_with_entries(3);
    // Node 3's log is gone (a wiped data dir rejoining as the same member).
    let fresh = etcdlab_raft::Raft::new(harness::config(3, 3, &|_| {}), harness::rng(3));
    net.nodes.insert(3, fresh);
    assert!(net.node_mut(3).take_fatal().is_none());
    net.tick_all(1); // the leader's heartbeat carries commit = what 3 had matched
    let fatal = net.node_mut(3).take_fatal().expect("out-of-range commit");
    assert!(
        fatal.contains("tocommit(4) is out of range [lastIndex(0)]"),
        "{fatal}"
    );
}
