//! etcd's backend quota (`etcdserver/quota.go`).
//!
//! Only Put, Txn and LeaseGrant cost anything. The check reads the backend's `Size()` (the
//! high-water mark as of the last commit), not the in-use size.

/// etcd `DefaultQuotaBytes`: 2 GiB.
pub const DEFAULT_QUOTA_BYTES: i64 = 2 * 1024 * 1024 * 1024;
/// etcd `MaxQuotaBytes`: 8 GiB (a warning only).
pub const MAX_QUOTA_BYTES: i64 = 8 * 1024 * 1024 * 1024;
/// Per-key overhead charged to a put (`kvOverhead`).
pub const KV_OVERHEAD: u64 = 256;
/// Cost of a lease grant (`leaseOverhead`).
pub const LEASE_OVERHEAD: u64 = 64;

/// A request, as far as its quota cost goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuotaRequest {
    Put {
        key_len: usize,
        value_len: usize,
    },
    /// Only puts and nested txns count inside a txn; other ops cost 0.
    Txn {
        success: Vec<QuotaRequest>,
        failure: Vec<QuotaRequest>,
    },
    LeaseGrant,
    /// Range, DeleteRange, Compaction, LeaseRevoke, Alarm, ...
    Free,
}

impl QuotaRequest {
    /// etcd's cost: Put 256 + len(key) + len(value); Txn max(Σ success, Σ failure);
    /// LeaseGrant 64; anything else 0.
    pub fn cost(&self) -> u64 {
        match self {
            QuotaRequest::Put { key_len, value_len } => {
                KV_OVERHEAD + *key_len as u64 + *value_len as u64
            }
            QuotaRequest::Txn { success, failure } => {
                let sum = |ops: &[QuotaRequest]| {
                    ops.iter()
                        .map(|op| match op {
                            QuotaRequest::Put { .. } | QuotaRequest::Txn { .. } => op.cost(),
                            _ => 0,
                        })
                        .sum::<u64>()
                };
                sum(success).max(sum(failure))
            }
            QuotaRequest::LeaseGrant => LEASE_OVERHEAD,
            QuotaRequest::Free => 0,
        }
    }
}

/// The backend quota of one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// None: disabled (a negative `--quota-backend-bytes`).
    limit: Option<u64>,
}

impl Quota {
    /// From `--quota-backend-bytes`: 0 means the 2 GiB default, negative disables the check.
    pub fn new(quota_backend_bytes: i64) -> Self {
        let limit = match quota_backend_bytes {
            0 => Some(DEFAULT_QUOTA_BYTES as u64),
            q if q < 0 => None,
            q => Some(q as u64),
        };
        Quota { limit }
    }

    /// The quota in bytes (what `etcd_server_quota_backend_bytes` reports), None if disabled.
    pub fn bytes(&self) -> Option<u64> {
        self.limit
    }

    /// True if a quota above 8 GiB was set (etcd only warns).
    pub fn exceeds_max(&self) -> bool {
        self.limit.is_some_and(|l| l > MAX_QUOTA_BYTES as u64)
    }

    /// etcd `Available`: `cost == 0 || size + cost < quota`, with `size` the backend `Size()`.
    pub fn available(&self, size_bytes: u64, req: &QuotaRequest) -> bool {
        let cost = req.cost();
        match self.limit {
            None => true,
            Some(q) => cost == 0 || size_bytes + cost < q,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_disable() {
        assert_eq!(Quota::new(0).bytes(), Some(2 << 30));
        assert_eq!(Quota::new(-1).bytes(), None);
        assert!(Quota::new(-1).available(u64::MAX / 2, &QuotaRequest::LeaseGrant));
        assert!(Quota::new(9 << 30).exceeds_max());
    }
}
