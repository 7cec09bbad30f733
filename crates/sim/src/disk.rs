//! One member's disk as etcd's WAL sees it: a write into the page cache, then an fdatasync
//! served by the device one at a time (a FIFO queue), at finite bandwidth, with scheduled
//! stalls (the device completes nothing) and slow-downs (latencies multiplied).
//!
//! A disk may sit on a storage array ([`crate::array::Array`]) whose IOPS it shares with
//! neighbour VMs: then its fsync queues at the array too, and the `fsync_latency_ms`
//! distribution is the round trip to the array on top of that queueing.

use crate::array::Array;
use crate::dist::Dist;
use crate::rng::Rng;
use crate::{ms_to_ns, Nanos, NANOS_PER_S};

#[derive(Clone, Debug)]
pub struct DiskParams {
    pub write_latency_ms: Dist,
    pub fsync_latency_ms: Dist,
    pub write_bandwidth_bytes_per_s: f64,
}

/// When a WAL save finishes and what its fsync took (as etcd's histogram measures it: from
/// the call to its return, queueing included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaveTiming {
    pub done_at: Nanos,
    /// None when the save did not fsync (etcd's MustSync was false).
    pub fsync_ns: Option<Nanos>,
}

#[derive(Clone, Copy, Debug)]
struct Window {
    start: Nanos,
    end: Nanos,
    factor: f64,
}

pub struct Disk {
    params: DiskParams,
    rng: Rng,
    /// The device serves one fsync at a time: the next starts no earlier than this.
    busy_until: Nanos,
    stalls: Vec<Window>,
    slowdowns: Vec<Window>,
    /// Index of the storage array this volume lives on, if any.
    array: Option<usize>,
}

impl Disk {
    pub fn new(params: DiskParams, rng: Rng) -> Disk {
        Disk {
            params,
            rng,
            busy_until: 0,
            stalls: Vec::new(),
            slowdowns: Vec::new(),
            array: None,
        }
    }

    /// Put this volume on storage array `index` (of the slice passed to [`Disk::save`]).
    pub fn on_array(mut self, index: usize) -> Disk {
        self.array = Some(index);
        self
    }

    /// Schedule a stall: the device completes nothing in [start, start + duration).
    pub fn stall(&mut self, start: Nanos, duration: Nanos) {
        self.stalls.push(Window {
            start,
            end: start + duration,
            factor: 1.0,
        });
        self.stalls.sort_by_key(|w| (w.start, w.end));
    }

    /// Multiply latencies of operations starting in [start, start + duration) by `factor`.
    pub fn slow_down(&mut self, start: Nanos, duration: Nanos, factor: f64) {
        self.slowdowns.push(Window {
            start,
            end: start + duration,
            factor,
        });
    }

    /// A WAL save issued at `now`: write `bytes`, then fsync them if `sync`. `arrays` are the
    /// world's storage arrays (empty when no disk uses one).
    pub fn save(&mut self, now: Nanos, bytes: u64, sync: bool, arrays: &mut [Array]) -> SaveTiming {
        let factor = self.slow_factor(now);
        let write_ns = ms_to_ns(self.params.write_latency_ms.sample(&mut self.rng) * factor);
        let written_at = now.saturating_add(write_ns);
        if !sync {
            return SaveTiming {
                done_at: written_at,
                fsync_ns: None,
            };
        }
        let start = written_at.max(self.busy_until);
        let mut service_ns = self.service_ns(bytes, factor);
        if let Some(a) = self.array {
            // Queue at the array (neighbours' backlog, then our own I/Os), plus the round trip.
            service_ns = service_ns.saturating_add(arrays[a].fsync(start, bytes) - start);
        }
        let done_at = self.skip_stalls(start, service_ns);
        self.busy_until = done_at;
        SaveTiming {
            done_at,
            fsync_ns: Some(done_at - written_at),
        }
    }

    /// A long background write (a defrag writing its new file through the page cache, synced
    /// once at the end), started at `now`: how long it takes. It does not hold the fsync queue:
    /// WAL fsyncs meanwhile are served as usual.
    pub fn background_write_ns(&mut self, now: Nanos, bytes: u64) -> Nanos {
        let factor = self.slow_factor(now);
        self.service_ns(bytes, factor)
    }

    /// An fsync by another writer of the same process (bbolt's commit of the backend file),
    /// issued at `now`: how long it takes. The device serves it alongside the WAL's (its own
    /// queue slot, stalls and slow-downs apply, the array's wait too) without holding the WAL's
    /// fsync queue: different files, several I/Os in flight.
    pub fn concurrent_fsync_ns(&mut self, now: Nanos, bytes: u64, arrays: &mut [Array]) -> Nanos {
        let factor = self.slow_factor(now);
        let mut service_ns = self.service_ns(bytes, factor);
        if let Some(a) = self.array {
            service_ns = service_ns.saturating_add(arrays[a].fsync(now, bytes) - now);
        }
        self.skip_stalls(now, service_ns) - now
    }

    /// Device time for one fsync of `bytes`: latency plus transfer at the disk's bandwidth.
    fn service_ns(&mut self, bytes: u64, factor: f64) -> Nanos {
        let latency_ns = ms_to_ns(self.params.fsync_latency_ms.sample(&mut self.rng) * factor);
        let transfer_ns =
            (bytes as f64 * NANOS_PER_S as f64 / self.params.write_bandwidth_bytes_per_s) * factor;
        latency_ns.saturating_add(transfer_ns.round() as Nanos)
    }

    /// The device makes no progress during stalls: stretch `service_ns` over them.
    fn skip_stalls(&self, start: Nanos, service_ns: Nanos) -> Nanos {
        let (mut t, mut remaining) = (start, service_ns);
        // (Arithmetic saturates: a save that never ends within the run is just "never".)
        for w in &self.stalls {
            if w.end <= t {
                continue;
            }
            if w.start >= t.saturating_add(remaining) {
                break;
            }
            remaining -= w.start.saturating_sub(t);
            t = w.end;
        }
        t.saturating_add(remaining)
    }

    fn slow_factor(&self, now: Nanos) -> f64 {
        self.slowdowns
            .iter()
            .filter(|w| w.start <= now && now < w.end)
            .map(|w| w.factor)
            .fold(1.0, f64::max)
    }

    /// A crash: queued device work is gone with the process (the next save starts fresh).
    pub fn reset_queue(&mut self, now: Nanos) {
        self.busy_until = self.busy_until.min(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn disk(fsync_ms: f64) -> Disk {
        Disk::new(
            DiskParams {
                write_latency_ms: Dist::constant(0.0),
                fsync_latency_ms: Dist::constant(fsync_ms),
                write_bandwidth_bytes_per_s: 1e9,
            },
            stream(1, "disk"),
        )
    }

    #[test]
    fn fsyncs_queue_one_at_a_time() {
        let mut d = disk(2.0);
        let a = d.save(0, 0, true, &mut []);
        let b = d.save(0, 0, true, &mut []);
        assert_eq!(a.done_at, 2_000_000);
        assert_eq!(b.done_at, 4_000_000);
        assert_eq!(
            b.fsync_ns,
            Some(4_000_000),
            "queueing counts in the fsync duration"
        );
    }

    #[test]
    fn bandwidth_makes_large_writes_slower() {
        let mut d = disk(1.0);
        let t = d.save(0, 1_000_000, true, &mut []); // 1 MB at 1 GB/s = 1 ms
        assert_eq!(t.done_at, 2_000_000);
    }

    #[test]
    fn stall_freezes_the_device() {
        let mut d = disk(1.0);
        d.stall(500_000, 3_000_000_000);
        let t = d.save(0, 0, true, &mut []);
        // 0.5 ms before the stall, 0.5 ms after it.
        assert_eq!(t.done_at, 3_000_000_000 + 500_000 + 500_000);
        let later = d.save(4_000_000_000, 0, true, &mut []);
        assert_eq!(later.done_at, 4_001_000_000);
    }

    #[test]
    fn slow_down_multiplies_latency() {
        let mut d = disk(1.0);
        d.slow_down(0, 1_000_000_000, 10.0);
        assert_eq!(d.save(0, 0, true, &mut []).done_at, 10_000_000);
        assert_eq!(
            d.save(2_000_000_000, 0, true, &mut []).done_at,
            2_001_000_000
        );
    }

    #[test]
    fn unsynced_save_does_not_touch_the_device() {
        let mut d = disk(5.0);
        assert_eq!(
            d.save(0, 100, false, &mut []),
            SaveTiming {
                done_at: 0,
                fsync_ns: None
            }
        );
        assert_eq!(d.save(0, 0, true, &mut []).done_at, 5_000_000);
    }
}
