//! The network between members: per directed link a one-way latency distribution, loss,
//! duplication and bandwidth; partitions and time-windowed link faults as plain calls.
//!
//! Links behave like etcd's TCP streams: messages on one link arrive in order (a message never
//! overtakes an earlier one), and a message occupies the link for size / bandwidth.

use crate::dist::Dist;
use crate::rng::{chance, Rng};
use crate::{ms_to_ns, Nanos, NANOS_PER_S};

#[derive(Clone, Debug)]
pub struct LinkParams {
    pub one_way_latency_ms: Dist,
    pub loss: f64,
    pub duplicate: f64,
    pub bandwidth_bytes_per_s: f64,
}

/// A temporary change of one link's latency and/or loss (a scenario `link_fault`).
#[derive(Clone, Debug)]
struct LinkFault {
    id: u64,
    one_way_latency_ms: Option<Dist>,
    loss: Option<f64>,
}

#[derive(Clone, Debug)]
struct Link {
    params: LinkParams,
    faults: Vec<LinkFault>,
    /// Number of active partitions cutting this link (they may overlap).
    blocked: u32,
    /// The link transmits one message at a time.
    busy_until: Nanos,
    /// Arrival time of the last message, to keep the stream in order.
    last_arrival: Nanos,
}

/// Where a sent message ends up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    Dropped,
    At(Nanos),
    /// Delivered twice (duplication).
    Twice(Nanos, Nanos),
}

pub struct Net {
    n: usize,
    links: Vec<Link>,
    rng: Rng,
}

impl Net {
    /// `n` members, every directed link with `params`.
    pub fn new(n: usize, params: LinkParams, rng: Rng) -> Net {
        let link = Link {
            params,
            faults: Vec::new(),
            blocked: 0,
            busy_until: 0,
            last_arrival: 0,
        };
        Net {
            n,
            links: vec![link; n * n],
            rng,
        }
    }

    fn link_mut(&mut self, from: usize, to: usize) -> &mut Link {
        assert!(
            from < self.n && to < self.n && from != to,
            "no link {from}->{to}"
        );
        &mut self.links[from * self.n + to]
    }

    /// Replace the base parameters of one directed link.
    pub fn set_link(&mut self, from: usize, to: usize, params: LinkParams) {
        self.link_mut(from, to).params = params;
    }

    pub fn link_params(&self, from: usize, to: usize) -> &LinkParams {
        &self.links[from * self.n + to].params
    }

    pub fn is_blocked(&self, from: usize, to: usize) -> bool {
        self.links[from * self.n + to].blocked > 0
    }

    /// Cut (or, with `cut = false`, restore) the directed link. Cuts nest.
    pub fn block(&mut self, from: usize, to: usize, cut: bool) {
        let link = self.link_mut(from, to);
        if cut {
            link.blocked += 1;
        } else {
            link.blocked = link.blocked.saturating_sub(1);
        }
    }

    /// Remove every cut on every link.
    pub fn heal_all(&mut self) {
        for l in &mut self.links {
            l.blocked = 0;
        }
    }

    pub fn add_fault(
        &mut self,
        id: u64,
        from: usize,
        to: usize,
        one_way_latency_ms: Option<Dist>,
        loss: Option<f64>,
    ) {
        self.link_mut(from, to).faults.push(LinkFault {
            id,
            one_way_latency_ms,
            loss,
        });
    }

    pub fn remove_fault(&mut self, id: u64) {
        for l in &mut self.links {
            l.faults.retain(|f| f.id != id);
        }
    }

    /// Send `size_bytes` from `from` to `to` at `now`.
    pub fn send(&mut self, now: Nanos, from: usize, to: usize, size_bytes: u64) -> Delivery {
        let n = self.n;
        let link = &mut self.links[from * n + to];
        if link.blocked > 0 {
            return Delivery::Dropped;
        }
        let (latency, loss) = effective(link);
        if chance(&mut self.rng, loss) {
            return Delivery::Dropped;
        }
        let latency_ns = ms_to_ns(latency.sample(&mut self.rng));
        let transfer = (size_bytes as f64 * NANOS_PER_S as f64 / link.params.bandwidth_bytes_per_s)
            .round() as Nanos;
        let departed = now.max(link.busy_until).saturating_add(transfer);
        link.busy_until = departed;
        let arrival = departed.saturating_add(latency_ns).max(link.last_arrival);
        link.last_arrival = arrival;
        if chance(&mut self.rng, link.params.duplicate) {
            return Delivery::Twice(arrival, arrival);
        }
        Delivery::At(arrival)
    }

    /// One round-trip sample between two members (for etcd's peer RTT probe metric).
    pub fn sample_rtt_ns(&mut self, a: usize, b: usize) -> Nanos {
        let there = effective(&self.links[a * self.n + b]).0.clone();
        let back = effective(&self.links[b * self.n + a]).0.clone();
        ms_to_ns(there.sample(&mut self.rng)) + ms_to_ns(back.sample(&mut self.rng))
    }
}

/// The latency and loss in force on a link: the newest fault's values win.
fn effective(link: &Link) -> (&Dist, f64) {
    let mut latency = &link.params.one_way_latency_ms;
    let mut loss = link.params.loss;
    for f in &link.faults {
        if let Some(l) = &f.one_way_latency_ms {
            latency = l;
        }
        if let Some(p) = f.loss {
            loss = p;
        }
    }
    (latency, loss)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn net(latency_ms: f64, bandwidth: f64) -> Net {
        Net::new(
            3,
            LinkParams {
                one_way_latency_ms: Dist::constant(latency_ms),
                loss: 0.0,
                duplicate: 0.0,
                bandwidth_bytes_per_s: bandwidth,
            },
            stream(1, "net"),
        )
    }

    #[test]
    fn large_messages_take_longer() {
        let mut n = net(1.0, 1e6);
        assert_eq!(n.send(0, 0, 1, 100), Delivery::At(1_100_000));
        // 1 MB at 1 MB/s: a second of transfer, and the link is busy meanwhile.
        assert_eq!(n.send(0, 0, 2, 1_000_000), Delivery::At(1_001_000_000));
        assert_eq!(n.send(0, 0, 2, 0), Delivery::At(1_001_000_000));
    }

    #[test]
    fn messages_on_a_link_stay_in_order() {
        let mut n = net(0.0, 1e12);
        n.add_fault(1, 0, 1, Some(Dist::constant(10.0)), None);
        let first = n.send(0, 0, 1, 0);
        n.remove_fault(1);
        let second = n.send(1, 0, 1, 0);
        match (first, second) {
            (Delivery::At(a), Delivery::At(b)) => assert!(b >= a),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn partitions_nest_and_are_one_way() {
        let mut n = net(1.0, 1e9);
        n.block(0, 1, true);
        n.block(0, 1, true);
        assert_eq!(n.send(0, 0, 1, 10), Delivery::Dropped);
        assert!(matches!(n.send(0, 1, 0, 10), Delivery::At(_)), "one-way");
        n.block(0, 1, false);
        assert_eq!(n.send(0, 0, 1, 10), Delivery::Dropped);
        n.block(0, 1, false);
        assert!(matches!(n.send(0, 0, 1, 10), Delivery::At(_)));
    }

    #[test]
    fn loss_drops_about_the_right_share() {
        let mut n = net(1.0, 1e12);
        n.add_fault(7, 0, 1, None, Some(0.25));
        let dropped = (0..10_000)
            .filter(|i| n.send(*i, 0, 1, 0) == Delivery::Dropped)
            .count();
        assert!((2200..2800).contains(&dropped), "{dropped}");
    }
}
