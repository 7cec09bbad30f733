//! The trace hash: every processed event is folded into one 64-bit value, so two runs that
//! diverge anywhere (even without changing the summary) have different hashes.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceHash(u64);

impl Default for TraceHash {
    fn default() -> Self {
        TraceHash(0x9e37_79b9_7f4a_7c15)
    }
}

impl TraceHash {
    /// Fold one word. A splitmix64 finaliser over (state, word): cheap, well mixed, stable.
    #[inline]
    pub fn fold(&mut self, word: u64) {
        let mut z = self.0 ^ word.wrapping_add(0x9e37_79b9_7f4a_7c15).rotate_left(17);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        self.0 = z ^ (z >> 31);
    }

    pub fn value(&self) -> u64 {
        self.0
    }

    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_matters() {
        let (mut a, mut b) = (TraceHash::default(), TraceHash::default());
        a.fold(1);
        a.fold(2);
        b.fold(2);
        b.fold(1);
        assert_ne!(a, b);
    }
}
