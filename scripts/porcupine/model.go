package main

// etcd's key-value model for porcupine, written from etcdlab's docs (docs/history-format.md,
// docs/checkers.md), not translated from the Rust checker: the point is a second opinion.
//
// One deterministic state is the store's revision, per key its value, create and mod revision,
// version and lease, and the leases that exist (with the keys attached to each); and, for the
// keys a read at a revision (`at_revision`) looks at, their past versions (see keyHistory). Revisions are
// global, so the history is not partitioned by key. Leases never expire in the model (a history
// with leases gives them TTLs longer than itself, or revokes them).
// Writes whose fate is unknown fork the state (applied and not applied), as etcd's robustness
// tests do with porcupine: the model is a porcupine.NondeterministicModel whose Step returns
// every state the operation may lead to, and porcupine follows the set of them.

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	"github.com/anishathalye/porcupine"
)

// kind of operation, as history.jsonl names it.
type kind uint8

const (
	opPut kind = iota
	opGet
	opDelete
	opTxn
	opWrite
	opRange
	opLeaseGrant
	opLeaseRevoke
)

// isRead: a get or a range (it changes nothing but the revision, in an era that started empty).
func isRead(k kind) bool {
	return k == opGet || k == opRange
}

// fate of an operation, as the history tells it.
type fate uint8

const (
	// returned: the client saw a response, with its header revision.
	returned fate = iota
	// applied: the client saw an error, the cluster's log says it was applied (at rev if
	// hasRev).
	applied
	// maybe: the client saw an error or no answer; applied or not, nobody knows.
	maybe
)

// input is the request.
type input struct {
	kind  kind
	key   string
	value string // put, txn: the value written
	// txn: the compare's target; for targetValue the value (expectAbsent: the key must not
	// exist instead), else the number; result: "=", "!=", ">" or "<".
	target       compareTarget
	expect       string
	expectAbsent bool
	number       int64
	result       string
	// txn: the failure branch reads the key.
	elseGet bool
	// range: from key to rangeEnd, exclusive ("\x00": every key from key on; with prefix, etcd's
	// GetPrefixRangeEnd of key), and the keys its era's operations name that fall in it, sorted
	// (set by readHistory: a key no operation names is never read, so its state does not matter).
	rangeEnd  string
	prefix    bool
	rangeKeys []string
	// get, range: the revision it reads at (etcd's WithRev; 0: the latest).
	atRev int64
	// put: the lease to attach the key to ("": none); lease_grant, lease_revoke: the lease. As
	// a decimal string (leases live in a pmap keyed by strings).
	lease string
}

// compareTarget: what a txn compares (etcd's Compare.target).
type compareTarget uint8

const (
	targetValue compareTarget = iota
	targetVersion
	targetCreate
	targetMod
)

// output is what the client (or the log) saw.
type output struct {
	fate   fate
	hasRev bool
	rev    int64
	// get: the value found (found false: no such key).
	found bool
	value string
	// txn: whether the compare held, if the response says (hasSucceeded).
	hasSucceeded bool
	succeeded    bool
	// txn with elseGet whose compare failed: what the read found (elseKnown: the response
	// says).
	elseKnown bool
	elseFound bool
	elseValue string
	// range: what it found, sorted by key; badKvs: a key outside the range, or twice (no state
	// answers that).
	kvs    []kv
	badKvs bool
	// get, range: its place among the reads naming the same revision, by return time (see
	// order).
	rank int
}

// kv is one key a range found.
type kv struct {
	key, value string
}

// entry is what the state knows of one key: it exists with a value and revisions, or it is
// known not to exist (exists false; only kept in a state that started unknown, where a key
// without an entry is unknown rather than absent).
type entry struct {
	exists  bool
	value   string
	create  int64
	mod     int64
	version int64
	// lease: the lease the key is attached to ("": none; a key first seen by a read in an era
	// that started unknown counts as attached to none).
	lease    string
	entryKey uint64 // hash of the entry, cached
}

func (a entry) same(b entry) bool {
	return a.exists == b.exists && a.value == b.value && a.create == b.create &&
		a.mod == b.mod && a.version == b.version && a.lease == b.lease
}

// leaseEntry is what the state knows of one lease: it exists, with the keys known to be
// attached to it (sorted; in an era that started unknown a lease of the backup may have more,
// unknown), or it is known not to exist (exists false; only kept in a state that started
// unknown, as for keys).
type leaseEntry struct {
	exists   bool
	keys     []string
	entryKey uint64
}

func (a leaseEntry) same(b leaseEntry) bool {
	if a.exists != b.exists || len(a.keys) != len(b.keys) {
		return false
	}
	for i := range a.keys {
		if a.keys[i] != b.keys[i] {
			return false
		}
	}
	return true
}

// version is one change of a key: at revision rev it was set to value, or deleted (exists
// false). prev is the change before it (nil: none in this era); versions are shared by the
// states that have them, never modified.
type version struct {
	rev    int64
	exists bool
	value  string
	prev   *version
	hash   uint64 // of this change and all before it
}

// keyHistory is a key's changes in this era, the last one first (a pmap value).
type keyHistory struct {
	last *version
}

func (a keyHistory) same(b keyHistory) bool {
	x, y := a.last, b.last
	for x != y {
		if x == nil || y == nil || x.hash != y.hash || x.rev != y.rev || x.exists != y.exists ||
			x.value != y.value {
			return false
		}
		x, y = x.prev, y.prev
	}
	return true
}

// at: the key's last change at or before revision r, if any.
func (h keyHistory) at(r int64) (*version, bool) {
	for v := h.last; v != nil; v = v.prev {
		if v.rev <= r {
			return v, true
		}
	}
	return nil, false
}

func hashVersion(key string, v *version) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	h.Write([]byte{0})
	if v.exists {
		h.Write([]byte(v.value))
		h.Write([]byte{1})
	}
	k := mix(h.Sum64() ^ mix(uint64(v.rev)^0x4e15))
	if v.prev != nil {
		k = mix(k ^ v.prev.hash)
	}
	return k
}

// kvState is one deterministic state. It is never modified once built: a step copies it.
type kvState struct {
	rev    int64
	keys   pmap[entry]
	leases pmap[leaseEntry]
	// hist: the changes of each key in tracked, in this era (tracked nil: none kept, as in a
	// history without a read at a revision); histHash: the hash of them all.
	hist     pmap[keyHistory]
	histHash uint64
	tracked  map[string]bool
	// unknownStart: the era started from a restored backup the history does not describe,
	// so a key (a lease) without an entry is unknown until an operation shows or sets it.
	unknownStart bool
	keysHash     uint64
	leasesHash   uint64
	// named: the revisions the era's operations name, shared by every state (nil: no
	// pruning); see order.
	named *namedRevs
	// Operations naming rev placed so far, and of them reads (see order).
	placedAt, readsAt int
}

func mix(x uint64) uint64 {
	// splitmix64's finalizer
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func hashEntry(key string, e entry) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	h.Write([]byte{0})
	if e.exists {
		h.Write([]byte(e.value))
		h.Write([]byte{0})
		h.Write([]byte(e.lease))
	}
	k := h.Sum64()
	if !e.exists {
		return mix(k ^ 0xdead)
	}
	return mix(k ^ mix(uint64(e.mod)) ^ mix(uint64(e.create)<<1) ^ mix(uint64(e.version)<<2))
}

// hashLease: the keys attached are not hashed: they follow from the keys' entries.
func hashLease(id string, le leaseEntry) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	k := mix(h.Sum64() ^ 0x1ea5e)
	if !le.exists {
		return mix(k ^ 0xdead)
	}
	return k
}

func (s *kvState) hash() uint64 {
	h := s.keysHash ^ mix(uint64(s.rev)^0x5bd1e995) ^ mix(uint64(s.placedAt)<<32|uint64(s.readsAt)) ^
		mix(s.leasesHash^0x1ea5e5)
	if s.histHash != 0 {
		h ^= mix(s.histHash ^ 0x415)
	}
	if s.unknownStart {
		h = ^h
	}
	return h
}

func (s *kvState) equal(o *kvState) bool {
	return s.rev == o.rev && s.keysHash == o.keysHash && s.unknownStart == o.unknownStart &&
		s.placedAt == o.placedAt && s.readsAt == o.readsAt && s.leasesHash == o.leasesHash &&
		s.histHash == o.histHash && equalNodes(s.keys.root, o.keys.root) &&
		equalNodes(s.leases.root, o.leases.root) && equalNodes(s.hist.root, o.hist.root)
}

// known: m's entry for k and whether the state knows it. Without an entry, k is absent,
// unless the era started from a restored backup (unknownStart): then it is unknown (false).
func known[V pmapValue[V]](m pmap[V], unknownStart bool, k string) (V, bool) {
	if v, ok := m.get(k); ok {
		return v, true
	}
	var absent V
	return absent, !unknownStart
}

// lookup: the key's entry and whether the state knows it (false: unknown).
func (s *kvState) lookup(key string) (entry, bool) {
	return known(s.keys, s.unknownStart, key)
}

// lookupLease: the lease's entry and whether the state knows it (false: unknown).
func (s *kvState) lookupLease(id string) (leaseEntry, bool) {
	return known(s.leases, s.unknownStart, id)
}

// at returns a copy of s at revision rev, for a step to change.
func (s *kvState) at(rev int64) *kvState {
	n := *s
	n.rev = rev
	return &n
}

// with returns a copy of s at revision rev, with key's entry set to e (nil: unchanged).
func (s *kvState) with(rev int64, key string, e *entry) *kvState {
	n := s.at(rev)
	if e != nil {
		n.setKey(key, *e)
	}
	return n
}

// setKey sets key's entry in n, a copy no other state shares yet, and moves the key from the
// lease it was attached to, if any, to the entry's lease.
func (n *kvState) setKey(key string, e entry) {
	if !e.exists {
		e = entry{} // nothing but that it does not exist
	}
	old, hadOld := n.keys.get(key)
	if hadOld {
		n.keysHash ^= old.entryKey
	}
	if hadOld && old.exists && old.lease != e.lease {
		n.attach(old.lease, key, false)
	}
	if e.lease != "" && (!hadOld || !old.exists || old.lease != e.lease) {
		n.attach(e.lease, key, true)
	}
	if e.exists || n.unknownStart {
		e.entryKey = hashEntry(key, e)
		n.keys = n.keys.set(key, &e)
		n.keysHash ^= e.entryKey
	} else {
		// Absent keys get no entry in a state that started empty (no entry means absent).
		n.keys = n.keys.set(key, nil)
	}
}

// change sets key's entry in n (as setKey) for a write that changed it at n's revision, and
// records the change in the key's history if the key is tracked.
func (n *kvState) change(key string, e entry) {
	n.setKey(key, e)
	if !n.tracked[key] {
		return
	}
	old, _ := n.hist.get(key)
	v := &version{rev: n.rev, exists: e.exists, prev: old.last}
	if e.exists {
		v.value = e.value
	}
	v.hash = hashVersion(key, v)
	if old.last != nil {
		n.histHash ^= mix(old.last.hash)
	}
	n.hist = n.hist.set(key, &keyHistory{last: v})
	n.histHash ^= mix(v.hash)
}

// pastValue: what key held at revision r, as its history tells (known false: no change of it
// at or before r in this era, which in an era that started unknown says nothing).
func (s *kvState) pastValue(key string, r int64) (seen entry, known bool) {
	h, _ := s.hist.get(key)
	if v, ok := h.at(r); ok {
		return entry{exists: v.exists, value: v.value}, true
	}
	if s.unknownStart {
		return entry{}, false
	}
	return entry{}, true // the era started empty: absent
}

// attach adds key to the keys attached to lease id (on false: removes it); a lease that does
// not exist (revoked first) is left alone.
func (n *kvState) attach(id string, key string, on bool) {
	if id == "" {
		return
	}
	le, ok := n.leases.get(id)
	if !ok || !le.exists {
		return
	}
	i := sort.SearchStrings(le.keys, key)
	present := i < len(le.keys) && le.keys[i] == key
	if present == on {
		return
	}
	keys := make([]string, 0, len(le.keys)+1)
	keys = append(keys, le.keys[:i]...)
	if on {
		keys = append(keys, key)
		keys = append(keys, le.keys[i:]...)
	} else {
		keys = append(keys, le.keys[i+1:]...)
	}
	le.keys = keys
	n.leases = n.leases.set(id, &le) // its hash does not change: the keys are not hashed
}

// setLease records in n, a copy no other state shares yet, that lease id exists (with no
// keys attached) or not.
func (n *kvState) setLease(id string, exists bool) {
	if old, ok := n.leases.get(id); ok {
		n.leasesHash ^= old.entryKey
	}
	if !exists && !n.unknownStart {
		n.leases = n.leases.set(id, nil) // no entry means it does not exist
		return
	}
	le := leaseEntry{exists: exists}
	le.entryKey = hashLease(id, le)
	n.leases = n.leases.set(id, &le)
	n.leasesHash ^= le.entryKey
}

// next is the revision after a write that changed `changes` revisions: other writers (not in
// the history) may have advanced it, so a known revision may be above the least one, never
// below. nil-able result: false when the response's revision cannot be.
func (s *kvState) next(out output, changes int64) (int64, bool) {
	least := s.rev + changes
	if !out.hasRev {
		return least, true
	}
	if out.rev < least {
		return 0, false
	}
	return out.rev, true
}

// put: a put (with in.lease, attached to that lease; without, to none) or a txn's put.
func (s *kvState) put(in input, out output) (*kvState, bool) {
	var leaseKnown bool
	if in.lease != "" {
		var le leaseEntry
		le, leaseKnown = s.lookupLease(in.lease)
		if leaseKnown && !le.exists {
			return nil, false // etcd refuses a put with a lease that does not exist
		}
	}
	rev, ok := s.next(out, 1)
	if !ok {
		return nil, false
	}
	e := entry{exists: true, value: in.value, create: rev, mod: rev, version: 1, lease: in.lease}
	if old, known := s.lookup(in.key); known && old.exists {
		e.create = old.create
		e.version = old.version + 1
	}
	n := s.at(rev)
	if in.lease != "" && !leaseKnown {
		n.setLease(in.lease, true) // a lease of the restored backup: it exists
	}
	n.change(in.key, e)
	return n, true
}

// namedRevs: what the pruning rules (order) know of an era's operations: the revisions they
// name (sorted, once each), how many name each revision, and how many certainly made each (a
// put or a succeeded txn naming it: it moved the store from below that revision to it).
type namedRevs struct {
	all   []int64
	count map[int64]int
	made  map[int64]int
	// rankReads: reads carry their rank (not in an era that started from a restored backup,
	// where a read may be a key's first sight, which is not nothing).
	rankReads bool
}

// certainlyMakes: the operation is a put or succeeded txn naming its revision.
func certainlyMakes(in input, out output) bool {
	if out.fate == maybe || !out.hasRev {
		return false
	}
	return in.kind == opPut || (in.kind == opTxn && out.hasSucceeded && out.succeeded)
}

// order refuses at once a step of (in, out) from s to n that no linearization can continue,
// and keeps the counts it needs in n. It changes no verdict; it spares porcupine, which tries
// operations in call order and notices a stranded operation only when its search reaches that
// operation's return, searches exponential in the operations in flight at once. The rules
// follow from the model: the revision never goes back, and an operation naming revision q
// needs the store at or below q (a put or succeeded txn: below q) and leaves it at q. So an
// operation naming a revision above s's is not placed yet (placed, it would have left the
// store at its revision or above), and a step to a higher revision strands:
//   - an operation naming a revision above s's and below the new one;
//   - another put or succeeded txn naming the new revision;
//   - an operation naming s's revision not placed yet (all of them are placed while the
//     store is at that revision, so counting them tells).
//
// And reads naming one revision are placed in the order of their return times (rank): they
// change nothing, so in any linearization one that returned later can be moved to just after
// one that returned earlier (everything between them is at that revision and changes no key).
// Not in an era that started from a restored backup: there a read may be a key's first sight,
// which sets what the key held.
// Without that, porcupine would try every subset of a burst of reads answered at one
// revision.
func (s *kvState) order(in input, out output, n *kvState) bool {
	named := s.named
	if named == nil {
		return true
	}
	if n.rev > s.rev {
		all := named.all
		i := sort.Search(len(all), func(i int) bool { return all[i] > s.rev })
		if i < len(all) && all[i] < n.rev {
			return false
		}
		others := named.made[n.rev]
		if certainlyMakes(in, out) && out.rev == n.rev {
			others-- // itself
		}
		if others > 0 || s.placedAt < named.count[s.rev] {
			return false
		}
		n.placedAt, n.readsAt = 0, 0
	}
	if out.fate == maybe || !out.hasRev {
		return true // it names no revision
	}
	if isRead(in.kind) && named.rankReads {
		if out.rank != n.readsAt {
			return false
		}
		n.readsAt++
	}
	n.placedAt++
	return true
}

// apply steps one operation that took effect. false: the response cannot come from s.
func (s *kvState) apply(in input, out output) (*kvState, bool) {
	n, ok := s.applyModel(in, out)
	if !ok {
		return nil, false
	}
	if n == s {
		c := *s
		n = &c
	}
	if !s.order(in, out, n) {
		return nil, false
	}
	return n, true
}

// applyModel is etcd's model proper.
func (s *kvState) applyModel(in input, out output) (*kvState, bool) {
	switch in.kind {
	case opGet:
		if out.rev < s.rev {
			return nil, false // a read never sees the revision go back
		}
		if in.atRev != 0 {
			return s.getAt(in, out)
		}
		e, known := s.lookup(in.key)
		if !known {
			// The first sight of a key of a restored backup: it held what was read.
			seen := entry{exists: out.found, value: out.value}
			return s.with(out.rev, in.key, &seen), true
		}
		if e.exists != out.found || (e.exists && e.value != out.value) {
			return nil, false
		}
		return s.with(out.rev, in.key, nil), true
	case opRange:
		return s.rangeRead(in, out)
	case opLeaseGrant:
		if le, known := s.lookupLease(in.lease); known && le.exists {
			return nil, false // granting a lease that exists cannot succeed
		}
		rev, ok := s.next(out, 0)
		if !ok {
			return nil, false
		}
		n := s.at(rev)
		n.setLease(in.lease, true)
		return n, true
	case opLeaseRevoke:
		le, known := s.lookupLease(in.lease)
		if known && !le.exists {
			return nil, false // etcdserver: requested lease not found
		}
		// Every key attached is deleted at one new revision; none attached, none. In an era
		// that started unknown, a lease of the backup may have keys nobody has seen: the
		// revision may move anyway, which a known revision allows (next), and an unknown one
		// is taken at its least, as for other writes.
		var changes int64
		if len(le.keys) > 0 {
			changes = 1
		}
		rev, ok := s.next(out, changes)
		if !ok {
			return nil, false
		}
		n := s.at(rev)
		n.setLease(in.lease, false)
		for _, k := range le.keys {
			n.change(k, entry{exists: false})
		}
		return n, true
	case opPut:
		return s.put(in, out)
	case opDelete:
		e, known := s.lookup(in.key)
		if known && !e.exists {
			rev, ok := s.next(out, 0) // deleting nothing changes nothing
			if !ok {
				return nil, false
			}
			return s.with(rev, in.key, nil), true
		}
		rev, ok := s.next(out, 1)
		if !ok {
			return nil, false
		}
		n := s.at(rev)
		n.change(in.key, entry{exists: false})
		return n, true
	case opTxn:
		e, known := s.lookup(in.key)
		var holds bool
		if known {
			holds = compareHolds(in, e)
		} else {
			// A key of a restored backup, not seen yet: the response says whether the
			// compare held; without one, the least effect (none) is as good as any, since
			// the key stays unknown.
			holds = out.hasSucceeded && out.succeeded
		}
		if out.hasSucceeded && out.succeeded != holds {
			return nil, false
		}
		if holds {
			return s.put(in, out)
		}
		// The failure branch's read sees the key as it is.
		if known && out.elseKnown && (e.exists != out.elseFound || (e.exists && e.value != out.elseValue)) {
			return nil, false
		}
		rev, ok := s.next(out, 0)
		if !ok {
			return nil, false
		}
		return s.with(rev, in.key, nil), true
	case opWrite:
		// Another write: it touches none of the history's keys, and may or may not have
		// advanced the revision.
		rev, ok := s.next(out, 0)
		if !ok {
			return nil, false
		}
		return s.with(rev, in.key, nil), true
	}
	panic("unknown operation kind")
}

// getAt: a get at revision in.atRev sees the key as its last change at or before that
// revision left it (none: absent, in an era that started empty; in one that started unknown,
// anything, and what it found defines nothing). It cannot read past its header's revision.
func (s *kvState) getAt(in input, out output) (*kvState, bool) {
	if in.atRev > out.rev {
		return nil, false // etcd refuses a future revision
	}
	if e, known := s.pastValue(in.key, in.atRev); known {
		if e.exists != out.found || (e.exists && e.value != out.value) {
			return nil, false
		}
	}
	return s.at(out.rev), true
}

// rangeRead: a range sees exactly the keys in it, with their values; the first sight of a key
// of a restored backup (found or not) is what the backup held. A range at a revision sees them
// as they were then (as getAt, for each key).
func (s *kvState) rangeRead(in input, out output) (*kvState, bool) {
	if out.badKvs || out.rev < s.rev {
		return nil, false
	}
	if in.atRev != 0 {
		if in.atRev > out.rev {
			return nil, false
		}
		j := 0
		for _, k := range in.rangeKeys {
			var seen entry
			if j < len(out.kvs) && out.kvs[j].key == k {
				seen = entry{exists: true, value: out.kvs[j].value}
				j++
			}
			e, known := s.pastValue(k, in.atRev)
			if known && (e.exists != seen.exists || (e.exists && e.value != seen.value)) {
				return nil, false
			}
		}
		if j != len(out.kvs) {
			return nil, false
		}
		return s.at(out.rev), true
	}
	var n *kvState // a copy, once a key is seen for the first time
	j := 0
	for _, k := range in.rangeKeys {
		var seen entry
		if j < len(out.kvs) && out.kvs[j].key == k {
			seen = entry{exists: true, value: out.kvs[j].value}
			j++
		}
		e, known := s.lookup(k)
		if !known {
			if n == nil {
				n = s.at(out.rev)
			}
			n.setKey(k, seen)
			continue
		}
		if e.exists != seen.exists || (e.exists && e.value != seen.value) {
			return nil, false
		}
	}
	if j != len(out.kvs) {
		return nil, false // a key found that is not in rangeKeys (readHistory puts them all in)
	}
	if n == nil {
		n = s.at(out.rev)
	}
	return n, true
}

// compareHolds: whether a txn's compare holds for the key's entry (e.exists false: absent,
// whose version and revisions are 0; a value compare on it is false).
func compareHolds(in input, e entry) bool {
	if in.target == targetValue {
		if in.expectAbsent {
			switch in.result {
			case "=":
				return !e.exists
			case "!=":
				return e.exists
			}
			return false
		}
		if !e.exists {
			return false
		}
		if e.value == in.expect {
			return in.result == "="
		}
		return in.result == "!="
	}
	var figure int64
	if e.exists {
		switch in.target {
		case targetVersion:
			figure = e.version
		case targetCreate:
			figure = e.create
		case targetMod:
			figure = e.mod
		}
	}
	switch in.result {
	case "=":
		return figure == in.number
	case "!=":
		return figure != in.number
	case ">":
		return figure > in.number
	case "<":
		return figure < in.number
	}
	return false
}

// step returns every state the operation may lead to from s.
func step(st, inI, outI interface{}) []interface{} {
	s := st.(*kvState)
	in := inI.(input)
	out := outI.(output)
	if isRead(in.kind) && out.fate != returned {
		panic("a failed read is left out of the history")
	}
	next, ok := s.apply(in, out)
	if out.fate != maybe {
		if !ok {
			return nil
		}
		return []interface{}{next}
	}
	// Maybe applied: not applied (s), or applied (at the least revision it can have: the
	// client saw none).
	states := []interface{}{s}
	if ok && !next.equal(s) {
		states = append(states, next)
	}
	return states
}

// newModel: etcd's model for one era; named: the revisions its operations name, sorted (nil:
// no pruning, see order).
func newModel(unknownStart bool, named *namedRevs, tracked map[string]bool) porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Init: func() []interface{} {
			return []interface{}{&kvState{unknownStart: unknownStart, named: named, tracked: tracked}}
		},
		Step: step,
		Equal: func(a, b interface{}) bool {
			return a.(*kvState).equal(b.(*kvState))
		},
		Hash: func(s interface{}) uint64 {
			return s.(*kvState).hash()
		},
		DescribeOperation: describeOperation,
		DescribeState: func(st interface{}) string {
			s := st.(*kvState)
			entries := map[string]entry{}
			keys := make([]string, 0, s.keys.len())
			s.keys.each(func(k string, e entry) {
				keys = append(keys, k)
				entries[k] = e
			})
			sort.Strings(keys)
			var b strings.Builder
			fmt.Fprintf(&b, "rev %d", s.rev)
			for _, k := range keys {
				e := entries[k]
				switch {
				case !e.exists:
					fmt.Fprintf(&b, ", %s absent", k)
				case e.lease != "":
					fmt.Fprintf(&b, ", %s=%s@%d (lease %s)", k, e.value, e.mod, e.lease)
				default:
					fmt.Fprintf(&b, ", %s=%s@%d", k, e.value, e.mod)
				}
			}
			var leases []string
			s.leases.each(func(id string, le leaseEntry) {
				if le.exists {
					leases = append(leases, id)
				} else {
					leases = append(leases, id+" revoked")
				}
			})
			sort.Strings(leases)
			for _, l := range leases {
				fmt.Fprintf(&b, ", lease %s", l)
			}
			var histories []string
			s.hist.each(func(k string, h keyHistory) {
				var changes []string
				for v := h.last; v != nil; v = v.prev {
					if v.exists {
						changes = append(changes, fmt.Sprintf("%s@%d", v.value, v.rev))
					} else {
						changes = append(changes, fmt.Sprintf("deleted@%d", v.rev))
					}
				}
				for i, j := 0, len(changes)-1; i < j; i, j = i+1, j-1 {
					changes[i], changes[j] = changes[j], changes[i]
				}
				histories = append(histories, fmt.Sprintf(", %s was %s", k, strings.Join(changes, " ")))
			})
			sort.Strings(histories)
			for _, h := range histories {
				b.WriteString(h)
			}
			return b.String()
		},
	}
	return nm.ToModel()
}

func describeOperation(inI, outI interface{}) string {
	in := inI.(input)
	out := outI.(output)
	var req string
	switch in.kind {
	case opPut:
		req = fmt.Sprintf("put %s=%s", in.key, in.value)
		if in.lease != "" {
			req += " with lease " + in.lease
		}
	case opGet:
		req = fmt.Sprintf("get %s", in.key)
	case opRange:
		switch {
		case in.prefix:
			req = fmt.Sprintf("range %s*", in.key)
		case in.rangeEnd == "\x00":
			req = fmt.Sprintf("range %s..", in.key)
		default:
			req = fmt.Sprintf("range [%s, %s)", in.key, in.rangeEnd)
		}
	case opLeaseGrant:
		req = "grant lease " + in.lease
	case opLeaseRevoke:
		req = "revoke lease " + in.lease
	case opDelete:
		req = fmt.Sprintf("delete %s", in.key)
	case opTxn:
		var cmp string
		switch in.target {
		case targetVersion:
			cmp = fmt.Sprintf("%s.version %s %d", in.key, in.result, in.number)
		case targetCreate:
			cmp = fmt.Sprintf("%s.create_revision %s %d", in.key, in.result, in.number)
		case targetMod:
			cmp = fmt.Sprintf("%s.mod_revision %s %d", in.key, in.result, in.number)
		default:
			if in.expectAbsent {
				cmp = fmt.Sprintf("%s absent", in.key)
			} else {
				cmp = fmt.Sprintf("%s %s %s", in.key, in.result, in.expect)
			}
		}
		req = fmt.Sprintf("txn if %s then put %s", cmp, in.value)
		if in.elseGet {
			req += " else get"
		}
	case opWrite:
		req = "another write"
	}
	if in.atRev != 0 {
		req += fmt.Sprintf(" at revision %d", in.atRev)
	}
	var resp string
	switch out.fate {
	case maybe:
		resp = "maybe applied"
	case applied:
		resp = "applied"
	default:
		resp = "ok"
	}
	if in.kind == opGet {
		if out.found {
			resp = out.value
		} else {
			resp = "(not found)"
		}
	}
	if in.kind == opRange {
		parts := make([]string, len(out.kvs))
		for i, p := range out.kvs {
			parts[i] = p.key + "=" + p.value
		}
		resp = "[" + strings.Join(parts, " ") + "]"
	}
	if in.kind == opTxn && out.hasSucceeded {
		resp = fmt.Sprintf("%s succeeded=%v", resp, out.succeeded)
	}
	if out.hasRev {
		resp = fmt.Sprintf("%s @%d", resp, out.rev)
	}
	return req + " -> " + resp
}
