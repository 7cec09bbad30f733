//! Named random streams. Each component (network, each disk, workload, faults, each member's
//! raft) gets its own ChaCha stream derived from the run seed and the component's name, so an
//! extra draw in one component never shifts another's sequence.

pub use rand_chacha::ChaCha8Rng as Rng;
use rand_core::{Rng as _, SeedableRng};

/// The stream for `name` under `seed`. Stable across platforms and releases of this crate.
pub fn stream(seed: u64, name: &str) -> Rng {
    let mut rng = Rng::seed_from_u64(seed);
    rng.set_stream(fnv1a64(name.as_bytes()));
    rng
}

/// A uniform float in [0, 1) with 53 bits of precision.
pub fn unit_f64(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform integer in [0, n) by rejection (no modulo bias). `n` must be > 0.
pub fn below(rng: &mut Rng, n: u64) -> u64 {
    assert!(n > 0, "below(0)");
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let v = rng.next_u64();
        if v < zone {
            return v % n;
        }
    }
}

/// True with probability `p`.
pub fn chance(rng: &mut Rng, p: f64) -> bool {
    p > 0.0 && unit_f64(rng) < p
}

pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let mut a1 = stream(7, "net");
        let mut a2 = stream(7, "net");
        let mut b = stream(7, "disk/m1");
        let xs: Vec<u64> = (0..4).map(|_| a1.next_u64()).collect();
        let ys: Vec<u64> = (0..4).map(|_| a2.next_u64()).collect();
        let zs: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        assert_ne!(stream(8, "net").next_u64(), xs[0]);
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = stream(1, "t");
        for n in 1..50 {
            assert!(below(&mut r, n) < n);
        }
    }
}
