//! Log replication: repair, the commit rule, flow control, forwarding and Ready contents.

mod harness;

use etcdlab_raft::{
    Config, EntryData, HardState, Message, MessageType, ProgressState, ProposeError, Raft,
    Recovered, Role,
};
use harness::{blob, config, restarted, rng, Blob, Msg, Network};

fn no_tweak(_: &mut Config) {}

fn elect_one(net: &mut Network) -> u64 {
    net.campaign(1);
    assert_eq!(net.node(1).role(), Role::Leader);
    net.node(1).term()
}

fn tick_until_leader_among(net: &mut Network, ids: &[u64]) -> u64 {
    for _ in 0..100 {
        if let Some(&id) = ids.iter().find(|&&id| net.node(id).role() == Role::Leader) {
            return id;
        }
        for &id in ids {
            net.tick(id);
        }
    }
    panic!("no leader among {ids:?}");
}

fn apps_to(msgs: &[Msg], to: u64) -> Vec<&Msg> {
    msgs.iter()
        .filter(|m| m.msg_type == MessageType::App && m.to == to)
        .collect()
}

#[test]
fn partition_leaves_deposed_leader_tail_overwritten() {
    let mut net = Network::new(3, &no_tweak);
    elect_one(&mut net);
    assert_eq!(net.propose(1, blob(1)), Ok(Some(2)));
    assert!(net.nodes.values().all(|n| n.commit_index() == 2));

    // The old leader keeps accepting proposals nobody else sees.
    net.isolate(1);
    assert_eq!(net.propose(1, blob(2)), Ok(Some(3)));
    assert_eq!(net.propose(1, blob(3)), Ok(Some(4)));
    assert_eq!(net.node(1).commit_index(), 2);

    // The majority elects a new leader once its lease on node 1 has run out.
    let new_leader = tick_until_leader_among(&mut net, &[2, 3]);
    assert_eq!(net.node(new_leader).term(), 2);
    assert_eq!(net.propose(new_leader, blob(4)), Ok(Some(4)));
    assert_eq!(net.node(new_leader).commit_index(), 4);

    net.heal();
    net.tick(new_leader);
    assert_eq!(net.node(1).role(), Role::Follower);
    assert_eq!(net.node(1).leader(), new_leader);
    let expected = vec![(1, 1, 0), (1, 2, 1), (2, 3, 0), (2, 4, 4)];
    for id in 1..=3 {
        assert_eq!(net.log_of(id), expected, "log of node {id}");
        assert_eq!(net.node(id).commit_index(), 4);
    }
}

#[test]
fn old_term_entry_is_not_committed_by_counting_replicas() {
    // Figure 8: entry 2 (term 2) exists only on node 1, which then leads term 3.
    let tiny_msgs = |c: &mut Config| c.max_size_per_msg_bytes = 1;
    let nodes = [(1, vec![1, 2]), (2, vec![1]), (3, vec![1])]
        .into_iter()
        .map(|(id, log)| (id, restarted(config(id, 3, &tiny_msgs), 2, &log, 1)))
        .collect();
    let mut net = Network::from_nodes(nodes);
    // Followers never get to acknowledge entry 3, the leader's own-term entry.
    net.drop_if(|m| m.msg_type == MessageType::AppResp && m.index >= 3);
    net.campaign(1);
    assert_eq!(net.node(1).role(), Role::Leader);
    assert_eq!(net.node(1).term(), 3);
    for id in 2..=3 {
        assert_eq!(
            net.node(id).term_at(2),
            Some(2),
            "entry 2 replicated on {id}"
        );
        assert_eq!(net.node(1).progress(id).unwrap().matched(), 2);
    }
    assert_eq!(
        net.node(1).commit_index(),
        1,
        "entry 2 is on every node but from an older term"
    );

    net.heal();
    net.tick(1);
    for node in net.nodes.values() {
        assert_eq!(node.commit_index(), 3, "committing entry 3 commits entry 2");
    }
}

#[test]
fn replicate_state_stops_at_max_inflight() {
    let mut net = Network::new(3, &|c: &mut Config| c.max_inflight_msgs = 3);
    let term = elect_one(&mut net);
    net.propose(1, blob(0)).unwrap();
    assert_eq!(
        net.node(1).progress(2).unwrap().state(),
        ProgressState::Replicate
    );

    for i in 1..=10 {
        net.node_mut(1).propose(blob(i)).unwrap();
    }
    let out = net.drain(1);
    let to_2 = apps_to(&out, 2);
    assert_eq!(
        to_2.len(),
        3,
        "one MsgApp per proposal until the window is full"
    );
    assert!(to_2.iter().all(|m| m.entries.len() == 1));
    let pr = net.node(1).progress(2).unwrap();
    assert_eq!(pr.inflight_count(), 3);
    assert!(pr.is_paused());

    // Acknowledging the first frees one slot: exactly one more MsgApp to node 2.
    let mut ack = Message::<Blob>::new(MessageType::AppResp, 2, 1, term);
    ack.index = to_2[0].entries[0].index;
    net.node_mut(1).step(ack);
    let out = net.drain(1);
    let to_2 = apps_to(&out, 2);
    assert_eq!(to_2.len(), 1);
    assert_eq!(
        to_2[0].entries.len(),
        7,
        "the rest of the log in one message"
    );
    assert!(apps_to(&out, 3).is_empty(), "node 3's window is still full");
}

#[test]
fn probe_state_sends_one_message_at_a_time() {
    let mut net = Network::new(3, &no_tweak);
    net.isolate(3);
    let term = elect_one(&mut net);
    for i in 1..=5 {
        net.propose(1, blob(i)).unwrap();
    }
    net.tick(1);
    net.tick(1);
    assert_eq!(
        net.node(1).progress(3).unwrap().state(),
        ProgressState::Probe
    );
    let sent_to_3 = apps_to(&net.sent, 3).len();
    assert_eq!(sent_to_3, 1, "only the election's probe went to node 3");

    // A heartbeat answer unpauses the probe: one message with everything missing.
    let resp = Message::<Blob>::new(MessageType::HeartbeatResp, 3, 1, term);
    net.node_mut(1).step(resp);
    let out = net.drain(1);
    let to_3 = apps_to(&out, 3);
    assert_eq!(to_3.len(), 1);
    assert_eq!(to_3[0].entries.len(), 6);

    net.node_mut(1).propose(blob(6)).unwrap();
    assert!(apps_to(&net.drain(1), 3).is_empty(), "paused again");
}

#[test]
fn messages_respect_the_size_limit_except_single_big_entries() {
    let limit = 100;
    let mut net = Network::new(3, &|c: &mut Config| c.max_size_per_msg_bytes = limit);
    elect_one(&mut net);
    net.isolate(3);
    for i in 1..=10 {
        net.propose(1, Blob { id: i, size: 10 }).unwrap();
    }
    net.propose(1, Blob { id: 11, size: 500 }).unwrap();
    for i in 12..=14 {
        net.propose(1, Blob { id: i, size: 10 }).unwrap();
    }
    net.heal();
    for _ in 0..20 {
        net.tick(1);
    }
    assert_eq!(net.log_of(3), net.log_of(1), "node 3 caught up");

    let apps = net.sent_of(MessageType::App);
    for m in &apps {
        let bytes: u64 = m.entries.iter().map(|e| e.size_bytes()).sum();
        assert!(
            bytes <= limit || m.entries.len() == 1,
            "{bytes} bytes in {m:?}"
        );
    }
    assert!(
        apps.iter().any(|m| m.entries.len() == 2),
        "small entries batch"
    );
    let big = apps
        .iter()
        .find(|m| m.entries.iter().any(|e| e.size_bytes() > limit))
        .unwrap();
    assert_eq!(big.entries.len(), 1, "an oversized entry travels alone");
}

#[test]
fn followers_forward_proposals_to_the_leader() {
    let mut net = Network::new(3, &no_tweak);
    elect_one(&mut net);
    assert_eq!(net.node_mut(2).propose(blob(7)), Ok(None));
    let out = net.drain(2);
    assert_eq!(out.len(), 1);
    let prop = out[0].clone();
    assert_eq!(
        (prop.msg_type, prop.from, prop.to),
        (MessageType::Prop, 2, 1)
    );
    assert_eq!(prop.entries.len(), 1);
    assert_eq!(prop.entries[0].data, EntryData::Normal(blob(7)));
    assert_eq!((prop.entries[0].term, prop.entries[0].index), (0, 0));

    net.deliver(out);
    for id in 1..=3 {
        assert_eq!(net.log_of(id).last(), Some(&(1, 2, 7)));
        assert_eq!(net.node(id).commit_index(), 2);
    }

    // A follower that gets a proposal from a peer passes it on too.
    let mut relay = Message::<Blob>::new(MessageType::Prop, 3, 2, 0);
    relay.entries = prop.entries.clone();
    net.node_mut(2).step(relay);
    let out = net.drain(2);
    assert_eq!(
        (out[0].msg_type, out[0].from, out[0].to),
        (MessageType::Prop, 2, 1)
    );
}

#[test]
fn proposals_without_a_leader_are_refused() {
    let mut net = Network::new(3, &no_tweak);
    assert_eq!(net.propose(1, blob(1)), Err(ProposeError::NoLeader));
    net.isolate(1);
    net.campaign(1);
    assert_eq!(net.node(1).role(), Role::Candidate);
    assert_eq!(net.propose(1, blob(1)), Err(ProposeError::NoLeader));
}

#[test]
fn commit_only_ready_does_not_need_sync() {
    let mut net = Network::new(3, &no_tweak);
    elect_one(&mut net);
    net.node_mut(1).propose(blob(1)).unwrap();
    let out = net.drain(1);
    let app = apps_to(&out, 2)[0].clone();
    net.node_mut(2).step(app);
    let rd = net.node_mut(2).ready();
    assert_eq!(rd.entries.len(), 1);
    assert!(rd.must_sync, "new entries must be fsynced");
    net.node_mut(2).advance();

    net.node_mut(1).step(rd.messages[0].clone());
    let out = net.drain(1);
    assert_eq!(net.node(1).commit_index(), 2);
    let commit_app = apps_to(&out, 2)[0].clone();
    assert_eq!(commit_app.commit, 2);
    net.node_mut(2).step(commit_app);
    let rd = net.node_mut(2).ready();
    assert!(rd.entries.is_empty());
    assert_eq!(rd.hard_state.map(|h| h.commit), Some(2));
    assert!(!rd.must_sync, "a commit-only change is not fsynced");
    assert_eq!(rd.committed_entries.len(), 1);
    net.node_mut(2).advance();
    assert_eq!(net.node(2).applied_index(), 2);
    assert!(!net.node(2).has_ready());
}

#[test]
fn vote_changes_need_sync_and_soft_state_is_reported_once() {
    let mut node: Raft<Blob> = Raft::new(config(1, 3, &no_tweak), rng(1));
    assert!(!node.has_ready());
    node.campaign();
    let rd = node.ready();
    assert!(rd.must_sync, "term and vote changed");
    assert!(rd.entries.is_empty());
    assert_eq!(rd.soft_state.map(|s| s.role), Some(Role::Candidate));
    assert_eq!(rd.messages.len(), 2);
    node.advance();
    assert!(!node.has_ready());
}

#[test]
fn restart_recovers_state_and_replays_unapplied_entries() {
    let entries = (1..=5)
        .map(|i| etcdlab_raft::Entry {
            term: 2,
            index: i,
            data: EntryData::Normal(blob(i)),
        })
        .collect();
    let recovered = Recovered {
        hard_state: HardState {
            term: 3,
            vote: 2,
            commit: 4,
        },
        snapshot: None,
        entries,
        applied: 2,
    };
    let mut node = Raft::restart(config(1, 3, &no_tweak), recovered, rng(1));
    assert_eq!(
        (node.term(), node.vote(), node.role()),
        (3, 2, Role::Follower)
    );
    assert_eq!((node.commit_index(), node.applied_index()), (4, 2));
    assert_eq!(node.last_index(), 5);
    assert_eq!(node.term_at(0), Some(0));
    assert_eq!(node.term_at(5), Some(2));
    assert_eq!(node.term_at(6), None);
    let rd = node.ready();
    assert!(
        rd.hard_state.is_none(),
        "recovered state is already durable"
    );
    assert!(rd.entries.is_empty());
    let applied: Vec<u64> = rd.committed_entries.iter().map(|e| e.index).collect();
    assert_eq!(applied, vec![3, 4]);
    node.advance();
    assert_eq!(node.applied_index(), 4);
}
