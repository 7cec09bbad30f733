//! The world's clients. Each talks to etcd on a connection of its own; a member answers on the
//! connection a request came in on (`Output::Reply::client`), so a reply goes straight back to
//! the client that sent it.

use etcdlab_member::{ClientId, Origin, Request};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Client {
    /// The plain workload's writes (`[workload]`), recorded as client writes.
    Writes,
    /// The plain workload's reads.
    Reads,
    /// kube-apiserver writing for its clients (`[kube]`), recorded as client writes.
    Kube,
    /// kube-apiserver's compactor: a put of `compact_rev_key`, then a compaction.
    KubeCompactor,
    /// etcd's auto-compactor (`--auto-compaction-*`).
    AutoCompactor,
    /// The operator's etcdctl (timeline commands and the runbook).
    Operator,
}

const ALL: [Client; 6] = [
    Client::Writes,
    Client::Reads,
    Client::Kube,
    Client::KubeCompactor,
    Client::AutoCompactor,
    Client::Operator,
];

impl Client {
    /// Its connection number.
    pub fn id(self) -> ClientId {
        ALL.iter().position(|c| *c == self).expect("listed") as ClientId
    }

    /// The client on connection `id`.
    pub fn from_id(id: ClientId) -> Client {
        ALL[id as usize]
    }

    /// The client that sent `req` (the world sends only clients' requests).
    pub fn of(req: &Request) -> Client {
        match req.origin {
            Origin::Client(id) => Client::from_id(id),
            Origin::Member => unreachable!("request {} is a member's own", req.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_has_its_own_connection() {
        for c in ALL {
            assert_eq!(Client::from_id(c.id()), c);
        }
    }
}
