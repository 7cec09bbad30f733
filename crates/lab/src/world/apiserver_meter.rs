//! kube-apiserver's request latency as `apiserver_request_duration_seconds` measures it (every
//! verb but WATCH, from the request's arrival to its response): the workload's writes, which
//! go through etcd, and the GETs and LISTs of its clients (kubelets, controllers, the
//! scheduler) that it answers from its watch cache (`[kube] api_requests`).
//!
//! A cached read never waits for etcd: it costs the apiserver's own handling time, drawn from
//! the scenario's distribution. A write takes what its etcd request took (an Event also waits
//! for the grant of the lease it is written with), capped at `--request-timeout` (60 s), where
//! the apiserver answers 504 whatever etcd does.

use crate::history::histogram;
use etcdlab_kube::REQUEST_TIMEOUT_NS;
use etcdlab_report::{ApiLatencyBin, ApiserverRequests, LatencyMs};
use etcdlab_scenario::ApiRequestsSpec;
use etcdlab_sim::rng::{unit_f64, Rng};
use etcdlab_sim::Nanos;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

/// The chart's bins: 5 minutes, the `rate(...[5m])` of a latency dashboard.
pub(crate) const BIN_NS: Nanos = 300 * 1_000_000_000;

/// All requests' latencies and the writes' alone (microseconds).
struct Latencies {
    all_us: Histogram<u64>,
    writes_us: Histogram<u64>,
}

impl Latencies {
    fn new() -> Latencies {
        Latencies {
            all_us: histogram(),
            writes_us: histogram(),
        }
    }
}

pub(crate) struct ApiMeter {
    spec: ApiRequestsSpec,
    rng: Rng,
    /// Writes in flight: request id -> when the apiserver received it.
    issued: BTreeMap<u64, Nanos>,
    gets: u64,
    lists: u64,
    writes: u64,
    writes_failed: u64,
    run: Latencies,
    /// By 5-minute bin of arrival (a bin never lies past the run's end).
    bins: BTreeMap<u64, Latencies>,
}

impl ApiMeter {
    pub fn new(spec: ApiRequestsSpec, rng: Rng) -> ApiMeter {
        ApiMeter {
            spec,
            rng,
            issued: BTreeMap::new(),
            gets: 0,
            lists: 0,
            writes: 0,
            writes_failed: 0,
            run: Latencies::new(),
            bins: BTreeMap::new(),
        }
    }

    fn reads_per_s(&self) -> f64 {
        self.spec.gets_per_s + self.spec.lists_per_s
    }

    /// When the next cached read arrives after `now` (None: no reads).
    pub fn next_read_at(&mut self, now: Nanos) -> Option<Nanos> {
        let rate = self.reads_per_s();
        (rate > 0.0).then(|| now + super::client::poisson_gap_ns(&mut self.rng, rate))
    }

    /// A GET or LIST arrives at `now` and is answered from the watch cache.
    pub fn on_read(&mut self, now: Nanos) {
        let is_list = unit_f64(&mut self.rng) * self.reads_per_s() < self.spec.lists_per_s;
        let dist = if is_list {
            self.lists += 1;
            &self.spec.cache_list_latency_ms
        } else {
            self.gets += 1;
            &self.spec.cache_get_latency_ms
        };
        let latency_ns = (dist.sample(&mut self.rng) * 1e6).round().max(1.0) as Nanos;
        self.record(now, latency_ns, false);
    }

    /// The apiserver received a write at `now`; it goes to etcd as request `id`.
    pub fn on_write(&mut self, id: u64, now: Nanos) {
        self.issued.insert(id, now);
    }

    /// etcd answered request `id` at `now` (`failed`: with an error).
    pub fn on_write_reply(&mut self, id: u64, now: Nanos, failed: bool) {
        let Some(received) = self.issued.remove(&id) else {
            return;
        };
        let elapsed = now.saturating_sub(received);
        // Past --request-timeout the client already got a 504.
        let latency_ns = elapsed.min(REQUEST_TIMEOUT_NS);
        self.writes += 1;
        self.writes_failed += u64::from(failed || elapsed >= REQUEST_TIMEOUT_NS);
        self.record(received, latency_ns, true);
    }

    fn record(&mut self, arrived_ns: Nanos, latency_ns: Nanos, write: bool) {
        let us = (latency_ns / 1000).max(1);
        let bin = self
            .bins
            .entry(arrived_ns / BIN_NS)
            .or_insert_with(Latencies::new);
        for l in [&mut self.run, bin] {
            l.all_us.saturating_record(us);
            if write {
                l.writes_us.saturating_record(us);
            }
        }
    }

    /// The run ended at `end_ns`: writes still waiting there for 60 s or more had their 504;
    /// younger ones are left out (their outcome is unknown).
    pub fn finish(&mut self, end_ns: Nanos) {
        let timed_out: Vec<u64> = (self.issued.iter())
            .filter(|(_, &t)| end_ns.saturating_sub(t) >= REQUEST_TIMEOUT_NS)
            .map(|(&id, _)| id)
            .collect();
        for id in timed_out {
            self.on_write_reply(id, end_ns, true);
        }
    }

    /// The summary's figures and the chart's 5-minute bins.
    pub fn figures(&self) -> (ApiserverRequests, Vec<ApiLatencyBin>) {
        let requests = ApiserverRequests {
            gets: self.gets,
            lists: self.lists,
            writes: self.writes,
            writes_failed: self.writes_failed,
            latency_ms: latency_ms(&self.run.all_us),
            write_latency_ms: latency_ms(&self.run.writes_us),
        };
        let bins = (self.bins.iter())
            .map(|(&bin, l)| ApiLatencyBin {
                start_ns: bin * BIN_NS,
                requests: l.all_us.len(),
                writes: l.writes_us.len(),
                latency_ms: latency_ms(&l.all_us),
                write_latency_ms: latency_ms(&l.writes_us),
            })
            .collect();
        (requests, bins)
    }
}

fn latency_ms(h: &Histogram<u64>) -> LatencyMs {
    let q = |q: f64| (!h.is_empty()).then(|| h.value_at_quantile(q) as f64 / 1000.0);
    LatencyMs {
        p50: q(0.5),
        p99: q(0.99),
        max: (!h.is_empty()).then(|| h.max() as f64 / 1000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcdlab_sim::{stream, Dist};

    const MS: Nanos = 1_000_000;
    const S: Nanos = 1_000 * MS;

    fn meter(gets_per_s: f64, lists_per_s: f64) -> ApiMeter {
        let spec = ApiRequestsSpec {
            gets_per_s,
            lists_per_s,
            cache_get_latency_ms: Dist::constant(2.0),
            cache_list_latency_ms: Dist::constant(30.0),
        };
        ApiMeter::new(spec, stream(1, "kube-api-reads"))
    }

    #[test]
    fn a_write_takes_what_etcd_took_capped_at_the_request_timeout() {
        let mut m = meter(0.0, 0.0);
        assert_eq!(m.next_read_at(0), None, "no reads");
        m.on_write(1, 10 * S);
        m.on_write(2, 10 * S);
        m.on_write(3, 10 * S);
        m.on_write_reply(1, 10 * S + 7 * MS, false);
        // etcd answered after 70 s: the client had its 504 at 60 s.
        m.on_write_reply(2, 80 * S, false);
        m.on_write_reply(99, 80 * S, false); // not a write the apiserver received: ignored
                                             // Still waiting at the end: 3 for 290 s (a 504 at 60 s), 4 for 10 s (unknown).
        m.on_write(4, 290 * S);
        m.finish(300 * S);
        let (f, bins) = m.figures();
        assert_eq!((f.writes, f.writes_failed), (2 + 1, 2));
        // 7 ms, 60 s, 60 s (within the histogram's 3 significant digits).
        let rounded = |x: Option<f64>| x.map(|x| (x / 100.0).round() * 100.0);
        assert_eq!(rounded(f.write_latency_ms.p50), Some(60_000.0));
        assert_eq!(rounded(f.write_latency_ms.max), Some(60_000.0));
        assert_eq!(f.latency_ms.max, f.write_latency_ms.max);
        let h = &m.run.writes_us;
        assert_eq!(h.min(), 7_000);
        // Binned by arrival: all three came at 10 s.
        assert_eq!(bins.len(), 1);
        assert_eq!(
            (bins[0].start_ns, bins[0].requests, bins[0].writes),
            (0, 3, 3)
        );
    }

    #[test]
    fn reads_split_by_rate_and_take_the_cache_time() {
        let mut m = meter(90.0, 10.0);
        let mut t = 0;
        while let Some(next) = m.next_read_at(t) {
            if next > 100 * S {
                break;
            }
            m.on_read(next);
            t = next;
        }
        let (f, _) = m.figures();
        let reads = f.gets + f.lists;
        assert!((9_000..11_000).contains(&reads), "{reads}");
        // A tenth are LISTs.
        assert!(
            (f.lists as f64 / reads as f64 - 0.1).abs() < 0.02,
            "{}",
            f.lists
        );
        assert_eq!(f.latency_ms.p50.map(|x| x.round()), Some(2.0));
        assert_eq!(f.latency_ms.max.map(|x| x.round()), Some(30.0));
        assert_eq!(f.writes, 0);
        assert_eq!(f.write_latency_ms.p99, None);
    }
}
