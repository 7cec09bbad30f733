// Command porcupinecheck checks etcdlab histories (history.jsonl, see docs/history-format.md)
// for linearizability with porcupine, the checker etcd's robustness tests use, against an
// etcd key-value model written for it (model.go). It is a second opinion on `etcdlab check`.
//
//	porcupinecheck [-timeout 60s] [-tighten=false] [-prune=false] [-visualize DIR] HISTORY.jsonl...
//
// One verdict per file on stdout: `pass`, `fail` or `undecided` (porcupine's timeout ran out).
// Exit codes: 0 every file passes, 3 a file fails, 4 none fails but one is undecided, 2 a file
// cannot be read.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// record is one line of history.jsonl.
type record struct {
	ID          uint64  `json:"id"`
	Client      string  `json:"client"`
	Member      *string `json:"member"`
	CallNs      *uint64 `json:"call_ns"`
	ReturnNs    *uint64 `json:"return_ns"`
	Op          string  `json:"op"`
	Key         *string `json:"key"`
	Value       *string `json:"value"`
	ExpectValue *string `json:"expect_value"`
	// A txn compares one target (none: the key must not exist) with compare_result.
	ExpectVersion        *int64  `json:"expect_version"`
	ExpectCreateRevision *int64  `json:"expect_create_revision"`
	ExpectModRevision    *int64  `json:"expect_mod_revision"`
	CompareResult        *string `json:"compare_result"`
	// A txn whose failure branch reads the key, and what it found.
	ElseGet      bool    `json:"else_get"`
	ElseValue    *string `json:"else_value"`
	Succeeded    *bool   `json:"succeeded"`
	Serializable bool    `json:"serializable"`
	Revision     *int64  `json:"revision"`
	Error        *string `json:"error"`
	Era          uint32  `json:"era"`
	Applied      *bool   `json:"applied"`
	// A range's end (or Prefix) and what it found; a put's lease, a lease operation's.
	RangeEnd *string    `json:"range_end"`
	Kvs      []kvRecord `json:"kvs"`
	Lease    *int64     `json:"lease"`
	// A get's or a range's: the revision it read at (etcd's WithRev; absent: the latest).
	AtRevision *int64 `json:"at_revision"`
	// A range's or a watch's: every key under Key. The rest are a watch's own fields; a
	// watch is not a key-value operation (see convert).
	Prefix        bool            `json:"prefix"`
	StartRevision *int64          `json:"start_revision"`
	PrevKv        bool            `json:"prev_kv"`
	Responses     json.RawMessage `json:"responses"`
}

// kvRecord is one key a range found.
type kvRecord struct {
	Key   *string `json:"key"`
	Value *string `json:"value"`
}

// definiteErrors: errors after which etcd has certainly not applied a write (refused before it
// was proposed, or by the applier); docs/history-format.md lists them. Every other error
// leaves a write maybe applied.
var definiteErrors = []string{
	"etcdserver: mvcc: database space exceeded",
	"mvcc: database space exceeded",
	"connection refused",
	"etcdserver: too many requests",
	"etcdserver: request is too large",
	"etcdserver: not capable",
	"etcdserver: no leader",
	"raft proposal dropped",
	"etcdserver: requested lease not found",
}

func isDefinite(err string) bool {
	for _, d := range definiteErrors {
		if strings.Contains(err, d) {
			return true
		}
	}
	return false
}

// infinity: the return time of an operation whose effect may come at any time after its call.
const infinity = math.MaxInt64

// history is one era's operations, ready for porcupine.
type history struct {
	era          uint32
	ops          []porcupine.Operation
	maybeApplied int
	// tracked: the keys whose past versions the model keeps (nil: none; see trackedKeys).
	tracked map[string]bool
}

func readHistory(path string) ([]history, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	eras := map[uint32]*history{}
	clients := map[string]int{}
	lines := 0
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		lines++
		var r record
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, 0, fmt.Errorf("line %d: %v", line, err)
		}
		in, out, keep, err := convert(&r)
		if err != nil {
			return nil, 0, fmt.Errorf("line %d: operation %d: %v", line, r.ID, err)
		}
		if !keep {
			continue
		}
		h := eras[r.Era]
		if h == nil {
			h = &history{era: r.Era}
			eras[r.Era] = h
		}
		ret := int64(infinity)
		if out.fate == returned {
			ret = int64(*r.ReturnNs)
		}
		if out.fate == maybe {
			h.maybeApplied++
		}
		id, ok := clients[r.Client]
		if !ok {
			id = len(clients)
			clients[r.Client] = id
		}
		h.ops = append(h.ops, porcupine.Operation{
			ClientId: id,
			Input:    in,
			Call:     int64(*r.CallNs),
			Output:   out,
			Return:   ret,
			Metadata: r.ID,
		})
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	var out []history
	for _, h := range eras {
		rangeKeys(h.ops)
		h.tracked = trackedKeys(h.ops)
		out = append(out, *h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].era < out[j].era })
	return out, lines, nil
}

// rangeKeys gives each range of an era's operations the keys they name (a single-key
// operation's key, a range's keys found) that fall in its range, sorted. Keys no operation
// names are never read nor written, so a range's check need not look at them.
func rangeKeys(ops []porcupine.Operation) {
	seen := map[string]bool{}
	var all []string
	name := func(k string) {
		if !seen[k] {
			seen[k] = true
			all = append(all, k)
		}
	}
	for _, op := range ops {
		in, out := op.Input.(input), op.Output.(output)
		switch in.kind {
		case opPut, opGet, opDelete, opTxn:
			name(in.key)
		case opRange:
			for _, p := range out.kvs {
				name(p.key)
			}
		}
	}
	sort.Strings(all)
	for i := range ops {
		in := ops[i].Input.(input)
		if in.kind != opRange {
			continue
		}
		lo := sort.SearchStrings(all, in.key)
		hi := len(all)
		if in.rangeEnd != "\x00" {
			hi = sort.SearchStrings(all, in.rangeEnd)
		}
		if hi < lo {
			hi = lo // an end before the start: an empty range
		}
		in.rangeKeys = all[lo:hi:hi]
		ops[i].Input = in
	}
}

// trackedKeys: the keys a read at a revision looks at (a get's key, a range's rangeKeys), whose
// past versions the model must keep; nil when no read of the era has `at_revision`, so a
// history without one is checked exactly as before (and its states stay small). The versions
// of other keys are never looked at, so not keeping them changes no verdict.
func trackedKeys(ops []porcupine.Operation) map[string]bool {
	var tracked map[string]bool
	for _, op := range ops {
		in := op.Input.(input)
		if in.atRev == 0 {
			continue
		}
		if tracked == nil {
			tracked = map[string]bool{}
		}
		switch in.kind {
		case opGet:
			tracked[in.key] = true
		case opRange:
			for _, k := range in.rangeKeys {
				tracked[k] = true
			}
		}
	}
	return tracked
}

// inRange: whether key k falls in [from, end) ("\x00": no end), byte by byte.
func inRange(k, from, end string) bool {
	return k >= from && (end == "\x00" || k < end)
}

// prefixRangeEnd is etcd's GetPrefixRangeEnd: the end of the range of every key starting with
// prefix ("\x00", every key from prefix on, when there is no such end).
func prefixRangeEnd(prefix string) string {
	end := []byte(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return string(end[:i+1])
		}
	}
	return "\x00"
}

// convert turns a record into the model's input and output; keep false: the operation shows
// nothing to check (a failed or serializable read, a write that was certainly not applied).
func convert(r *record) (in input, out output, keep bool, err error) {
	switch r.Op {
	case "put":
		in.kind = opPut
	case "get":
		in.kind = opGet
	case "range":
		in.kind = opRange
	case "lease_grant":
		in.kind = opLeaseGrant
	case "lease_revoke":
		in.kind = opLeaseRevoke
	case "delete":
		in.kind = opDelete
	case "txn":
		in.kind = opTxn
	case "write":
		in.kind = opWrite
	case "watch":
		// left out below, once `at_revision` is refused on it
	default:
		return in, out, false, fmt.Errorf("unknown op %q", r.Op)
	}
	if r.AtRevision != nil {
		if r.Op != "get" && r.Op != "range" {
			return in, out, false, fmt.Errorf("only a get or a range has `at_revision`")
		}
		if *r.AtRevision <= 0 {
			return in, out, false, fmt.Errorf("`at_revision` must be positive")
		}
		in.atRev = *r.AtRevision
	}
	if r.Op == "watch" {
		return in, out, false, nil // a watch stream: the lab's watch checker judges it
	}
	if r.CallNs == nil {
		return in, out, false, fmt.Errorf("`call_ns` is required")
	}
	isLeaseOp := in.kind == opLeaseGrant || in.kind == opLeaseRevoke
	if in.kind != opWrite && !isLeaseOp {
		if r.Key == nil {
			return in, out, false, fmt.Errorf("`key` is required")
		}
		in.key = *r.Key
	}
	if isLeaseOp {
		if r.Lease == nil {
			return in, out, false, fmt.Errorf("`lease` is required")
		}
		in.lease = strconv.FormatInt(*r.Lease, 10)
	}
	if in.kind == opPut && r.Lease != nil && *r.Lease != 0 {
		in.lease = strconv.FormatInt(*r.Lease, 10) // lease 0: none, as in etcd
	}
	if in.kind == opRange {
		if (r.RangeEnd != nil) == r.Prefix {
			return in, out, false, fmt.Errorf("a range needs one of `range_end` and `prefix`")
		}
		in.prefix = r.Prefix
		if r.Prefix {
			in.rangeEnd = prefixRangeEnd(in.key)
		} else {
			in.rangeEnd = *r.RangeEnd
		}
	} else if len(r.Kvs) > 0 {
		return in, out, false, fmt.Errorf("only a range has `kvs`")
	} else if r.RangeEnd != nil {
		return in, out, false, fmt.Errorf("only a range has `range_end`")
	} else if r.Prefix {
		// (a watch returned above)
		return in, out, false, fmt.Errorf("only a range or a watch has `prefix`")
	}
	if r.Lease != nil && in.kind != opPut && !isLeaseOp {
		return in, out, false, fmt.Errorf("only a put, a lease grant or a lease revoke has `lease`")
	}
	if isLeaseOp && *r.Lease == 0 {
		return in, out, false, fmt.Errorf("lease 0 means no lease; a lease operation names one")
	}
	if in.kind == opRange && r.Serializable {
		return in, out, false, fmt.Errorf("serializable ranges are not checked yet")
	}
	if in.kind == opPut || in.kind == opTxn {
		if r.Value == nil {
			return in, out, false, fmt.Errorf("`value` is required")
		}
		in.value = *r.Value
	}
	if in.kind == opTxn {
		if err := convertCompare(r, &in); err != nil {
			return in, out, false, err
		}
	}
	if r.ReturnNs != nil && *r.ReturnNs < *r.CallNs {
		return in, out, false, fmt.Errorf("returns before its call")
	}
	if r.Revision != nil {
		out.hasRev = true
		out.rev = *r.Revision
	}
	ok := r.Error == nil && r.ReturnNs != nil
	switch {
	case ok:
		if !out.hasRev {
			return in, out, false, fmt.Errorf("a successful operation needs its `revision`")
		}
		out.fate = returned
		if in.kind == opGet {
			if r.Value != nil {
				out.found = true
				out.value = *r.Value
			}
		}
		if in.kind == opRange {
			if err := convertKvs(r, in, &out); err != nil {
				return in, out, false, err
			}
		}
		if isRead(in.kind) && r.Serializable {
			return in, out, false, nil // answered from one member's state: not checked
		}
		if in.kind == opTxn {
			if r.Succeeded == nil {
				return in, out, false, fmt.Errorf("a successful txn needs `succeeded`")
			}
			out.hasSucceeded = true
			out.succeeded = *r.Succeeded
			if r.ElseGet && !out.succeeded {
				out.elseKnown = true
				out.elseFound = r.ElseValue != nil
				if r.ElseValue != nil {
					out.elseValue = *r.ElseValue
				}
			}
		}
		return in, out, true, nil
	case isRead(in.kind):
		return in, out, false, nil // a failed read shows nothing
	case r.Applied != nil && !*r.Applied:
		return in, out, false, nil // the log says it was never applied
	case r.Applied != nil && *r.Applied:
		out.fate = applied // at its revision, if given
	case r.Error != nil && isDefinite(*r.Error):
		return in, out, false, nil // refused before it could be applied
	default:
		out.fate = maybe
		out.hasRev = false // the client saw no revision
	}
	if in.kind == opTxn && r.Succeeded != nil {
		out.hasSucceeded = true
		out.succeeded = *r.Succeeded
	}
	return in, out, true, nil
}

// convertKvs reads what a range found, sorted by key; a key outside the range or found twice
// is an answer no state gives (out.badKvs), not an unreadable line.
func convertKvs(r *record, in input, out *output) error {
	for _, p := range r.Kvs {
		if p.Key == nil || p.Value == nil {
			return fmt.Errorf("each of `kvs` needs `key` and `value`")
		}
		out.kvs = append(out.kvs, kv{key: *p.Key, value: *p.Value})
		if !inRange(*p.Key, in.key, in.rangeEnd) {
			out.badKvs = true
		}
	}
	sort.Slice(out.kvs, func(i, j int) bool { return out.kvs[i].key < out.kvs[j].key })
	for i := 1; i < len(out.kvs); i++ {
		if out.kvs[i].key == out.kvs[i-1].key {
			out.badKvs = true
		}
	}
	return nil
}

// convertCompare reads a txn's compare: one target (expect_value, expect_version,
// expect_create_revision or expect_mod_revision; none: the key must not exist) and its
// operator.
func convertCompare(r *record, in *input) error {
	in.result = "="
	if r.CompareResult != nil {
		in.result = *r.CompareResult
	}
	switch in.result {
	case "=", "!=", ">", "<":
	default:
		return fmt.Errorf("unknown compare_result %q", in.result)
	}
	targets := 0
	for _, n := range []*int64{r.ExpectVersion, r.ExpectCreateRevision, r.ExpectModRevision} {
		if n != nil {
			targets++
		}
	}
	if r.ExpectValue != nil {
		targets++
	}
	if targets > 1 {
		return fmt.Errorf("a txn compares one target")
	}
	switch {
	case r.ExpectVersion != nil:
		in.target, in.number = targetVersion, *r.ExpectVersion
	case r.ExpectCreateRevision != nil:
		in.target, in.number = targetCreate, *r.ExpectCreateRevision
	case r.ExpectModRevision != nil:
		in.target, in.number = targetMod, *r.ExpectModRevision
	case r.ExpectValue != nil:
		in.expect = *r.ExpectValue
	default:
		in.expectAbsent = true
	}
	if in.target == targetValue && (in.result == ">" || in.result == "<") {
		return fmt.Errorf("`>` and `<` compare a version or a revision, not a value")
	}
	if r.ElseValue != nil && !r.ElseGet {
		return fmt.Errorf("`else_value` without `else_get`")
	}
	in.elseGet = r.ElseGet
	return nil
}

func main() {
	timeout := flag.Duration("timeout", 60*time.Second,
		"give up on a history (verdict undecided) after this long; 0: never")
	tightenFlag := flag.Bool("tighten", true,
		"narrow the operations' intervals with their revisions first (the verdict is the same; see tighten.go)")
	pruneFlag := flag.Bool("prune", true,
		"refuse at once steps no linearization can continue (the verdict is the same; see order in model.go)")
	visualize := flag.String("visualize", "",
		"write porcupine's HTML visualization of each failing history into this folder")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: porcupinecheck [-timeout 60s] [-tighten=false] [-prune=false] [-visualize DIR] HISTORY.jsonl...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	worst := 0
	rank := map[string]int{"pass": 0, "undecided": 1, "fail": 2}
	for _, path := range flag.Args() {
		verdict, err := checkFile(path, *timeout, *visualize, *tightenFlag, *pruneFlag)
		if err != nil {
			fmt.Fprintf(os.Stderr, "error: %s: %v\n", path, err)
			os.Exit(2)
		}
		if rank[verdict] > worst {
			worst = rank[verdict]
		}
	}
	os.Exit([]int{0, 4, 3}[worst])
}

func checkFile(path string, timeout time.Duration, visualize string, narrow, prune bool) (string, error) {
	eras, lines, err := readHistory(path)
	if err != nil {
		return "", err
	}
	start := time.Now()
	verdict := "pass"
	ops, maybe := 0, 0
	for _, h := range eras {
		ops += len(h.ops)
		maybe += h.maybeApplied
		left := time.Duration(0)
		if timeout > 0 {
			left = timeout - time.Since(start)
			if left <= 0 {
				verdict = "undecided"
				break
			}
		}
		// The first era starts from an empty store; a later one from a restored backup the
		// history does not describe.
		if narrow {
			tighten(h.ops)
		}
		var named *namedRevs
		if prune {
			named = prepare(h.ops, h.era == 0) // after tighten: reads are ranked by the returns porcupine sees
		}
		model := newModel(h.era != 0, named, h.tracked)
		var res porcupine.CheckResult
		if visualize != "" {
			var info porcupine.LinearizationInfo
			res, info = porcupine.CheckOperationsVerbose(model, h.ops, left)
			if res == porcupine.Illegal {
				name := fmt.Sprintf("%s-era%d.html", strings.TrimSuffix(filepath.Base(path), ".jsonl"), h.era)
				out := filepath.Join(visualize, name)
				if err := porcupine.VisualizePath(model, info, out); err != nil {
					fmt.Fprintf(os.Stderr, "warning: cannot write %s: %v\n", out, err)
				} else {
					fmt.Fprintf(os.Stderr, "%s: the failing era drawn: %s\n", path, out)
				}
			}
		} else {
			res = porcupine.CheckOperationsTimeout(model, h.ops, left)
		}
		if res == porcupine.Illegal {
			verdict = "fail"
			fmt.Fprintf(os.Stderr, "%s: era %d is not linearizable\n", path, h.era)
			break
		}
		if res == porcupine.Unknown {
			verdict = "undecided"
			break
		}
	}
	fmt.Printf("%s: %s (%d lines, %d operations checked, %d maybe applied, %d era(s), %.3f s)\n",
		path, verdict, lines, ops, maybe, len(eras), time.Since(start).Seconds())
	return verdict, nil
}
