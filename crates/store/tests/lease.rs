//! Lessor scripts: grant / attach / revoke, minimum TTL, expiry on the primary only.

use etcdlab_store::lease::{EXPIRED_LEASE_RETRY_NS, LEASE_REVOKE_RATE, MAX_LEASE_TTL_S};
use etcdlab_store::{min_ttl_s, LeaseError, Lessor, Op, RangeOptions, Revision, Store, Value};

const S: u64 = 1_000_000_000;
const MIN_TTL_S: i64 = 2;

/// A put as the apply loop does it: check the lease, write, attach.
fn put(store: &mut Store, lessor: &mut Lessor, key: &str, lease: i64) -> Result<i64, LeaseError> {
    if lease != 0 && lessor.lookup(lease).is_none() {
        return Err(LeaseError::NotFound);
    }
    let r = store.put(key.as_bytes(), Value::new(10, 1), lease);
    lessor.attach(lease, key.as_bytes())?;
    Ok(r.rev.main)
}

fn keys(lessor: &Lessor, id: i64) -> Vec<String> {
    lessor
        .keys(id)
        .into_iter()
        .map(|k| String::from_utf8(k).unwrap())
        .collect()
}

fn live(store: &Store, key: &str) -> bool {
    store
        .range(key.as_bytes(), b"", &RangeOptions::default())
        .unwrap()
        .count
        == 1
}

#[test]
fn min_ttl_is_one_and_a_half_election_timeouts_rounded_up() {
    assert_eq!(min_ttl_s(1000, 100), 2); // 15 ticks x 100 ms = 1.5 s -> 2 s
    assert_eq!(min_ttl_s(5000, 500), 8); // 15 x 500 ms = 7.5 s -> 8 s
    assert_eq!(min_ttl_s(1000, 300), 2); // 3 ticks -> 4 x 300 ms = 1.2 s -> 2 s
    assert_eq!(min_ttl_s(2000, 100), 3);
}

#[test]
fn grant_raises_ttl_and_rejects_duplicates_and_huge_ttls() {
    let mut l = Lessor::new();
    assert_eq!(l.grant(1, 1, MIN_TTL_S, 0).unwrap().ttl_s, 2);
    assert_eq!(l.grant(2, 60, MIN_TTL_S, 0).unwrap().ttl_s, 60);
    let dup = l.grant(1, 60, MIN_TTL_S, 0).unwrap_err();
    assert_eq!(dup, LeaseError::Exists);
    assert_eq!(dup.to_string(), "etcdserver: lease already exists");
    assert_eq!(
        l.lookup(1).unwrap().ttl_s,
        2,
        "the duplicate changed nothing"
    );
    let huge = l.grant(3, MAX_LEASE_TTL_S + 1, MIN_TTL_S, 0).unwrap_err();
    assert_eq!(huge.to_string(), "etcdserver: too large lease TTL");
    assert!(l.grant(3, MAX_LEASE_TTL_S, MIN_TTL_S, 0).is_ok());
    assert_eq!(l.grant(0, 10, MIN_TTL_S, 0), Err(LeaseError::NotFound));
    assert_eq!(l.ids().collect::<Vec<_>>(), vec![1, 2, 3]);
}

#[test]
fn puts_attach_move_and_detach_keys() {
    let mut s = Store::new();
    let mut l = Lessor::new();
    l.grant(1, 10, MIN_TTL_S, 0).unwrap();
    l.grant(2, 10, MIN_TTL_S, 0).unwrap();
    put(&mut s, &mut l, "c", 1).unwrap();
    put(&mut s, &mut l, "a", 1).unwrap();
    put(&mut s, &mut l, "b", 1).unwrap();
    assert_eq!(keys(&l, 1), ["a", "b", "c"], "sorted");
    // a put with another lease moves the key
    put(&mut s, &mut l, "b", 2).unwrap();
    assert_eq!(
        (keys(&l, 1), keys(&l, 2)),
        (vec!["a".into(), "c".into()], vec!["b".into()])
    );
    // a put without a lease detaches it
    put(&mut s, &mut l, "a", 0).unwrap();
    assert_eq!(keys(&l, 1), ["c"]);
    assert_eq!(l.lease_of(b"a"), 0);
    // a delete detaches
    s.delete_range(b"c", b"");
    assert_eq!(l.detach(b"c"), 1);
    assert!(keys(&l, 1).is_empty());
    assert_eq!(l.detach(b"c"), 0, "already detached");
    // a put with an unknown lease fails and leaves the key where it was
    let rev = s.current_rev();
    assert_eq!(put(&mut s, &mut l, "b", 9), Err(LeaseError::NotFound));
    assert_eq!(l.attach(9, b"b"), Err(LeaseError::NotFound));
    assert_eq!(s.current_rev(), rev);
    assert_eq!(l.lease_of(b"b"), 2);
}

#[test]
fn revoke_deletes_the_attached_keys_at_one_revision() {
    let mut s = Store::new();
    let mut l = Lessor::new();
    l.grant(7, 10, MIN_TTL_S, 0).unwrap();
    put(&mut s, &mut l, "k/b", 7).unwrap();
    put(&mut s, &mut l, "k/a", 7).unwrap();
    put(&mut s, &mut l, "other", 0).unwrap();
    let before = s.current_rev();

    let doomed = l.revoke(7).unwrap();
    assert_eq!(doomed, vec![b"k/a".to_vec(), b"k/b".to_vec()]);
    let d = s.delete_keys(&doomed);
    assert_eq!(
        (d.deleted, d.rev),
        (2, before + 1),
        "one revision for all keys"
    );
    assert_eq!(
        s.key_index(b"k/a").unwrap().modified,
        Revision {
            main: before + 1,
            sub: 0
        }
    );
    assert_eq!(
        s.key_index(b"k/b").unwrap().modified,
        Revision {
            main: before + 1,
            sub: 1
        }
    );
    assert!(!live(&s, "k/a") && !live(&s, "k/b") && live(&s, "other"));
    assert_eq!(l.lease_of(b"k/a"), 0);

    let again = l.revoke(7).unwrap_err();
    assert_eq!(again.to_string(), "etcdserver: requested lease not found");
    assert_eq!(l.revoke(8), Err(LeaseError::NotFound));

    // a lease without keys: the revoke does not move the revision
    l.grant(8, 10, MIN_TTL_S, 0).unwrap();
    let d = s.delete_keys(&l.revoke(8).unwrap());
    assert_eq!((d.deleted, d.rev), (0, before + 1));
}

#[test]
fn delete_keys_writes_what_a_txn_of_deletes_writes() {
    let mut a = Store::new();
    for k in ["x", "y", "z"] {
        a.put(k.as_bytes(), Value::new(5, 2), 3);
    }
    let mut b = a.clone();
    let keys = vec![b"x".to_vec(), b"gone".to_vec(), b"z".to_vec()];
    let d = a.delete_keys(&keys);
    let ops: Vec<Op> = keys
        .iter()
        .map(|k| Op::DeleteRange {
            key: k.clone(),
            range_end: Vec::new(),
        })
        .collect();
    let t = b.txn(&[], &ops, &[]);
    assert_eq!((d.deleted, d.rev), (2, t.rev));
    assert_eq!(a.hash_kv(0).unwrap(), b.hash_kv(0).unwrap());
    assert_eq!(d.prev_kvs.len(), 2);
}

#[test]
fn leases_expire_only_on_the_primary() {
    let mut l = Lessor::new();
    let g = l.grant(1, 5, MIN_TTL_S, 0).unwrap();
    assert_eq!(g.expiry_ns, None, "a follower's lease never expires");
    assert!(l.expired(1_000 * S, 100).is_empty());
    assert_eq!(l.renew(1, 0), Err(LeaseError::NotPrimary));

    // elected at t = 100 s; etcd extends by the election timeout (1 s here)
    l.promote(100 * S, S);
    assert!(l.is_primary());
    assert_eq!(l.lookup(1).unwrap().expiry_ns, Some(106 * S));
    // granted on the primary: now + ttl
    let g = l.grant(2, 3, MIN_TTL_S, 101 * S).unwrap();
    assert_eq!(g.expiry_ns, Some(104 * S));

    assert!(l.expired(104 * S - 1, 100).is_empty());
    assert_eq!(l.expired(104 * S, 100), vec![2]);
    // handed out once, again only after the retry interval if still not revoked
    assert!(l.expired(105 * S, 100).is_empty());
    assert_eq!(l.expired(104 * S + EXPIRED_LEASE_RETRY_NS, 100), vec![1, 2]);

    // keepalive: renews an unexpired lease, refuses an expired one
    l.grant(3, 10, MIN_TTL_S, 110 * S).unwrap();
    assert_eq!(l.renew(3, 115 * S), Ok(10));
    assert_eq!(l.lookup(3).unwrap().expiry_ns, Some(125 * S));
    assert!(l.expired(124 * S, 100).iter().all(|&id| id != 3));
    assert_eq!(l.renew(2, 115 * S), Err(LeaseError::Expired));
    assert_eq!(
        LeaseError::Expired.to_string(),
        "etcdserver: requested lease not found"
    );
    assert_eq!(l.renew(42, 115 * S), Err(LeaseError::NotFound));

    // losing leadership: nothing expires any more
    l.demote();
    assert!(!l.is_primary());
    assert!(l.ids().all(|id| l.lookup(id).unwrap().expiry_ns.is_none()));
    assert!(l.expired(10_000 * S, 100).is_empty());
}

#[test]
fn expired_leases_come_out_earliest_first_then_by_id_within_the_limit() {
    let mut l = Lessor::new();
    l.promote(0, 0);
    for (id, ttl_s) in [(5, 10), (4, 10), (9, 3), (1, 20)] {
        l.grant(id, ttl_s, MIN_TTL_S, 0).unwrap();
    }
    assert_eq!(l.expired(15 * S, 2), vec![9, 4]);
    assert_eq!(l.expired(15 * S, 10), vec![5]);
    // handed-out leases come back due 3 s later, then by id
    assert_eq!(l.expired(30 * S, 10), vec![4, 5, 9, 1]);
    l.revoke(4).unwrap();
    assert_eq!(l.expired(40 * S, 10), vec![1, 5, 9]);
}

#[test]
fn promote_uses_a_checkpointed_remaining_ttl() {
    let mut l = Lessor::new();
    l.grant(1, 600, MIN_TTL_S, 0).unwrap();
    l.grant(2, 600, MIN_TTL_S, 0).unwrap();
    l.checkpoint(1, 30);
    l.checkpoint(99, 30); // unknown: ignored
    l.promote(50 * S, S);
    assert_eq!(l.lookup(1).unwrap().expiry_ns, Some(81 * S));
    assert_eq!(l.lookup(2).unwrap().expiry_ns, Some(651 * S));
}

#[test]
fn promote_spreads_a_pile_of_expiries() {
    let mut l = Lessor::new();
    let n = 2 * LEASE_REVOKE_RATE as i64;
    for id in 1..=n {
        l.grant(id, 10, MIN_TTL_S, 0).unwrap();
    }
    l.promote(0, S);
    let base = 11 * S;
    let mut per_second = [0usize; 4];
    for id in 1..=n {
        let e = l.lookup(id).unwrap().expiry_ns.unwrap();
        assert!(e >= base, "lease {id} expires before now + extend + ttl");
        per_second[((e - base) / S) as usize] += 1;
    }
    assert_eq!(per_second.iter().sum::<usize>(), n as usize);
    assert!(
        per_second.iter().all(|&c| c <= 3 * LEASE_REVOKE_RATE / 4),
        "{per_second:?}"
    );
    // fewer leases than the rate: no spreading
    let mut small = Lessor::new();
    for id in 1..=10 {
        small.grant(id, 10, MIN_TTL_S, 0).unwrap();
    }
    small.promote(0, S);
    assert!(small
        .ids()
        .all(|id| small.lookup(id).unwrap().expiry_ns == Some(base)));
}
