//! etcd's quota cost and availability check.

use etcdlab_store::quota::{Quota, QuotaRequest, DEFAULT_QUOTA_BYTES};

fn put(k: usize, v: usize) -> QuotaRequest {
    QuotaRequest::Put {
        key_len: k,
        value_len: v,
    }
}

#[test]
fn costs() {
    assert_eq!(put(2, 8192).cost(), 256 + 2 + 8192);
    assert_eq!(QuotaRequest::LeaseGrant.cost(), 64);
    assert_eq!(QuotaRequest::Free.cost(), 0);
    let txn = QuotaRequest::Txn {
        success: vec![put(1, 10), put(1, 10), QuotaRequest::Free],
        failure: vec![
            put(1, 100),
            QuotaRequest::Txn {
                success: vec![put(1, 1)],
                failure: vec![],
            },
        ],
    };
    assert_eq!(txn.cost(), (256 + 101) + (256 + 2)); // the failure branch is dearer
    let reads = QuotaRequest::Txn {
        success: vec![QuotaRequest::Free],
        failure: vec![],
    };
    assert_eq!(reads.cost(), 0);
}

#[test]
fn available_uses_size_strictly_below_quota() {
    let q = Quota::new(16_777_216);
    let p = put(2, 8192);
    let cost = p.cost();
    assert!(q.available(16_777_216 - cost - 1, &p));
    assert!(
        !q.available(16_777_216 - cost, &p),
        "size + cost must be < quota"
    );
    // zero-cost requests always pass, even over quota
    assert!(q.available(20_000_000, &QuotaRequest::Free));
    assert_eq!(Quota::new(0).bytes(), Some(DEFAULT_QUOTA_BYTES as u64));
    assert!(Quota::new(-5).available(u64::MAX / 2, &p));
}
