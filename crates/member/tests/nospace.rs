//! NOSPACE, scripted (sans-IO): what members do with requests while a NOSPACE alarm is active,
//! against the table of etcd-ground-truth.md section A (real etcd 3.4.23) and
//! etcd-internals.md §6. Messages are delivered and WAL saves completed at once; backend
//! commits happen only when a test asks for them, so each member's `Size()` is exactly as
//! stale as the test makes it.

use etcdlab_member::{AlarmKind, Member, MemberConfig, Op, Output, Request, ERR_NOSPACE};
use etcdlab_raft::{EntryData, Role};
use etcdlab_store::mvcc::RangeOptions;
use etcdlab_store::Value;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

const HB_NS: u64 = 100_000_000;
/// The text real etcd returned for every refused put and lease grant.
const REAL_NOSPACE: &str = "etcdserver: mvcc: database space exceeded";
/// Room for forty 8 KiB puts while the backend still reports its fresh 24,576 bytes (no
/// commit yet), not once they are committed; and for the ten live values after compact and
/// defrag.
const QUOTA: i64 = 256 * 1024;
const FILL_PUTS: usize = 40;

struct Cluster {
    members: Vec<Member>,
    now: u64,
    next_id: u64,
    replies: BTreeMap<u64, Option<&'static str>>,
    /// (applied on member index, member id, alarm, raised)
    alarm_changes: Vec<(usize, u64, AlarmKind, bool)>,
    compactions_scheduled: usize,
}

impl Cluster {
    /// A cluster of `size` with m1 as leader.
    fn new(size: usize) -> Cluster {
        let members = (0..size)
            .map(|index| {
                let cfg = MemberConfig {
                    index,
                    cluster_size: size,
                    heartbeat_interval_ns: HB_NS,
                    election_timeout_ns: 10 * HB_NS,
                    pre_vote: false,
                    quota_backend_bytes: QUOTA,
                    snapshot_count: 100_000,
                    snapshot_catchup_entries: 5_000,
                    compaction_batch_limit: 1_000,
                    bug: None,
                };
                Member::new(cfg, ChaCha8Rng::seed_from_u64(index as u64))
            })
            .collect();
        let mut c = Cluster {
            members,
            now: 0,
            next_id: 1,
            replies: BTreeMap::new(),
            alarm_changes: Vec::new(),
            compactions_scheduled: 0,
        };
        // Only m1 ticks, so only m1 campaigns.
        while c.members[0].role() != Role::Leader {
            c.tick_leader();
            assert!(c.now < 100 * HB_NS, "no leader");
        }
        c.tick_leader(); // the new leader's empty entry commits everywhere
        c
    }

    fn tick_leader(&mut self) {
        self.now += HB_NS;
        let mut out = Vec::new();
        self.members[0].on_tick(self.now, &mut out);
        self.route(0, out);
    }

    /// Carry out outputs until nothing is left: messages delivered, saves done.
    fn route(&mut self, from: usize, out: Vec<Output>) {
        let mut work: VecDeque<(usize, Output)> = out.into_iter().map(|o| (from, o)).collect();
        while let Some((m, o)) = work.pop_front() {
            let mut more = Vec::new();
            let at = match o {
                Output::Send(msg) => {
                    let to = msg.to as usize - 1;
                    self.members[to].on_message(self.now, msg, &mut more);
                    to
                }
                Output::Save { .. } => {
                    self.members[m].on_save_done(self.now, &mut more);
                    m
                }
                Output::Reply {
                    request_id, result, ..
                } => {
                    assert!(self.replies.insert(request_id, result.err()).is_none());
                    continue;
                }
                Output::AlarmChanged {
                    member_id,
                    alarm,
                    raised,
                } => {
                    self.alarm_changes.push((m, member_id, alarm, raised));
                    continue;
                }
                Output::CompactionScheduled => {
                    self.compactions_scheduled += 1;
                    continue;
                }
                _ => continue,
            };
            work.extend(more.into_iter().map(|o| (at, o)));
        }
    }

    /// Send `op` to member `m` as a client would and let the cluster settle. Returns the reply.
    fn request(&mut self, m: usize, op: Op) -> Result<(), &'static str> {
        let id = self.next_id;
        self.next_id += 1;
        let mut out = Vec::new();
        self.members[m].on_client_write(
            self.now,
            Rc::new(Request::from_client(id, 0, op)),
            &mut out,
        );
        self.route(m, out);
        // A heartbeat round brings every follower's commit index up to date.
        self.tick_leader();
        match self.replies.remove(&id) {
            Some(None) => Ok(()),
            Some(Some(e)) => Err(e),
            None => panic!("no reply to request {id}"),
        }
    }

    /// The backend of member `m` commits its batch (the 100 ms batch interval elapsed).
    fn commit(&mut self, m: usize) {
        let mut out = Vec::new();
        self.members[m].on_backend_batch_interval(&mut out);
        self.route(m, out);
    }

    fn last_index(&self) -> u64 {
        let last = self.members[0].raft().last_index();
        for m in &self.members {
            assert_eq!(m.raft().commit_index(), last, "m{} lags", m.index() + 1);
            assert_eq!(m.state().applied_index(), last, "m{} lags", m.index() + 1);
        }
        last
    }

    /// The revision, the same on every member.
    fn rev(&self) -> i64 {
        let rev = self.members[0].state().store.current_rev();
        for m in &self.members {
            assert_eq!(m.state().store.current_rev(), rev, "m{}", m.index() + 1);
        }
        rev
    }

    fn alarms(&self) -> Vec<(u64, AlarmKind)> {
        let a = self.members[0].state().active_alarms();
        for m in &self.members {
            assert_eq!(m.state().active_alarms(), a, "m{}", m.index() + 1);
        }
        a
    }

    /// The request carried by the entry at `index`.
    fn entry_op(&self, index: u64) -> Op {
        match &self.members[0].raft().entry_at(index).expect("entry").data {
            EntryData::Normal(p) => p.0.op.clone(),
            EntryData::Empty => panic!("entry {index} is empty"),
        }
    }

    fn size(&self, m: usize) -> u64 {
        self.members[m].state().store.backend().size_bytes()
    }

    fn in_use(&self, m: usize) -> u64 {
        self.members[m].state().store.backend().size_in_use_bytes()
    }

    /// Run the scheduled compaction to its end on every member (10 ms apart in etcd).
    fn finish_compaction(&mut self) {
        for m in 0..self.members.len() {
            loop {
                let mut out = Vec::new();
                let more = self.members[m].compaction_step(&mut out);
                self.route(m, out);
                if !more {
                    break;
                }
            }
        }
    }

    fn defrag(&mut self, m: usize) {
        let mut out = Vec::new();
        self.members[m].start_defrag(&mut out);
        self.members[m].finish_defrag(self.now, &mut out);
        self.route(m, out);
    }
}

fn put(key: &str, size: u32) -> Op {
    Op::Put {
        key: Rc::from(key.as_bytes()),
        value: Value::new(size, 0),
        lease: 0,
    }
}

fn del(key: &str) -> Op {
    Op::DeleteRange {
        key: Rc::from(key.as_bytes()),
        range_end: Rc::from(&b""[..]),
    }
}

fn nospace(activate: bool, member_id: u64) -> Op {
    Op::Alarm {
        activate,
        member_id,
        alarm: AlarmKind::NoSpace,
        for_rejected_put: false,
    }
}

fn is_nospace_activate_for(op: &Op, id: u64) -> bool {
    matches!(op, Op::Alarm { activate: true, member_id, alarm: AlarmKind::NoSpace, .. } if *member_id == id)
}

/// 8 KiB puts cycling over k0..k9 through m1, no backend commit: every member's Size() is
/// still the fresh 24,576 bytes, so all of them fit.
fn fill(c: &mut Cluster) {
    for i in 0..FILL_PUTS {
        assert_eq!(c.request(0, put(&format!("k{}", i % 10), 8192)), Ok(()));
    }
    assert_eq!(c.rev(), FILL_PUTS as i64 + 1);
}

#[test]
fn the_error_text_is_real_etcds() {
    assert_eq!(ERR_NOSPACE, REAL_NOSPACE);
}

/// A single member fills its quota, then goes through the rows of ground truth A's table and
/// the recovery (compact, defrag, disarm), each request costing the raft index it cost in etcd.
#[test]
fn requests_while_nospace_is_active_follow_real_etcd() {
    let mut c = Cluster::new(1);
    fill(&mut c);
    c.commit(0);
    assert!(c.size(0) as i64 > QUOTA, "{} bytes", c.size(0));

    // put at an over-quota member: refused before raft, which only gets the member's NOSPACE
    // ACTIVATE for itself (one entry); nothing is written.
    let (i0, r0) = (c.last_index(), c.rev());
    assert_eq!(c.request(0, put("k0", 8192)), Err(REAL_NOSPACE));
    assert_eq!(c.last_index(), i0 + 1);
    assert!(is_nospace_activate_for(&c.entry_op(i0 + 1), 1));
    assert_eq!(c.rev(), r0);
    assert_eq!(c.alarms(), [(1, AlarmKind::NoSpace)]);
    assert_eq!(c.alarm_changes, [(0, 1, AlarmKind::NoSpace, true)]);

    // Every further put: the same error, +1 raft index (the ACTIVATE again), no new alarm.
    let i = c.last_index();
    assert_eq!(c.request(0, put("k5", 10)), Err(REAL_NOSPACE));
    assert_eq!((c.last_index(), c.rev()), (i + 1, r0));
    assert_eq!(c.alarm_changes.len(), 1);

    // del k9: works, revision +1 (a tombstone), raft index +1.
    let i = c.last_index();
    let revs = c.members[0].state().store.revision_count();
    assert_eq!(c.request(0, del("k9")), Ok(()));
    assert_eq!((c.last_index(), c.rev()), (i + 1, r0 + 1));
    let store = &c.members[0].state().store;
    assert_eq!(store.revision_count(), revs + 1, "a tombstone revision");
    let now = store.range(b"k9", b"", &RangeOptions::default()).unwrap();
    assert_eq!(now.count, 0);
    let before = RangeOptions {
        rev: r0,
        ..RangeOptions::default()
    };
    assert_eq!(store.range(b"k9", b"", &before).unwrap().count, 1);

    // del of a missing key: works ("0"), raft index +1, no new revision.
    let i = c.last_index();
    assert_eq!(c.request(0, del("missing")), Ok(()));
    assert_eq!((c.last_index(), c.rev()), (i + 1, r0 + 1));

    // lease grant: the same error ("failed to grant lease (…)"), raft index +1.
    let i = c.last_index();
    let grant = Op::LeaseGrant { id: 7, ttl_s: 30 };
    assert_eq!(c.request(0, grant.clone()), Err(REAL_NOSPACE));
    assert_eq!(c.last_index(), i + 1);
    assert!(c.members[0].state().lessor.lookup(7).is_none());

    // alarm list: through raft, +1.
    let i = c.last_index();
    assert_eq!(c.request(0, Op::AlarmList), Ok(()));
    assert_eq!(c.last_index(), i + 1);

    // compaction to the current revision: works, +1. Its deletes commit batch by batch; the
    // size stays, in use drops only once a later commit releases the freed pages.
    c.commit(0);
    let (i, rev) = (c.last_index(), c.rev());
    let size_before = c.size(0);
    let in_use_before = c.in_use(0);
    assert_eq!(c.request(0, Op::Compact { rev }), Ok(()));
    assert_eq!(c.last_index(), i + 1);
    assert_eq!(c.compactions_scheduled, 1);
    c.finish_compaction();
    c.commit(0);
    assert_eq!(c.size(0), size_before, "compaction never shrinks the file");
    c.commit(0); // nothing pending: no commit, in use as it was
    let i = c.last_index();
    assert_eq!(c.request(0, Op::AlarmList), Ok(()));
    c.commit(0); // a later commit releases the pages the compaction freed
    assert_eq!(c.size(0), size_before);
    assert!(
        c.in_use(0) < in_use_before,
        "in use {} vs {in_use_before}",
        c.in_use(0)
    );
    assert_eq!(c.last_index(), i + 1);

    // Still over quota (same size): puts fail as before.
    assert_eq!(c.request(0, put("k1", 10)), Err(REAL_NOSPACE));

    // defrag: member-local, no raft index; the file shrinks under the quota.
    let i = c.last_index();
    c.defrag(0);
    assert_eq!(c.last_index(), i);
    assert!((c.size(0) as i64) < QUOTA / 2, "{} after defrag", c.size(0));

    // After compact + defrag, before disarm: the member is under quota, so the put is proposed
    // (its own entry, +1) and refused at apply by the capped applier; lease grants too.
    let (i, r) = (c.last_index(), c.rev());
    assert_eq!(c.request(0, put("k2", 8192)), Err(REAL_NOSPACE));
    assert_eq!((c.last_index(), c.rev()), (i + 1, r));
    assert!(matches!(c.entry_op(i + 1), Op::Put { .. }));
    assert_eq!(c.request(0, grant.clone()), Err(REAL_NOSPACE));
    assert!(matches!(c.entry_op(i + 2), Op::LeaseGrant { .. }));
    assert_eq!(c.last_index(), i + 2);

    // alarm disarm: one DEACTIVATE per alarm, through raft.
    let i = c.last_index();
    for (id, _) in c.alarms() {
        assert_eq!(c.request(0, nospace(false, id)), Ok(()));
    }
    assert_eq!(c.last_index(), i + 1);
    assert!(c.alarms().is_empty());
    assert_eq!(
        c.alarm_changes.last(),
        Some(&(0, 1, AlarmKind::NoSpace, false))
    );

    // After disarm: put returns OK (revision +1), lease grants work.
    let r = c.rev();
    assert_eq!(c.request(0, put("k3", 8192)), Ok(()));
    assert_eq!(c.rev(), r + 1);
    assert_eq!(c.request(0, grant), Ok(()));
}

/// Three members, m1 leading. Only m2's backend has committed the fill, so only m2 is over
/// quota (each member checks its own, stale, size).
fn cluster_with_m2_over_quota() -> Cluster {
    let mut c = Cluster::new(3);
    fill(&mut c);
    c.commit(1);
    assert!(c.size(1) as i64 > QUOTA);
    assert!((c.size(0) as i64) < QUOTA && (c.size(2) as i64) < QUOTA);
    c
}

#[test]
fn a_put_at_an_over_quota_member_raises_its_own_alarm_in_one_entry_and_fails() {
    let mut c = cluster_with_m2_over_quota();
    let (i, r) = (c.last_index(), c.rev());
    // m2 is a follower: its ACTIVATE goes to the leader as a proposal; one entry in all.
    assert_eq!(c.request(1, put("k0", 8192)), Err(REAL_NOSPACE));
    assert_eq!(c.last_index(), i + 1);
    assert!(is_nospace_activate_for(&c.entry_op(i + 1), 2));
    assert_eq!(c.rev(), r, "the put never reached raft");
    assert_eq!(c.alarms(), [(2, AlarmKind::NoSpace)]);
    // Applied on every member.
    let applied_on: Vec<usize> = c.alarm_changes.iter().map(|a| a.0).collect();
    assert_eq!(applied_on, [0, 1, 2]);
    assert!(c
        .alarm_changes
        .iter()
        .all(|a| (a.1, a.2, a.3) == (2, AlarmKind::NoSpace, true)));
}

#[test]
fn a_put_at_an_under_quota_member_under_an_alarm_is_proposed_and_refused_at_apply() {
    let mut c = cluster_with_m2_over_quota();
    assert_eq!(c.request(1, put("k0", 8192)), Err(REAL_NOSPACE));
    let changes = c.alarm_changes.len();
    // m3 is under quota: the put itself is proposed (one entry), every member's capped
    // applier refuses it (no revision anywhere), and no member raises another alarm.
    let (i, r) = (c.last_index(), c.rev());
    assert_eq!(c.request(2, put("k1", 8192)), Err(REAL_NOSPACE));
    assert_eq!(c.last_index(), i + 1);
    assert!(matches!(c.entry_op(i + 1), Op::Put { .. }));
    assert_eq!(c.rev(), r);
    assert_eq!(c.alarms(), [(2, AlarmKind::NoSpace)]);
    assert_eq!(c.alarm_changes.len(), changes);
    // The same through the leader.
    assert_eq!(c.request(0, put("k1", 8192)), Err(REAL_NOSPACE));
    assert_eq!((c.last_index(), c.rev()), (i + 2, r));
}

#[test]
fn a_put_over_quota_at_apply_is_written_and_the_member_raises_its_alarm() {
    // No alarm yet; m1 (under quota) accepts the put, every member applies it. m2, over quota,
    // applies it anyway and proposes a NOSPACE alarm for itself ("message exceeded backend
    // quota; raising alarm"): two entries. m1's client sees m1's own result: OK.
    let mut c = cluster_with_m2_over_quota();
    let (i, r) = (c.last_index(), c.rev());
    assert_eq!(c.request(0, put("k0", 8192)), Ok(()));
    assert_eq!(c.rev(), r + 1, "applied on every member");
    assert_eq!(c.last_index(), i + 2);
    assert!(matches!(c.entry_op(i + 1), Op::Put { .. }));
    assert!(is_nospace_activate_for(&c.entry_op(i + 2), 2));
    assert_eq!(c.alarms(), [(2, AlarmKind::NoSpace)]);
}

#[test]
fn disarming_without_freeing_space_re_raises_at_the_next_put() {
    let mut c = cluster_with_m2_over_quota();
    assert_eq!(c.request(1, put("k0", 8192)), Err(REAL_NOSPACE));
    assert_eq!(c.request(0, nospace(false, 2)), Ok(()));
    assert!(c.alarms().is_empty());
    // m1 is under quota: its put works again.
    let r = c.rev();
    assert_eq!(c.request(0, put("k1", 10)), Ok(()));
    assert_eq!(c.rev(), r + 1);
    // m2 still is not: the next put it receives fails and raises m2's alarm again.
    let i = c.last_index();
    assert_eq!(c.request(1, put("k2", 10)), Err(REAL_NOSPACE));
    assert_eq!(c.last_index(), i + 1);
    assert_eq!(c.alarms(), [(2, AlarmKind::NoSpace)]);
}
