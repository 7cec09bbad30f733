//! Elections, pre-vote, leases and check-quorum, as scripts over a small network.

mod harness;

use etcdlab_raft::{Config, Message, MessageType, Raft, Role, NONE};
use harness::{config, restarted, rng, Blob, Network};

fn no_tweak(_: &mut Config) {}

fn pre_vote(cfg: &mut Config) {
    cfg.pre_vote = true;
}

/// Elects node 1 explicitly and checks everyone agrees.
fn elect_one(net: &mut Network) -> u64 {
    net.campaign(1);
    assert_eq!(net.node(1).role(), Role::Leader);
    let term = net.node(1).term();
    for node in net.nodes.values() {
        assert_eq!(node.term(), term);
        assert_eq!(node.leader(), 1);
    }
    term
}

#[test]
fn single_node_elects_itself_without_messages() {
    let mut net = Network::new(1, &no_tweak);
    let leader = net.tick_until_leader(30);
    assert_eq!(leader, 1);
    let node = net.node(1);
    assert_eq!(node.term(), 1);
    assert_eq!(node.vote(), 1);
    // The empty entry of the new term commits at once: a quorum of one.
    assert_eq!(node.last_index(), 1);
    assert_eq!(node.commit_index(), 1);
    assert!(net.sent.is_empty(), "unexpected messages: {:?}", net.sent);
}

#[test]
fn three_nodes_elect_exactly_one_leader() {
    let mut net = Network::new(3, &no_tweak);
    let leader = net.tick_until_leader(50);
    assert_eq!(net.leaders(), vec![leader]);
    let term = net.node(leader).term();
    assert_eq!(term, 1, "the first timeout wins uncontested");
    for node in net.nodes.values() {
        assert_eq!(node.term(), term);
        assert_eq!(node.leader(), leader);
        assert_eq!(
            node.commit_index(),
            1,
            "the leader's empty entry is committed"
        );
    }
    let votes = net.sent_of(MessageType::Vote);
    assert!(votes.iter().all(|m| m.from == leader && m.term == 1));
}

#[test]
fn split_vote_is_resolved_in_a_later_term() {
    let mut net = Network::new(3, &no_tweak);
    // Node 3 is unreachable while 1 and 2 both stand in term 1: each rejects the other.
    net.isolate(3);
    net.node_mut(1).campaign();
    net.node_mut(2).campaign();
    net.stabilize();
    for id in [1, 2] {
        assert_eq!(net.node(id).role(), Role::Candidate);
        assert_eq!(net.node(id).term(), 1);
    }
    assert_eq!(net.leader(), None);

    net.heal();
    let leader = net.tick_until_leader(100);
    assert!(net.node(leader).term() >= 2);
    assert_eq!(net.leaders(), vec![leader]);
}

#[test]
fn pre_vote_isolated_node_keeps_its_term_and_rejoins_quietly() {
    let mut net = Network::new(3, &pre_vote);
    let term = elect_one(&mut net);

    net.isolate(3);
    net.tick_all(100);
    assert_eq!(net.node(3).term(), term, "pre-vote never raises the term");
    assert_eq!(net.node(3).role(), Role::PreCandidate);
    assert!(!net.sent_of(MessageType::PreVote).is_empty());
    assert!(net.sent_of(MessageType::Vote).iter().all(|m| m.from == 1));

    net.heal();
    net.tick_all(3);
    assert_eq!(net.leaders(), vec![1]);
    assert_eq!(net.node(1).term(), term);
    assert_eq!(net.node(3).role(), Role::Follower);
    assert_eq!(net.node(3).leader(), 1);
}

#[test]
fn without_pre_vote_a_returning_node_deposes_the_leader() {
    let mut net = Network::new(3, &no_tweak);
    let term = elect_one(&mut net);

    net.isolate(3);
    net.tick_all(100);
    let high = net.node(3).term();
    assert!(high > term, "an isolated candidate keeps raising its term");
    assert_eq!(net.leaders(), vec![1], "the majority side is undisturbed");

    net.heal();
    // The leader's next heartbeat reaches node 3, which answers at its higher term.
    net.tick(1);
    let answer = net
        .delivered
        .iter()
        .rev()
        .find(|m| m.from == 3 && m.to == 1)
        .expect("node 3 answered");
    assert_eq!(answer.msg_type, MessageType::AppResp);
    assert_eq!(answer.term, high);
    let old = net.node(1);
    assert_eq!(old.role(), Role::Follower);
    assert_eq!(old.term(), high);
    assert_eq!(old.leader(), NONE);

    let leader = net.tick_until_leader(100);
    assert!(net.node(leader).term() > high);
}

#[test]
fn lease_rule_ignores_higher_term_votes_from_a_recent_leader() {
    for check_quorum in [true, false] {
        let mut net = Network::new(3, &|c: &mut Config| c.check_quorum = check_quorum);
        let term = elect_one(&mut net);
        let last = net.node(3).last_index();
        let mut vote = Message::<Blob>::new(MessageType::Vote, 3, 2, term + 5);
        vote.index = last;
        vote.log_term = net.node(3).term_at(last).unwrap();
        net.node_mut(2).step(vote);
        let out = net.drain(2);
        if check_quorum {
            assert_eq!(net.node(2).term(), term, "in lease: the vote is ignored");
            assert_eq!(net.node(2).leader(), 1);
            assert!(out.is_empty());
        } else {
            assert_eq!(net.node(2).term(), term + 5);
            assert_eq!(net.node(2).vote(), 3);
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].msg_type, MessageType::VoteResp);
            assert!(!out[0].reject);
        }
    }
}

#[test]
fn check_quorum_steps_down_an_isolated_leader() {
    let mut net = Network::new(3, &no_tweak);
    let term = elect_one(&mut net);
    let election_tick = 10;

    net.isolate(1);
    for _ in 0..election_tick {
        net.tick(1);
    }
    // The first check still sees the followers' answers to the election's appends.
    assert_eq!(net.node(1).role(), Role::Leader);
    for _ in 0..election_tick {
        net.tick(1);
    }
    let node = net.node(1);
    assert_eq!(node.role(), Role::Follower);
    assert_eq!(node.term(), term, "stepping down does not change the term");
    assert_eq!(node.leader(), NONE);
}

#[test]
fn pre_candidate_rejected_by_a_quorum_returns_to_follower() {
    // Node 2's log is behind: nobody grants it a pre-vote.
    let nodes = [(1, vec![1, 1]), (2, vec![1]), (3, vec![1, 1])]
        .into_iter()
        .map(|(id, log)| (id, restarted(config(id, 3, &pre_vote), 1, &log, 1)))
        .collect();
    let mut net = Network::from_nodes(nodes);
    net.campaign(2);
    let node = net.node(2);
    assert_eq!(node.role(), Role::Follower);
    assert_eq!(node.term(), 1, "a lost pre-vote leaves the term alone");
    let answers = net.sent_of(MessageType::PreVoteResp);
    assert_eq!(answers.len(), 2);
    assert!(answers.iter().all(|m| m.reject && m.term == 1));
    assert!(net.nodes.values().all(|n| n.term() == 1));
}

#[test]
fn randomized_timeout_is_drawn_per_term_and_lies_in_range() {
    let e = 10;
    let cfg = config(1, 3, &no_tweak);
    let mut node: Raft<Blob> = Raft::new(cfg.clone(), rng(1));
    let mut twin: Raft<Blob> = Raft::new(cfg, rng(1));
    let mut seen = std::collections::BTreeSet::new();
    for term in 0..50 {
        let timeout = node.randomized_election_timeout();
        assert!((e..2 * e).contains(&timeout), "timeout {timeout}");
        assert_eq!(timeout, twin.randomized_election_timeout(), "deterministic");
        seen.insert(timeout);
        // Not redrawn while ticking towards it.
        for _ in 1..timeout {
            node.tick();
            twin.tick();
            assert_eq!(node.randomized_election_timeout(), timeout);
            assert_eq!(node.term(), term);
        }
        node.tick();
        twin.tick();
        assert_eq!(node.term(), term + 1, "timed out and campaigned");
        assert_eq!(node.role(), Role::Candidate);
        node.ready();
        node.advance();
    }
    assert!(seen.len() > 3, "timeouts should vary: {seen:?}");
}

#[test]
fn pre_campaigns_do_not_redraw_the_timeout() {
    let mut node: Raft<Blob> = Raft::new(config(1, 3, &pre_vote), rng(1));
    let timeout = node.randomized_election_timeout();
    for _ in 0..5 * timeout {
        node.tick();
        assert_eq!(node.randomized_election_timeout(), timeout);
        assert_eq!(node.term(), 0);
    }
    assert_eq!(node.role(), Role::PreCandidate);
    let rd = node.ready();
    let pre_votes: Vec<_> = rd
        .messages
        .iter()
        .filter(|m| m.msg_type == MessageType::PreVote)
        .collect();
    assert_eq!(pre_votes.len(), 2 * 5, "two peers, five pre-campaigns");
    assert!(pre_votes.iter().all(|m| m.term == 1));
    assert!(!rd.must_sync, "pre-campaigns persist nothing");
}
