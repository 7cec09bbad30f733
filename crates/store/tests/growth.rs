//! Backend growth against etcd-ground-truth.md experiment A, from the page model alone.
//!
//! No per-size constants exist: nothing in `crates/store/src/backend.rs` or `mvcc.rs` depends
//! on the value size. The 8 KiB / 1 KiB / 256 B ratios below emerge from bbolt's layout rules
//! only (4096-byte pages, 16-byte page and element headers, overflow pages, splits at fill
//! 0.5 or 0.9 keeping at least 2 elements, copy-on-write with an array freelist whose freed
//! pages stay pending for one commit) and the protobuf size of each stored `KeyValue`. The
//! writer's rate (puts per 100 ms commit) is the one input besides the value size.

use etcdlab_store::quota::{Quota, QuotaRequest};
use etcdlab_store::{Store, Value};

/// The writer's rate assumed throughout: one put every 2 ms, so 50 puts per 100 ms backend
/// commit (a sequential client through the grpc-gateway on loopback, as in A_fill.py).
const PUTS_PER_COMMIT: usize = 50;

/// Puts cycling over 10 two-byte keys ("k0".."k9") with `value_len`-byte values, committing
/// every `puts_per_commit` puts (the 100 ms batch interval at the writer's rate). Returns the
/// (puts, db size / key+value bytes written, in-use / bytes) at every `checkpoint` puts.
fn fill(
    value_len: u32,
    puts: usize,
    puts_per_commit: usize,
    checkpoint: usize,
) -> Vec<(usize, f64, f64)> {
    let mut s = Store::new();
    let mut written = 0u64;
    let mut out = Vec::new();
    for i in 0..puts {
        let key = format!("k{}", i % 10);
        s.put(key.as_bytes(), Value::new(value_len, i as u64), 0);
        written += key.len() as u64 + value_len as u64;
        if (i + 1) % puts_per_commit == 0 {
            s.backend_mut().commit();
        }
        if (i + 1) % checkpoint == 0 {
            s.backend_mut().commit();
            let b = s.backend();
            out.push((
                i + 1,
                b.size_bytes() as f64 / written as f64,
                b.size_in_use_bytes() as f64 / written as f64,
            ));
        }
    }
    out
}

#[test]
fn growth_ratio_8k_values() {
    let pts = fill(8192, 1600, PUTS_PER_COMMIT, 50);
    for p in &pts {
        eprintln!("8k {p:?}");
    }
    // from 200 puts on (the first checkpoints are dominated by the fixed initial pages)
    for &(n, r, _) in pts.iter().filter(|p| p.0 >= 200) {
        assert!((1.17..=1.39).contains(&r), "ratio {r} at {n} puts");
    }
    // ground truth at the end: 1.26-1.29 (in-use 1.24-1.26); the model gives 1.2916 (1.2569)
    let (_, end, in_use) = *pts.last().unwrap();
    assert!((1.25..=1.30).contains(&end), "end ratio {end}");
    assert!((1.23..=1.27).contains(&in_use), "in-use ratio {in_use}");
}

#[test]
fn growth_ratio_1k_values() {
    let pts = fill(1024, 12_000, PUTS_PER_COMMIT, 1000);
    let (_, end, _) = *pts.last().unwrap();
    eprintln!("1k {pts:?}");
    // ground truth 1.354; the model gives 1.372 at 50 puts per commit (1.354 at 100)
    assert!((1.33..=1.38).contains(&end), "end ratio {end}");
}

#[test]
fn growth_ratio_256b_values() {
    let pts = fill(256, 48_000, PUTS_PER_COMMIT, 4000);
    let (_, end, _) = *pts.last().unwrap();
    eprintln!("256 {pts:?}");
    // ground truth 1.34; the model gives 1.338
    assert!((1.32..=1.36).contains(&end), "end ratio {end}");
}

/// Experiment A's fill: quota 16 MiB, 8 KiB values, one put per 2 ms; the quota check reads the
/// size of the last commit. Ground truth: first refusal at put #1600 with db 16,961,536.
fn first_refusal(puts_per_commit: usize) -> (usize, u64) {
    let quota = Quota::new(16_777_216);
    let mut s = Store::new();
    let mut refused_at = None;
    for i in 1..=4000usize {
        let key = format!("k{}", (i - 1) % 10);
        let req = QuotaRequest::Put {
            key_len: key.len(),
            value_len: 8192,
        };
        if !quota.available(s.backend().size_bytes(), &req) {
            refused_at = Some(i);
            break;
        }
        s.put(key.as_bytes(), Value::new(8192, i as u64), 0);
        if i % puts_per_commit == 0 {
            s.backend_mut().commit();
        }
    }
    let at = refused_at.expect("quota must refuse a put");
    (at, s.backend().size_bytes())
}

#[test]
fn nospace_fill_refuses_near_put_1600() {
    // Faster writers overshoot more, slower ones churn more pages per put (more commits):
    // 10 puts/commit -> #1411, 25 -> #1576, 50 -> #1601, 100 -> #1701.
    let (at, size) = first_refusal(PUTS_PER_COMMIT);
    assert!((1550..=1650).contains(&at), "first refusal at put #{at}");
    // overshoot is small (ground truth: +1.1% .. +1.3%)
    assert!(size < 16_777_216 * 103 / 100);
}
