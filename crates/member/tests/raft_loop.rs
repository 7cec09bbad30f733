//! The member's raft loop, scripted: inputs in, outputs out (etcd-internals.md §1).

use etcdlab_member::{Member, MemberConfig, Msg, Op, Output, ReadOf, Request, WARN_HEARTBEAT_LATE};
use etcdlab_raft::{MessageType, Role};
use etcdlab_store::Value;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::rc::Rc;

const HB_NS: u64 = 100_000_000;

fn member(index: usize, size: usize) -> Member {
    member_with_bug(index, size, None)
}

fn member_with_bug(index: usize, size: usize, bug: Option<etcdlab_member::EtcdBug>) -> Member {
    let cfg = MemberConfig {
        index,
        cluster_size: size,
        heartbeat_interval_ns: HB_NS,
        election_timeout_ns: 10 * HB_NS,
        pre_vote: false,
        quota_backend_bytes: 0,
        snapshot_count: 100_000,
        snapshot_catchup_entries: 5_000,
        compaction_batch_limit: 1_000,
        bug,
    };
    Member::new(cfg, ChaCha8Rng::seed_from_u64(index as u64))
}

fn sends(out: &[Output]) -> Vec<&Msg> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send(m) => Some(m),
            _ => None,
        })
        .collect()
}

/// A client write of `value_size_bytes` with id `id`.
fn write(id: u64, value_size_bytes: u32) -> Rc<Request> {
    Rc::new(Request::from_client(
        id,
        0,
        Op::Put {
            key: Rc::from(format!("/lab/key-{id:07}").as_bytes()),
            value: Value::new(value_size_bytes, id),
            lease: 0,
        },
    ))
}

/// Tick a single-member cluster until it leads, completing its saves.
fn single_leader() -> (Member, u64) {
    let mut m = member(0, 1);
    let mut now = 0;
    let mut out = Vec::new();
    while m.role() != Role::Leader {
        now += HB_NS;
        m.on_tick(now, &mut out);
        while m.is_saving() {
            m.on_save_done(now, &mut out);
        }
        assert!(now < 100 * HB_NS, "no leader");
    }
    (m, now)
}

/// Elect m1 leader of a 3-member cluster by feeding it the votes it asks for.
fn three_member_leader() -> (Member, u64) {
    let mut m = member(0, 3);
    let mut now = 0;
    let mut out = Vec::new();
    while m.role() != Role::Candidate {
        now += HB_NS;
        m.on_tick(now, &mut out);
    }
    // A candidate sends its vote requests only after its WAL save (term, vote) is done.
    assert!(m.is_saving());
    assert!(sends(&out).is_empty(), "candidate sent before fsync");
    out.clear();
    m.on_save_done(now, &mut out);
    let votes = sends(&out);
    assert_eq!(votes.len(), 2);
    let term = votes[0].term;
    let mut grant = votes[0].clone();
    grant.msg_type = MessageType::VoteResp;
    grant.from = 2;
    grant.to = 1;
    grant.reject = false;
    out.clear();
    m.on_message(now, grant, &mut out);
    while m.is_saving() {
        m.on_save_done(now, &mut out);
    }
    assert_eq!(m.role(), Role::Leader);
    assert_eq!(m.raft().term(), term);
    (m, now)
}

#[test]
fn leader_sends_appends_before_its_own_fsync() {
    let mut m = member(0, 3);
    let mut now = 0;
    let mut out = Vec::new();
    while m.role() != Role::Candidate {
        now += HB_NS;
        m.on_tick(now, &mut out);
    }
    m.on_save_done(now, &mut out);
    let mut grant = sends(&out)[0].clone();
    grant.msg_type = MessageType::VoteResp;
    (grant.from, grant.to, grant.reject) = (2, 1, false);
    out.clear();
    // The vote wins: the new leader appends its empty entry, and in the same Ready sends
    // MsgApp to both followers before asking for its own WAL fsync.
    m.on_message(now, grant, &mut out);
    assert_eq!(m.role(), Role::Leader);
    let first_app = out
        .iter()
        .position(|o| matches!(o, Output::Send(msg) if msg.msg_type == MessageType::App))
        .expect("MsgApp sent");
    let save = out
        .iter()
        .position(|o| matches!(o, Output::Save { .. }))
        .expect("a WAL save");
    assert!(first_app < save, "leader sent after its fsync: {out:?}");
    assert!(m.is_saving());
}

#[test]
fn ticks_are_dropped_while_blocked_in_fsync_but_one_stays_pending() {
    let (mut m, mut now) = three_member_leader();
    let mut out = Vec::new();
    m.on_client_write(now, write(1, 10), &mut out);
    assert!(m.is_saving());
    out.clear();
    // Ten ticks arrive while the loop is blocked: no heartbeat goes out.
    for _ in 0..10 {
        now += HB_NS;
        m.on_tick(now, &mut out);
    }
    assert!(sends(&out).is_empty(), "nothing is sent while blocked");
    // The fsync returns after 1 s: one pending tick runs, so one heartbeat round goes out, and
    // the gap since the last heartbeat (over 2 x heartbeat) is reported as etcd does.
    m.on_save_done(now, &mut out);
    let beats = sends(&out)
        .into_iter()
        .filter(|m| m.msg_type == MessageType::Heartbeat)
        .count();
    assert_eq!(beats, 2, "one heartbeat per follower, not ten");
    // The first heartbeats after an election set the detector's baseline; send another round
    // after a long blocked save to see the warning.
    out.clear();
    m.on_client_write(now, write(2, 10), &mut out);
    now += 5 * HB_NS;
    m.on_tick(now, &mut out);
    m.on_save_done(now, &mut out);
    let late = out
        .iter()
        .filter(|o| matches!(o, Output::HeartbeatLate { exceeded_ns, .. } if *exceeded_ns > 0))
        .count();
    assert_eq!(late, 2, "{WARN_HEARTBEAT_LATE}");
    assert_eq!(m.heartbeat_send_failures_total, 2);
}

#[test]
fn follower_acks_only_after_its_fsync_but_steps_messages_while_blocked() {
    let mut f = member(1, 3);
    let mut out = Vec::new();
    // A leader (m1, term 1) appends an entry.
    let mut app = etcdlab_raft::Message::new(MessageType::App, 1, 2, 1);
    app.entries = vec![etcdlab_raft::Entry {
        term: 1,
        index: 1,
        data: etcdlab_raft::EntryData::Empty,
    }];
    app.index = 0;
    app.log_term = 0;
    f.on_message(0, app, &mut out);
    assert!(f.is_saving());
    assert!(
        sends(&out).is_empty(),
        "the ack waits for the follower's fsync"
    );
    // A heartbeat arrives while blocked: raft steps it (its election timer resets) but the
    // response waits for the next Ready.
    let mut hb = etcdlab_raft::Message::new(MessageType::Heartbeat, 1, 2, 1);
    hb.commit = 0;
    f.on_message(1, hb, &mut out);
    assert_eq!(f.raft().election_elapsed(), 0);
    assert!(sends(&out).is_empty());
    f.on_save_done(2, &mut out);
    let types: Vec<_> = sends(&out).iter().map(|m| m.msg_type).collect();
    assert_eq!(types, [MessageType::AppResp, MessageType::HeartbeatResp]);
}

#[test]
fn single_member_commits_and_replies() {
    let (mut m, now) = single_leader();
    let mut out = Vec::new();
    m.on_client_write(now, write(7, 10), &mut out);
    while m.is_saving() {
        m.on_save_done(now, &mut out);
    }
    // The reply's header carries the revision the put made.
    let revision = m.state().store.current_rev();
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Reply {
            request_id: 7,
            client: 0,
            result: Ok(etcdlab_member::Response { revision: r, kv: None, succeeded: None, kvs: None })
        } if *r == revision
    )));
    assert_eq!(m.state().store.index_len(), 1);
}

#[test]
fn a_write_on_a_member_without_leader_fails_with_context_deadline_exceeded() {
    // No leader: etcd's Propose blocks until the request's context ends; the client sees the
    // context's error, not etcd's "request timed out" (measured on etcd 3.4.23).
    let mut m = member(1, 3);
    let mut out = Vec::new();
    m.on_client_write(0, write(9, 1), &mut out);
    m.on_request_timeout(9, &mut out);
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Reply { request_id: 9, result: Err(e), .. } if *e == etcdlab_member::ERR_CONTEXT_DEADLINE
    )));
    assert_eq!(m.proposals_failed_total, 1);
}

#[test]
fn a_proposed_write_that_does_not_commit_in_time_fails_with_request_timed_out() {
    let (mut m, now) = three_member_leader();
    let mut out = Vec::new();
    m.on_client_write(now, write(9, 1), &mut out);
    m.on_request_timeout(9, &mut out);
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Reply { request_id: 9, result: Err(e), .. } if *e == etcdlab_member::ERR_TIMEOUT
    )));
    assert_eq!(m.proposals_failed_total, 1);
}

fn replied(out: &[Output], id: u64) -> bool {
    out.iter()
        .any(|o| matches!(o, Output::Reply { request_id, .. } if *request_id == id))
}

#[test]
fn a_single_member_answers_a_write_only_after_its_wal_fsync() {
    // One member is its own quorum: the entry is committed as it is appended. etcd 3.4.21+
    // waits for the WAL fsync before it applies such an entry (issue #14370).
    let (mut m, now) = single_leader();
    let mut out = Vec::new();
    m.on_client_write(now, write(7, 10), &mut out);
    assert!(m.is_saving());
    assert!(!replied(&out, 7), "answered before the fsync");
    let revision_before = m.state().store.current_rev();
    m.on_save_done(now, &mut out);
    assert!(replied(&out, 7));
    assert_eq!(m.state().store.current_rev(), revision_before + 1);
}

#[test]
fn with_the_lost_write_bug_a_crash_before_the_fsync_loses_an_acknowledged_write() {
    let mut m = member_with_bug(0, 1, Some(etcdlab_member::EtcdBug::LostWriteOnCrash));
    let mut now = 0;
    let mut out = Vec::new();
    while m.role() != Role::Leader {
        now += HB_NS;
        m.on_tick(now, &mut out);
        while m.is_saving() {
            m.on_save_done(now, &mut out);
        }
    }
    let revision_before = m.state().store.current_rev();
    m.on_client_write(now, write(7, 10), &mut out);
    assert!(m.is_saving());
    assert!(replied(&out, 7), "the bug answers before the fsync");
    let d = m.crash();
    assert_eq!(
        d.state.store.current_rev(),
        revision_before,
        "the acknowledged write is gone"
    );
}

#[test]
fn crash_keeps_only_fsynced_entries() {
    let (mut m, now) = single_leader();
    let mut out = Vec::new();
    m.on_client_write(now, write(1, 10), &mut out);
    assert!(m.is_saving());
    let durable_before = m.durable_last_index();
    let d = m.crash();
    assert_eq!(
        d.entries.len() as u64,
        durable_before,
        "the unsynced entry is lost"
    );
}

#[test]
fn a_linearizable_read_returns_the_key_as_written_and_the_header_revision() {
    let (mut m, now) = single_leader();
    let mut out = Vec::new();
    m.on_client_write(now, write(7, 10), &mut out);
    while m.is_saving() {
        m.on_save_done(now, &mut out);
    }
    let revision = m.state().store.current_rev();
    out.clear();
    let key: Rc<[u8]> = Rc::from(&b"/lab/key-0000007"[..]);
    m.on_client_read(now, 8, 0, true, ReadOf::Key(key), &mut out);
    while m.is_saving() {
        m.on_save_done(now, &mut out);
    }
    let read = out.iter().find_map(|o| match o {
        Output::Reply {
            request_id: 8,
            result,
            ..
        } => Some(result.clone()),
        _ => None,
    });
    let kv = etcdlab_member::KvRead {
        value_tag: 7,
        value_size_bytes: 10,
        create_revision: revision,
        mod_revision: revision,
        version: 1,
    };
    let expected = etcdlab_member::Response {
        revision,
        kv: Some(kv),
        succeeded: None,
        kvs: None,
    };
    assert_eq!(read, Some(Ok(expected)));
    // A key never written is not found, at the same revision.
    out.clear();
    let missing: Rc<[u8]> = Rc::from(&b"/lab/none"[..]);
    m.on_client_read(now, 9, 0, true, ReadOf::Key(missing), &mut out);
    while m.is_saving() {
        m.on_save_done(now, &mut out);
    }
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Reply { request_id: 9, result: Ok(r), .. } if r.kv.is_none() && r.revision == revision
    )));
    // A range over the prefix finds the key, with the same figures.
    out.clear();
    let range = ReadOf::Range {
        key: Rc::from(&b"/lab/"[..]),
        range_end: Rc::from(&b"/lab0"[..]),
        rev: 0,
    };
    m.on_client_read(now, 10, 0, true, range, &mut out);
    while m.is_saving() {
        m.on_save_done(now, &mut out);
    }
    let found = out.iter().find_map(|o| match o {
        Output::Reply {
            request_id: 10,
            result: Ok(r),
            ..
        } => r.kvs.clone(),
        _ => None,
    });
    let key: Rc<[u8]> = Rc::from(&b"/lab/key-0000007"[..]);
    assert_eq!(found.as_deref(), Some(&[(key.clone(), kv)][..]));
    // As of a revision before the put: not found; past the store's revision: an error.
    out.clear();
    let before = ReadOf::KeyAt {
        key: key.clone(),
        rev: revision - 1,
    };
    m.on_client_read(now, 11, 0, true, before, &mut out);
    let future = ReadOf::KeyAt {
        key,
        rev: revision + 1,
    };
    m.on_client_read(now, 12, 0, true, future, &mut out);
    while m.is_saving() {
        m.on_save_done(now, &mut out);
    }
    let reply = |id: u64| {
        out.iter().find_map(|o| match o {
            Output::Reply {
                request_id, result, ..
            } if *request_id == id => Some(result.clone()),
            _ => None,
        })
    };
    assert!(matches!(reply(11), Some(Ok(r)) if r.kv.is_none() && r.revision == revision));
    assert_eq!(
        reply(12),
        Some(Err(
            "etcdserver: mvcc: required revision is a future revision"
        ))
    );
}
