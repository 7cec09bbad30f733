package main

// etcd's key-value model for porcupine, written from etcdlab's docs (docs/history-format.md,
// docs/checkers.md), not translated from the Rust checker: the point is a second opinion.
//
// One deterministic state is the store's revision and, per key, its value, create and mod
// revision and version. Revisions are global, so the history is not partitioned by key.
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
)

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
	// get: its place among the reads naming the same revision, by return time (see order).
	rank int
}

// entry is what the state knows of one key: it exists with a value and revisions, or it is
// known not to exist (exists false; only kept in a state that started unknown, where a key
// without an entry is unknown rather than absent).
type entry struct {
	exists   bool
	value    string
	create   int64
	mod      int64
	version  int64
	entryKey uint64 // hash of the entry, cached
}

// kvState is one deterministic state. It is never modified once built: a step copies it.
type kvState struct {
	rev  int64
	keys pmap
	// unknownStart: the era started from a restored backup the history does not describe,
	// so a key without an entry is unknown until an operation shows or sets it.
	unknownStart bool
	keysHash     uint64
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
	}
	k := h.Sum64()
	if !e.exists {
		return mix(k ^ 0xdead)
	}
	return mix(k ^ mix(uint64(e.mod)) ^ mix(uint64(e.create)<<1) ^ mix(uint64(e.version)<<2))
}

func (s *kvState) hash() uint64 {
	h := s.keysHash ^ mix(uint64(s.rev)^0x5bd1e995) ^ mix(uint64(s.placedAt)<<32|uint64(s.readsAt))
	if s.unknownStart {
		h = ^h
	}
	return h
}

func (s *kvState) equal(o *kvState) bool {
	return s.rev == o.rev && s.keysHash == o.keysHash && s.unknownStart == o.unknownStart &&
		s.placedAt == o.placedAt && s.readsAt == o.readsAt && equalNodes(s.keys.root, o.keys.root)
}

// lookup: the key's entry and whether the state knows it (false: unknown).
func (s *kvState) lookup(key string) (entry, bool) {
	e, ok := s.keys.get(key)
	if ok {
		return e, true
	}
	if s.unknownStart {
		return entry{}, false
	}
	return entry{}, true // absent
}

// with returns a copy of s at revision rev, with key's entry set to e (nil: unchanged).
func (s *kvState) with(rev int64, key string, e *entry) *kvState {
	n := &kvState{rev: rev, keys: s.keys, unknownStart: s.unknownStart, keysHash: s.keysHash,
		named: s.named, placedAt: s.placedAt, readsAt: s.readsAt}
	if e == nil {
		return n
	}
	if old, ok := s.keys.get(key); ok {
		n.keysHash ^= old.entryKey
	}
	if e.exists || s.unknownStart {
		ne := *e
		ne.entryKey = hashEntry(key, ne)
		n.keys = s.keys.set(key, &ne)
		n.keysHash ^= ne.entryKey
	} else {
		// Absent keys get no entry in a state that started empty (no entry means absent).
		n.keys = s.keys.set(key, nil)
	}
	return n
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

func (s *kvState) put(in input, out output) (*kvState, bool) {
	rev, ok := s.next(out, 1)
	if !ok {
		return nil, false
	}
	e := entry{exists: true, value: in.value, create: rev, mod: rev, version: 1}
	if old, known := s.lookup(in.key); known && old.exists {
		e.create = old.create
		e.version = old.version + 1
	}
	return s.with(rev, in.key, &e), true
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
	if in.kind == opGet && named.rankReads {
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
		return s.with(rev, in.key, &entry{exists: false}), true
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
		// advanced the revision (a lease grant does not).
		rev, ok := s.next(out, 0)
		if !ok {
			return nil, false
		}
		return s.with(rev, in.key, nil), true
	}
	panic("unknown operation kind")
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
	if in.kind == opGet && out.fate != returned {
		panic("a failed get is left out of the history")
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
func newModel(unknownStart bool, named *namedRevs) porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Init: func() []interface{} {
			return []interface{}{&kvState{unknownStart: unknownStart, named: named}}
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
				if e.exists {
					fmt.Fprintf(&b, ", %s=%s@%d", k, e.value, e.mod)
				} else {
					fmt.Fprintf(&b, ", %s absent", k)
				}
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
	case opGet:
		req = fmt.Sprintf("get %s", in.key)
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
	if in.kind == opTxn && out.hasSucceeded {
		resp = fmt.Sprintf("%s succeeded=%v", resp, out.succeeded)
	}
	if out.hasRev {
		resp = fmt.Sprintf("%s @%d", resp, out.rev)
	}
	return req + " -> " + resp
}
