//! A tiny in-memory cluster: messages in, messages out, every Ready handled at once.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use etcdlab_raft::{
    Config, Entry, EntryData, HardState, Message, MessageType, NodeId, Payload, ProposeError, Raft,
    Recovered, Role,
};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

/// A payload that is only an id and a size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    pub id: u64,
    pub size: u64,
}

impl Payload for Blob {
    fn size_bytes(&self) -> u64 {
        self.size
    }
}

pub type Node = Raft<Blob>;
pub type Msg = Message<Blob>;

pub fn blob(id: u64) -> Blob {
    Blob { id, size: 8 }
}

/// etcd defaults for node `id` of an `n`-node cluster, tweaked by `tweak`.
pub fn config(id: NodeId, n: u64, tweak: &dyn Fn(&mut Config)) -> Config {
    let mut cfg = Config::etcd_defaults(id, (1..=n).collect());
    tweak(&mut cfg);
    cfg
}

pub fn rng(id: NodeId) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(1000 + id)
}

/// A node restarted with a log whose entries have the given terms (index = position + 1).
pub fn restarted(cfg: Config, term: u64, log_terms: &[u64], commit: u64) -> Node {
    let entries = log_terms
        .iter()
        .enumerate()
        .map(|(i, &t)| Entry {
            term: t,
            index: i as u64 + 1,
            data: EntryData::Empty,
        })
        .collect();
    let recovered = Recovered {
        hard_state: HardState {
            term,
            vote: 0,
            commit,
        },
        snapshot: None,
        entries,
        applied: commit,
    };
    let id = cfg.id;
    Raft::restart(cfg, recovered, rng(id))
}

type DropRule = Box<dyn Fn(&Msg) -> bool>;

pub struct Network {
    pub nodes: BTreeMap<NodeId, Node>,
    /// Directed links that lose every message.
    cut: BTreeSet<(NodeId, NodeId)>,
    /// Extra loss rule (e.g. "drop MsgApp carrying index 3").
    drop_rule: Option<DropRule>,
    /// Every message delivered so far, in order.
    pub delivered: Vec<Msg>,
    /// Every message any node emitted (delivered or not), in order.
    pub sent: Vec<Msg>,
    /// Read states handed out, with the node that got each.
    pub read_states: Vec<(NodeId, etcdlab_raft::ReadState)>,
}

impl Network {
    pub fn new(n: u64, tweak: &dyn Fn(&mut Config)) -> Self {
        let nodes = (1..=n)
            .map(|id| (id, Raft::new(config(id, n, tweak), rng(id))))
            .collect();
        Self::from_nodes(nodes)
    }

    pub fn from_nodes(nodes: BTreeMap<NodeId, Node>) -> Self {
        Network {
            nodes,
            cut: BTreeSet::new(),
            drop_rule: None,
            delivered: Vec::new(),
            sent: Vec::new(),
            read_states: Vec::new(),
        }
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[&id]
    }

    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        self.nodes.get_mut(&id).expect("no such node")
    }

    /// Handles the node's Ready (persist + apply are instantaneous) and returns its messages.
    pub fn drain(&mut self, id: NodeId) -> Vec<Msg> {
        let node = self.node_mut(id);
        if !node.has_ready() {
            return Vec::new();
        }
        let rd = node.ready();
        node.advance();
        self.read_states
            .extend(rd.read_states.iter().map(|rs| (id, *rs)));
        self.sent.extend(rd.messages.iter().cloned());
        rd.messages
    }

    /// Delivers `msgs` and everything they trigger until the network is quiet.
    pub fn deliver(&mut self, msgs: Vec<Msg>) {
        let mut queue: VecDeque<Msg> = msgs.into();
        let mut budget = 100_000;
        while let Some(m) = queue.pop_front() {
            budget -= 1;
            assert!(budget > 0, "network did not quiesce");
            if self.is_dropped(&m) || !self.nodes.contains_key(&m.to) {
                continue;
            }
            let to = m.to;
            self.delivered.push(m.clone());
            self.node_mut(to).step(m);
            queue.extend(self.drain(to));
        }
    }

    fn is_dropped(&self, m: &Msg) -> bool {
        self.cut.contains(&(m.from, m.to)) || self.drop_rule.as_ref().is_some_and(|r| r(m))
    }

    /// Drains every node and delivers until quiet.
    pub fn stabilize(&mut self) {
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        let mut msgs = Vec::new();
        for id in ids {
            msgs.extend(self.drain(id));
        }
        self.deliver(msgs);
    }

    pub fn campaign(&mut self, id: NodeId) {
        self.node_mut(id).campaign();
        self.stabilize();
    }

    /// One tick on one node, then deliver.
    pub fn tick(&mut self, id: NodeId) {
        self.node_mut(id).tick();
        self.stabilize();
    }

    /// `rounds` ticks on every node, delivering after each round.
    pub fn tick_all(&mut self, rounds: u32) {
        for _ in 0..rounds {
            for node in self.nodes.values_mut() {
                node.tick();
            }
            self.stabilize();
        }
    }

    /// Ticks everyone until some node is leader (panics after `max_rounds`).
    pub fn tick_until_leader(&mut self, max_rounds: u32) -> NodeId {
        for _ in 0..max_rounds {
            if let Some(id) = self.leader() {
                return id;
            }
            self.tick_all(1);
        }
        self.leader().expect("no leader elected")
    }

    pub fn propose(&mut self, id: NodeId, payload: Blob) -> Result<Option<u64>, ProposeError> {
        let r = self.node_mut(id).propose(payload);
        self.stabilize();
        r
    }

    /// Cuts every link to and from `id`.
    pub fn isolate(&mut self, id: NodeId) {
        let others: Vec<NodeId> = self.nodes.keys().copied().filter(|&o| o != id).collect();
        for o in others {
            self.cut.insert((id, o));
            self.cut.insert((o, id));
        }
    }

    pub fn cut_link(&mut self, from: NodeId, to: NodeId) {
        self.cut.insert((from, to));
    }

    pub fn drop_if(&mut self, rule: impl Fn(&Msg) -> bool + 'static) {
        self.drop_rule = Some(Box::new(rule));
    }

    pub fn heal(&mut self) {
        self.cut.clear();
        self.drop_rule = None;
    }

    /// The unique leader with the highest term, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.nodes
            .values()
            .filter(|n| n.role() == Role::Leader)
            .max_by_key(|n| n.term())
            .map(|n| n.id())
    }

    pub fn leaders(&self) -> Vec<NodeId> {
        self.nodes
            .values()
            .filter(|n| n.role() == Role::Leader)
            .map(|n| n.id())
            .collect()
    }

    /// (term, index, payload id) of every entry of `id`'s log; Empty entries have id 0.
    pub fn log_of(&self, id: NodeId) -> Vec<(u64, u64, u64)> {
        let node = self.node(id);
        (1..=node.last_index())
            .map(|i| {
                let e = node.entry_at(i).expect("entry in memory");
                let pid = match &e.data {
                    EntryData::Empty => 0,
                    EntryData::Normal(b) => b.id,
                };
                (e.term, e.index, pid)
            })
            .collect()
    }

    /// Messages of a type sent so far.
    pub fn sent_of(&self, t: MessageType) -> Vec<&Msg> {
        self.sent.iter().filter(|m| m.msg_type == t).collect()
    }
}
