//! A storage array shared by etcd's volume and neighbour VMs (incident 2 of the field notes).
//!
//! The array serves `iops` I/Os per second. Neighbour VMs alternate between idle periods, when
//! they offer a light open-loop load (`neighbour_idle_iops`), and bursts (a backup, a batch job,
//! a database checkpoint), when they keep many I/Os outstanding, closed-loop, as such jobs do.
//! Each burst's outstanding I/O count is drawn from a log-normal distribution; periods have
//! exponential lengths (an on/off Markov-modulated source).
//!
//! While any neighbour bursts, the array is saturated and an arriving I/O waits behind every
//! outstanding one: by Little's law, wait = outstanding I/Os / IOPS. Otherwise it sees the
//! random queueing of the idle load (M/M/1 at that utilisation). So etcd's fsync latency is an
//! *output* of the neighbours' load and the array's capacity, not a typed-in distribution; a
//! dedicated volume with provisioned IOPS is the same model with no neighbours.
//!
//! Neighbour state changes are drawn lazily from the array's own random stream as time
//! advances, so the array costs no events in the simulation's queue.

use crate::rng::{unit_f64, Rng};
use crate::{Nanos, NANOS_PER_S};

#[derive(Clone, Debug, PartialEq)]
pub struct ArrayParams {
    /// I/Os per second the array serves for this pool (provisioned or shared).
    pub iops: f64,
    /// Bytes per second it transfers; large writes cost time on top of their I/Os.
    pub bandwidth_bytes_per_s: f64,
    /// I/Os one WAL fdatasync costs (data pages plus the file system journal).
    pub ios_per_fsync: f64,
    pub neighbours: Vec<NeighbourGroup>,
}

/// A group of alike neighbour VMs (e.g. "six database VMs", "one backup server").
#[derive(Clone, Debug, PartialEq)]
pub struct NeighbourGroup {
    /// A label for reports, e.g. "backup VM".
    pub name: String,
    pub count: u32,
    /// Open-loop IOPS a neighbour offers while idle.
    pub idle_iops: f64,
    /// Median I/Os a bursting neighbour keeps outstanding, and the log-normal sigma of that
    /// number across bursts.
    pub burst_outstanding_ios: f64,
    pub burst_outstanding_sigma: f64,
    /// Mean length of idle and burst periods (seconds; exponential).
    pub idle_mean_s: f64,
    pub burst_mean_s: f64,
}

#[derive(Clone, Copy, Debug)]
struct Neighbour {
    group: usize,
    /// I/Os kept outstanding during the current burst; None while idle.
    burst_outstanding_ios: Option<f64>,
    next_toggle_ns: Nanos,
}

pub struct Array {
    params: ArrayParams,
    rng: Rng,
    neighbours: Vec<Neighbour>,
}

impl Array {
    pub fn new(params: ArrayParams, mut rng: Rng) -> Array {
        assert!(params.iops > 0.0, "array iops must be positive");
        let mut neighbours = Vec::new();
        for (group, g) in params.neighbours.iter().enumerate() {
            let p_burst = g.burst_mean_s / (g.burst_mean_s + g.idle_mean_s);
            for _ in 0..g.count {
                // Start each neighbour in its stationary state, so the run has no warm-up.
                let bursting = unit_f64(&mut rng) < p_burst;
                let burst_outstanding_ios = bursting.then(|| burst_size(g, &mut rng));
                let next_toggle_ns = period_ns(g, bursting, &mut rng);
                neighbours.push(Neighbour {
                    group,
                    burst_outstanding_ios,
                    next_toggle_ns,
                });
            }
        }
        Array {
            params,
            rng,
            neighbours,
        }
    }

    /// Bring neighbour states forward to `t`.
    fn advance(&mut self, t: Nanos) {
        for i in 0..self.neighbours.len() {
            while self.neighbours[i].next_toggle_ns <= t {
                let g = &self.params.neighbours[self.neighbours[i].group];
                let now_bursting = self.neighbours[i].burst_outstanding_ios.is_none();
                let size = now_bursting.then(|| burst_size(g, &mut self.rng));
                let period = period_ns(g, now_bursting, &mut self.rng);
                let n = &mut self.neighbours[i];
                n.burst_outstanding_ios = size;
                n.next_toggle_ns += period;
            }
        }
    }

    /// I/Os outstanding from bursting neighbours now.
    fn outstanding_ios(&self) -> f64 {
        self.neighbours
            .iter()
            .filter_map(|n| n.burst_outstanding_ios)
            .sum()
    }

    /// Open-loop IOPS from idle neighbours now.
    fn idle_iops(&self) -> f64 {
        self.neighbours
            .iter()
            .filter(|n| n.burst_outstanding_ios.is_none())
            .map(|n| self.params.neighbours[n.group].idle_iops)
            .sum()
    }

    /// An fsync of `bytes` reaches the array at `t`: when is it done?
    pub fn fsync(&mut self, t: Nanos, bytes: u64) -> Nanos {
        let wait_s = self.wait_s(t);
        let own_s = self.params.ios_per_fsync / self.params.iops
            + bytes as f64 / self.params.bandwidth_bytes_per_s;
        // Saturating: an absurd wait means "never within this run", not a wrap-around.
        t.saturating_add(((wait_s + own_s) * NANOS_PER_S as f64).round() as Nanos)
    }

    /// Time an I/O arriving at `t` waits before service.
    pub fn wait_s(&mut self, t: Nanos) -> f64 {
        self.advance(t);
        let outstanding = self.outstanding_ios();
        if outstanding > 0.0 {
            // Saturated: behind every outstanding I/O (Little's law), with the small spread
            // of that many exponential services.
            let mean = outstanding / self.params.iops;
            let spread = outstanding.sqrt() / self.params.iops;
            return (mean + spread * (2.0 * unit_f64(&mut self.rng) - 1.0)).max(0.0);
        }
        self.poisson_wait_s()
    }

    /// M/M/1 waiting time at the idle load's utilisation rho: zero with probability 1 - rho,
    /// else exponential with mean 1 / (mu (1 - rho)).
    fn poisson_wait_s(&mut self) -> f64 {
        let rho = (self.idle_iops() / self.params.iops).min(0.99);
        if rho <= 0.0 || unit_f64(&mut self.rng) >= rho {
            return 0.0;
        }
        let mean_s = 1.0 / (self.params.iops * (1.0 - rho));
        -libm::log(1.0 - unit_f64(&mut self.rng)) * mean_s
    }

    pub fn params(&self) -> &ArrayParams {
        &self.params
    }
}

/// Outstanding I/Os of one burst: log-normal around the configured median.
fn burst_size(g: &NeighbourGroup, rng: &mut Rng) -> f64 {
    let u1 = 1.0 - unit_f64(rng);
    let u2 = unit_f64(rng);
    let z = (-2.0 * libm::log(u1)).sqrt() * libm::cos(std::f64::consts::TAU * u2);
    g.burst_outstanding_ios * libm::exp(g.burst_outstanding_sigma * z)
}

/// Length of the next idle or burst period.
fn period_ns(g: &NeighbourGroup, bursting: bool, rng: &mut Rng) -> Nanos {
    let mean_s = if bursting {
        g.burst_mean_s
    } else {
        g.idle_mean_s
    };
    let s = -libm::log(1.0 - unit_f64(rng)) * mean_s;
    ((s * NANOS_PER_S as f64).round() as Nanos).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn params(count: u32, outstanding: f64) -> ArrayParams {
        ArrayParams {
            iops: 1000.0,
            bandwidth_bytes_per_s: 1e9,
            ios_per_fsync: 1.0,
            neighbours: vec![NeighbourGroup {
                name: String::new(),
                count,
                idle_iops: 0.0,
                burst_outstanding_ios: outstanding,
                burst_outstanding_sigma: 0.0,
                idle_mean_s: 10.0,
                burst_mean_s: 10.0,
            }],
        }
    }

    #[test]
    fn dedicated_volume_serves_at_its_iops() {
        let mut a = Array::new(params(0, 0.0), stream(1, "a"));
        // 1 I/O at 1000 IOPS = 1 ms, no queue.
        assert_eq!(a.fsync(0, 0), 1_000_000);
        assert_eq!(a.fsync(5_000_000, 0), 6_000_000);
    }

    #[test]
    fn bursting_neighbours_make_etcd_wait_behind_their_outstanding_ios() {
        // Two neighbours, bursting half the time with 500 outstanding I/Os each.
        let mut a = Array::new(params(2, 500.0), stream(1, "a"));
        let mut waits: Vec<f64> = (0..36_000).map(|i| a.wait_s(i * 100_000_000)).collect();
        waits.sort_by(f64::total_cmp);
        let share = |lo: f64, hi: f64| {
            waits.iter().filter(|w| **w >= lo && **w < hi).count() as f64 / waits.len() as f64
        };
        // 0, 1 or 2 neighbours bursting: about 1/4, 1/2, 1/4 of the time.
        assert!(
            (0.15..0.35).contains(&share(0.0, 0.1)),
            "{}",
            share(0.0, 0.1)
        );
        assert!((0.40..0.60).contains(&share(0.4, 0.6)));
        assert!((0.15..0.35).contains(&share(0.9, 1.1)));
    }

    #[test]
    fn idle_load_gives_random_queueing() {
        let mut p = params(4, 0.0);
        p.neighbours[0].idle_iops = 200.0; // 80% utilisation while all idle
        p.neighbours[0].idle_mean_s = 1e9;
        let mut a = Array::new(p, stream(2, "a"));
        let waits: Vec<f64> = (0..10_000).map(|i| a.wait_s(i * 1_000_000)).collect();
        let mean = waits.iter().sum::<f64>() / waits.len() as f64;
        // M/M/1 at rho 0.8, mu 1000: mean wait rho / (mu (1 - rho)) = 4 ms.
        assert!((0.003..0.005).contains(&mean), "{mean}");
    }

    #[test]
    fn same_stream_same_waits() {
        let run = || {
            let mut a = Array::new(params(4, 400.0), stream(9, "a"));
            (0..100)
                .map(|s| a.fsync(s * 100_000_000, 4096))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}
