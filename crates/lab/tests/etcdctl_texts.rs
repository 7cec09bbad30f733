//! What the operator's etcdctl prints, on etcd 3.4.23 and 3.5.1, as measured on loopback
//! clusters (`scripts/fidelity/etcdctl_texts.py`, docs/fidelity.md): the retry interceptor's
//! warn line before an RPC's error (3.5 names its logger and another target), the errors of
//! compactions, an endpoint that does not answer `endpoint status`, `endpoint hashkv` and
//! `defrag`, a member without a leader, and a terminal no member answers.

mod common;
use common::{hidden, run_text, timeline};

const STEPS: &[(&str, &str)] = &[
    ("2s", "etcdctl defrag --cluster"),
    ("3s", "etcdctl endpoint status"),
    ("4s", "etcdctl endpoint status --cluster -w table"),
    ("5s", "etcdctl compact 1000"),
    ("6s", "etcdctl compact current"),
    ("7s", "etcdctl compact 1"),
    ("8s", "etcd stop m3"),
    ("9s", "etcdctl endpoint status -w table"),
    ("15s", "etcdctl endpoint hashkv --cluster"),
    ("21s", "etcdctl defrag --endpoints=m3"),
    ("22s", "etcd stop m2"),
    ("25s", "etcdctl endpoint status"),
    ("31s", "etcdctl alarm list"),
    ("37s", "etcdctl member list"),
    ("43s", "etcd stop m1"),
    ("44s", "etcdctl alarm list"),
];

/// The terminal of a quiet 3-member cluster of `version` under `seed`.
fn transcript(version: &str, seed: u64) -> String {
    let text = format!(
        "seed = {seed}\nduration = \"50s\"\n[cluster]\nsize = 3\netcd_version = \"{version}\"\n\
         [disk]\nprofile = \"ssd\"\n[workload]\nwrites_per_s = 0\n{}",
        timeline(STEPS.iter().copied())
    );
    common::transcript(&run_text(&text, "etcdctl-texts.toml", &[]))
}

const ETCD_3_4: &str = r##"[2 s, 2 ms] $ etcdctl defrag --cluster
Finished defragmenting etcd member[http://127.0.0.1:32379]
Finished defragmenting etcd member[http://127.0.0.1:22379]
Finished defragmenting etcd member[http://127.0.0.1:12379]
[3 s, 0 ms] $ etcdctl endpoint status
127.0.0.1:12379, ddd67b312462fd7b, 3.4.23, 20 kB, false, false, 1, 1, 1, 
127.0.0.1:22379, 9e737febb6b99eee, 3.4.23, 20 kB, false, false, 1, 1, 1, 
127.0.0.1:32379, 628170c800dbcee, 3.4.23, 20 kB, true, false, 1, 1, 1, 
[4 s, 0 ms] $ etcdctl endpoint status --cluster -w table
+------------------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
|        ENDPOINT        |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX | ERRORS |
+------------------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
| http://127.0.0.1:32379 |  628170c800dbcee |  3.4.23 |   20 kB |      true |      false |         1 |          1 |                  1 |        |
| http://127.0.0.1:22379 | 9e737febb6b99eee |  3.4.23 |   20 kB |     false |      false |         1 |          1 |                  1 |        |
| http://127.0.0.1:12379 | ddd67b312462fd7b |  3.4.23 |   20 kB |     false |      false |         1 |          1 |                  1 |        |
+------------------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
[5 s, 1 ms] $ etcdctl compact 1000
{"level":"warn","msg":"retrying of unary invoker failed","target":"endpoint://client-<uuid>/127.0.0.1:12379","attempt":0,"error":"rpc error: code = OutOfRange desc = etcdserver: mvcc: required revision is a future revision"}
Error: etcdserver: mvcc: required revision is a future revision
(exit 1)
[6 s, 1 ms] $ etcdctl compact current
compacted revision 1
[7 s, 1 ms] $ etcdctl compact 1
{"level":"warn","msg":"retrying of unary invoker failed","target":"endpoint://client-<uuid>/127.0.0.1:12379","attempt":0,"error":"rpc error: code = OutOfRange desc = etcdserver: mvcc: required revision has been compacted"}
Error: etcdserver: mvcc: required revision has been compacted
(exit 1)
[8 s, 0 ms] $ etcd stop m3
[9 s, 5000 ms] $ etcdctl endpoint status -w table
{"level":"warn","msg":"retrying of unary invoker failed","target":"passthrough:///127.0.0.1:32379","attempt":0,"error":"rpc error: code = DeadlineExceeded desc = latest balancer error: connection error: desc = \"transport: Error while dialing dial tcp 127.0.0.1:32379: connect: connection refused\""}
Failed to get the status of endpoint 127.0.0.1:32379 (context deadline exceeded)
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
|    ENDPOINT     |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX | ERRORS |
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
| 127.0.0.1:12379 | ddd67b312462fd7b |  3.4.23 |   20 kB |     false |      false |         1 |          4 |                  4 |        |
| 127.0.0.1:22379 | 9e737febb6b99eee |  3.4.23 |   20 kB |     false |      false |         1 |          4 |                  4 |        |
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
(exit 1)
[15 s, 5000 ms] $ etcdctl endpoint hashkv --cluster
{"level":"warn","msg":"retrying of unary invoker failed","target":"passthrough:///http://127.0.0.1:32379","attempt":0,"error":"rpc error: code = DeadlineExceeded desc = latest balancer error: connection error: desc = \"transport: Error while dialing dial tcp 127.0.0.1:32379: connect: connection refused\""}
Failed to get the hash of endpoint http://127.0.0.1:32379 (context deadline exceeded)
http://127.0.0.1:22379, 0
http://127.0.0.1:12379, 0
Error: context deadline exceeded
(exit 1)
[22 s, 0 ms] $ etcd stop m2
[21 s, 5000 ms] $ etcdctl defrag --endpoints=m3
{"level":"warn","msg":"retrying of unary invoker failed","target":"passthrough:///127.0.0.1:32379","attempt":0,"error":"rpc error: code = DeadlineExceeded desc = latest balancer error: connection error: desc = \"transport: Error while dialing dial tcp 127.0.0.1:32379: connect: connection refused\""}
Failed to defragment etcd member[127.0.0.1:32379] (context deadline exceeded)
(exit 1)
[25 s, 5000 ms] $ etcdctl endpoint status
{"level":"warn","msg":"retrying of unary invoker failed","target":"passthrough:///127.0.0.1:22379","attempt":0,"error":"rpc error: code = DeadlineExceeded desc = latest balancer error: connection error: desc = \"transport: Error while dialing dial tcp 127.0.0.1:22379: connect: connection refused\""}
Failed to get the status of endpoint 127.0.0.1:22379 (context deadline exceeded)
{"level":"warn","msg":"retrying of unary invoker failed","target":"passthrough:///127.0.0.1:32379","attempt":0,"error":"rpc error: code = DeadlineExceeded desc = latest balancer error: connection error: desc = \"transport: Error while dialing dial tcp 127.0.0.1:32379: connect: connection refused\""}
Failed to get the status of endpoint 127.0.0.1:32379 (context deadline exceeded)
127.0.0.1:12379, ddd67b312462fd7b, 3.4.23, 20 kB, false, false, 3, 5, 5, etcdserver: no leader
(exit 1)
[31 s, 5000 ms] $ etcdctl alarm list
{"level":"warn","msg":"retrying of unary invoker failed","target":"endpoint://client-<uuid>/127.0.0.1:12379","attempt":0,"error":"rpc error: code = Unknown desc = context deadline exceeded"}
Error: rpc error: code = Unknown desc = context deadline exceeded
(exit 1)
[37 s, 0 ms] $ etcdctl member list
628170c800dbcee, started, m3, http://127.0.0.1:32380, http://127.0.0.1:32379, false
9e737febb6b99eee, started, m2, http://127.0.0.1:22380, http://127.0.0.1:22379, false
ddd67b312462fd7b, started, m1, http://127.0.0.1:12380, http://127.0.0.1:12379, false
[43 s, 0 ms] $ etcd stop m1
[44 s, 5000 ms] $ etcdctl alarm list
{"level":"warn","msg":"retrying of unary invoker failed","target":"endpoint://client-<uuid>/127.0.0.1:12379","attempt":0,"error":"rpc error: code = DeadlineExceeded desc = latest balancer error: all SubConns are in TransientFailure"}
Error: context deadline exceeded
(exit 1)
"##;

const ETCD_3_5: &str = r##"[2 s, 2 ms] $ etcdctl defrag --cluster
Finished defragmenting etcd member[http://127.0.0.1:32379]
Finished defragmenting etcd member[http://127.0.0.1:22379]
Finished defragmenting etcd member[http://127.0.0.1:12379]
[3 s, 0 ms] $ etcdctl endpoint status
127.0.0.1:12379, ddd67b312462fd7b, 3.5.1, 20 kB, false, false, 1, 1, 1, 
127.0.0.1:22379, 9e737febb6b99eee, 3.5.1, 20 kB, false, false, 1, 1, 1, 
127.0.0.1:32379, 628170c800dbcee, 3.5.1, 20 kB, true, false, 1, 1, 1, 
[4 s, 0 ms] $ etcdctl endpoint status --cluster -w table
+------------------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
|        ENDPOINT        |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX | ERRORS |
+------------------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
| http://127.0.0.1:32379 |  628170c800dbcee |   3.5.1 |   20 kB |      true |      false |         1 |          1 |                  1 |        |
| http://127.0.0.1:22379 | 9e737febb6b99eee |   3.5.1 |   20 kB |     false |      false |         1 |          1 |                  1 |        |
| http://127.0.0.1:12379 | ddd67b312462fd7b |   3.5.1 |   20 kB |     false |      false |         1 |          1 |                  1 |        |
+------------------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
[5 s, 1 ms] $ etcdctl compact 1000
{"level":"warn","logger":"etcd-client","msg":"retrying of unary invoker failed","target":"etcd-endpoints://<ptr>/127.0.0.1:12379","attempt":0,"error":"rpc error: code = OutOfRange desc = etcdserver: mvcc: required revision is a future revision"}
Error: etcdserver: mvcc: required revision is a future revision
(exit 1)
[6 s, 1 ms] $ etcdctl compact current
compacted revision 1
[7 s, 1 ms] $ etcdctl compact 1
{"level":"warn","logger":"etcd-client","msg":"retrying of unary invoker failed","target":"etcd-endpoints://<ptr>/127.0.0.1:12379","attempt":0,"error":"rpc error: code = OutOfRange desc = etcdserver: mvcc: required revision has been compacted"}
Error: etcdserver: mvcc: required revision has been compacted
(exit 1)
[8 s, 0 ms] $ etcd stop m3
[9 s, 5000 ms] $ etcdctl endpoint status -w table
{"level":"warn","logger":"etcd-client","msg":"retrying of unary invoker failed","target":"etcd-endpoints://<ptr>/127.0.0.1:12379","attempt":0,"error":"rpc error: code = DeadlineExceeded desc = latest balancer error: last connection error: connection error: desc = \"transport: Error while dialing dial tcp 127.0.0.1:32379: connect: connection refused\""}
Failed to get the status of endpoint 127.0.0.1:32379 (context deadline exceeded)
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
|    ENDPOINT     |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX | ERRORS |
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
| 127.0.0.1:12379 | ddd67b312462fd7b |   3.5.1 |   20 kB |     false |      false |         1 |          4 |                  4 |        |
| 127.0.0.1:22379 | 9e737febb6b99eee |   3.5.1 |   20 kB |     false |      false |         1 |          4 |                  4 |        |
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
(exit 1)
[15 s, 5000 ms] $ etcdctl endpoint hashkv --cluster
{"level":"warn","logger":"etcd-client","msg":"retrying of unary invoker failed","target":"etcd-endpoints://<ptr>/127.0.0.1:12379","attempt":0,"error":"rpc error: code = DeadlineExceeded desc = latest balancer error: last connection error: connection error: desc = \"transport: Error while dialing dial tcp 127.0.0.1:32379: connect: connection refused\""}
Failed to get the hash of endpoint http://127.0.0.1:32379 (context deadline exceeded)
http://127.0.0.1:22379, 0
http://127.0.0.1:12379, 0
Error: context deadline exceeded
(exit 1)
[22 s, 0 ms] $ etcd stop m2
[21 s, 5000 ms] $ etcdctl defrag --endpoints=m3
{"level":"warn","logger":"etcd-client","msg":"retrying of unary invoker failed","target":"etcd-endpoints://<ptr>/127.0.0.1:32379","attempt":0,"error":"rpc error: code = DeadlineExceeded desc = latest balancer error: last connection error: connection error: desc = \"transport: Error while dialing dial tcp 127.0.0.1:32379: connect: connection refused\""}
Failed to defragment etcd member[127.0.0.1:32379] (context deadline exceeded)
(exit 1)
[25 s, 5000 ms] $ etcdctl endpoint status
{"level":"warn","logger":"etcd-client","msg":"retrying of unary invoker failed","target":"etcd-endpoints://<ptr>/127.0.0.1:12379","attempt":0,"error":"rpc error: code = DeadlineExceeded desc = latest balancer error: last connection error: connection error: desc = \"transport: Error while dialing dial tcp 127.0.0.1:22379: connect: connection refused\""}
Failed to get the status of endpoint 127.0.0.1:22379 (context deadline exceeded)
{"level":"warn","logger":"etcd-client","msg":"retrying of unary invoker failed","target":"etcd-endpoints://<ptr>/127.0.0.1:12379","attempt":0,"error":"rpc error: code = DeadlineExceeded desc = latest balancer error: last connection error: connection error: desc = \"transport: Error while dialing dial tcp 127.0.0.1:32379: connect: connection refused\""}
Failed to get the status of endpoint 127.0.0.1:32379 (context deadline exceeded)
127.0.0.1:12379, ddd67b312462fd7b, 3.5.1, 20 kB, false, false, 2, 5, 5, etcdserver: no leader
(exit 1)
[31 s, 5000 ms] $ etcdctl alarm list
{"level":"warn","logger":"etcd-client","msg":"retrying of unary invoker failed","target":"etcd-endpoints://<ptr>/127.0.0.1:12379","attempt":0,"error":"rpc error: code = Unknown desc = context deadline exceeded"}
Error: rpc error: code = Unknown desc = context deadline exceeded
(exit 1)
[37 s, 5000 ms] $ etcdctl member list
{"level":"warn","logger":"etcd-client","msg":"retrying of unary invoker failed","target":"etcd-endpoints://<ptr>/127.0.0.1:12379","attempt":0,"error":"rpc error: code = DeadlineExceeded desc = context deadline exceeded"}
Error: context deadline exceeded
(exit 1)
[43 s, 0 ms] $ etcd stop m1
[44 s, 5000 ms] $ etcdctl alarm list
{"level":"warn","logger":"etcd-client","msg":"retrying of unary invoker failed","target":"etcd-endpoints://<ptr>/127.0.0.1:12379","attempt":0,"error":"rpc error: code = DeadlineExceeded desc = latest balancer error: last connection error: connection error: desc = \"transport: Error while dialing dial tcp 127.0.0.1:12379: connect: connection refused\""}
Error: context deadline exceeded
(exit 1)
"##;

#[test]
fn etcdctl_3_4_texts() {
    assert_eq!(hidden(&transcript("3.4", 1)), ETCD_3_4);
}

#[test]
fn etcdctl_3_5_texts() {
    assert_eq!(hidden(&transcript("3.5", 1)), ETCD_3_5);
}

/// The random part of the target is drawn from the seed, one per etcdctl process: the same
/// seed prints the same bytes, another seed other UUIDs and pointers.
#[test]
fn targets_are_drawn_from_the_seed() {
    let draws = |text: &str, mark: &str, len: usize| -> Vec<String> {
        text.match_indices(mark)
            .map(|(i, _)| text[i + mark.len()..i + mark.len() + len].to_string())
            .collect()
    };
    for (version, mark, len) in [("3.4", "client-", 36), ("3.5", "etcd-endpoints://", 12)] {
        let one = transcript(version, 1);
        assert_eq!(one, transcript(version, 1));
        let first = draws(&one, mark, len);
        let second = draws(&transcript(version, 2), mark, len);
        assert!(first.len() >= 4, "{first:?}");
        let distinct: std::collections::BTreeSet<&String> = first.iter().collect();
        assert!(
            distinct.len() >= 4,
            "each etcdctl process draws its own: {first:?}"
        );
        assert!(
            first.iter().all(|d| !second.contains(d)),
            "{first:?} {second:?}"
        );
    }
}
