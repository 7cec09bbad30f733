//! Linearizable reads (ReadIndex, ReadOnlySafe): the leader confirms its leadership with a
//! heartbeat round before it hands out its commit index; followers forward to the leader.

mod harness;

use etcdlab_raft::{Config, MessageType, ReadState, Role};
use harness::{blob, Network};

fn no_tweak(_: &mut Config) {}

fn leader_with_a_commit() -> Network {
    let mut net = Network::new(3, &no_tweak);
    net.campaign(1);
    assert_eq!(net.node(1).role(), Role::Leader);
    assert_eq!(net.propose(1, blob(1)), Ok(Some(2)));
    net
}

#[test]
fn leader_read_waits_for_a_heartbeat_quorum() {
    let mut net = leader_with_a_commit();
    net.node_mut(1).read_index(7).unwrap();
    let msgs = net.drain(1);
    // Nothing is handed out before the followers confirmed the leadership.
    assert!(net.read_states.is_empty());
    let hbs: Vec<_> = msgs
        .iter()
        .filter(|m| m.msg_type == MessageType::Heartbeat)
        .collect();
    assert_eq!(hbs.len(), 2);
    assert!(hbs.iter().all(|m| m.context == 7));
    net.deliver(msgs);
    assert_eq!(net.read_states, vec![(1, ReadState { index: 2, ctx: 7 })]);
}

#[test]
fn follower_read_is_forwarded_and_answered_with_the_leaders_commit() {
    let mut net = leader_with_a_commit();
    net.node_mut(3).read_index(9).unwrap();
    net.stabilize();
    assert_eq!(net.read_states, vec![(3, ReadState { index: 2, ctx: 9 })]);
    assert!(net
        .delivered
        .iter()
        .any(|m| m.msg_type == MessageType::ReadIndexResp && m.to == 3));
}

#[test]
fn a_cut_off_leader_serves_no_linearizable_read() {
    let mut net = leader_with_a_commit();
    net.isolate(1);
    net.node_mut(1).read_index(11).unwrap();
    net.stabilize();
    for _ in 0..3 {
        net.tick(1);
    }
    assert!(net.read_states.is_empty(), "{:?}", net.read_states);
}

#[test]
fn reads_before_the_first_commit_of_a_term_wait_for_it() {
    let mut net = Network::new(3, &no_tweak);
    // The new leader cannot commit its term's empty entry: appends are acknowledged by nobody.
    net.drop_if(|m| m.msg_type == MessageType::AppResp);
    net.campaign(1);
    assert_eq!(net.node(1).role(), Role::Leader);
    assert_eq!(net.node(1).commit_index(), 0);
    net.node_mut(1).read_index(5).unwrap();
    net.stabilize();
    // No heartbeat round for it yet, and no answer: its commit index is not known to be current.
    assert!(net.read_states.is_empty());
    assert!(!net
        .sent
        .iter()
        .any(|m| m.msg_type == MessageType::Heartbeat && m.context == 5));
    net.heal();
    for _ in 0..3 {
        net.tick(1);
    }
    assert_eq!(net.node(1).commit_index(), 1);
    assert_eq!(net.read_states, vec![(1, ReadState { index: 1, ctx: 5 })]);
}
