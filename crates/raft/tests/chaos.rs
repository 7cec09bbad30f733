//! Randomized runs (seeded, deterministic) with loss, reordering and partitions, checking
//! Raft's safety properties after every step and liveness once the network heals.

mod harness;

use std::collections::{BTreeMap, BTreeSet};

use etcdlab_raft::{Config, EntryData, NodeId, Role};
use harness::{Blob, Msg, Network};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

struct Chaos {
    net: Network,
    rng: ChaCha8Rng,
    pending: Vec<Msg>,
    /// Partitioned-off nodes: all their traffic is lost.
    isolated: BTreeSet<NodeId>,
    leader_of_term: BTreeMap<u64, NodeId>,
    /// (term, payload id) of every committed index seen so far (index = position + 1).
    committed: Vec<(u64, u64)>,
    last_commit: BTreeMap<NodeId, u64>,
    next_payload: u64,
}

impl Chaos {
    fn new(seed: u64, n: u64, tweak: &dyn Fn(&mut Config)) -> Self {
        Chaos {
            net: Network::new(n, tweak),
            rng: ChaCha8Rng::seed_from_u64(seed),
            pending: Vec::new(),
            isolated: BTreeSet::new(),
            leader_of_term: BTreeMap::new(),
            committed: Vec::new(),
            last_commit: BTreeMap::new(),
            next_payload: 1,
        }
    }

    fn pick(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n as u64) as usize
    }

    fn random_node(&mut self) -> NodeId {
        let n = self.net.nodes.len();
        self.pick(n) as NodeId + 1
    }

    fn collect(&mut self, id: NodeId) {
        let msgs = self.net.drain(id);
        self.pending.extend(msgs);
    }

    fn step(&mut self) {
        match self.pick(100) {
            0..=29 => {
                let id = self.random_node();
                self.net.node_mut(id).tick();
                self.collect(id);
            }
            30..=37 => {
                let id = self.random_node();
                let payload = Blob {
                    id: self.next_payload,
                    size: 1 + self.rng.next_u64() % 60,
                };
                self.next_payload += 1;
                let _ = self.net.node_mut(id).propose(payload);
                self.collect(id);
            }
            38 => {
                let id = self.random_node();
                self.isolated.insert(id);
            }
            39..=40 => self.isolated.clear(),
            _ => self.deliver_one(),
        }
        self.check_safety();
    }

    /// Delivers a random pending message (reordering), losing some.
    fn deliver_one(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let i = self.pick(self.pending.len());
        let m = self.pending.swap_remove(i);
        let lost = self.pick(100) < 5;
        if lost || self.isolated.contains(&m.from) || self.isolated.contains(&m.to) {
            return;
        }
        let to = m.to;
        self.net.node_mut(to).step(m);
        self.collect(to);
    }

    fn check_safety(&mut self) {
        for (&id, node) in &self.net.nodes {
            if node.role() == Role::Leader {
                let first = *self.leader_of_term.entry(node.term()).or_insert(id);
                assert_eq!(first, id, "two leaders in term {}", node.term());
            }
            let commit = node.commit_index();
            let prev = self.last_commit.insert(id, commit).unwrap_or(0);
            assert!(
                commit >= prev,
                "node {id} commit went back {prev} -> {commit}"
            );
            assert!(node.applied_index() <= commit);
            for index in 1..=commit {
                let e = node.entry_at(index).expect("committed entry held");
                let pid = match &e.data {
                    EntryData::Empty => 0,
                    EntryData::Normal(b) => b.id,
                };
                let pos = (index - 1) as usize;
                match self.committed.get(pos) {
                    Some(&known) => assert_eq!(known, (e.term, pid), "index {index} differs"),
                    None => self.committed.push((e.term, pid)),
                }
            }
        }
    }

    /// After healing, a leader emerges and everyone converges on its log.
    fn check_liveness(&mut self) {
        self.isolated.clear();
        self.pending.clear();
        let leader = self.net.tick_until_leader(500);
        self.net.propose(leader, Blob { id: 0, size: 1 }).unwrap();
        self.net.tick_all(30);
        self.check_safety();
        let leader = self.net.leader().expect("leader after healing");
        let commit = self.net.node(leader).commit_index();
        let log = self.net.log_of(leader);
        for id in self.net.nodes.keys().copied().collect::<Vec<_>>() {
            assert_eq!(self.net.node(id).commit_index(), commit, "node {id} commit");
            assert_eq!(self.net.log_of(id), log, "node {id} log");
        }
    }
}

fn run(seed: u64, n: u64, steps: u32, tweak: &dyn Fn(&mut Config)) {
    let mut chaos = Chaos::new(seed, n, tweak);
    for _ in 0..steps {
        chaos.step();
    }
    assert!(
        chaos.committed.len() > 5,
        "seed {seed}: too little progress ({} committed)",
        chaos.committed.len()
    );
    chaos.check_liveness();
}

#[test]
fn chaos_default_etcd_settings() {
    for seed in 0..8 {
        run(seed, 5, 20_000, &|_| {});
    }
}

#[test]
fn chaos_pre_vote_and_tight_flow_control() {
    let tweak = |c: &mut Config| {
        c.pre_vote = true;
        c.max_inflight_msgs = 2;
        c.max_size_per_msg_bytes = 100;
    };
    for seed in 100..108 {
        run(seed, 3, 20_000, &tweak);
    }
}

#[test]
fn chaos_without_check_quorum() {
    let tweak = |c: &mut Config| {
        c.check_quorum = false;
        c.max_inflight_msgs = 4;
    };
    for seed in 200..206 {
        run(seed, 4, 20_000, &tweak);
    }
}
