package main

// Tightening the operations' intervals with their revisions, before porcupine searches.
//
// In etcd's model the store's revision never goes back, and an operation that names a
// revision (a response's header, or the revision the cluster's log gave a failed write)
// leaves the store at that revision. So in every linearization an operation naming revision r
// comes before every operation naming a revision above r: its linearization point is after
// the call of every operation naming a lower revision, and before the return of every
// operation naming a higher one. Narrowing each interval to that keeps exactly the same
// linearizations (the verdict does not change) and spares porcupine, which tries operations
// in call order, the orders that place a write ahead of writes with lower revisions only to
// find out much later: without it, a run's history with tens of operations in flight at once
// takes porcupine minutes and gigabytes. -tighten=false turns it off.

import (
	"sort"

	"github.com/anishathalye/porcupine"
)

// claimed is the revision an operation names, if any.
func claimed(op porcupine.Operation) (int64, bool) {
	out := op.Output.(output)
	if out.fate == maybe || !out.hasRev {
		return 0, false
	}
	return out.rev, true
}

// tighten narrows the intervals in place; it returns how many it narrowed. An interval is
// never narrowed to nothing: where the revisions contradict real time (an operation naming a
// lower revision was called after one naming a higher revision returned) it is left at its
// end, and porcupine finds the violation.
func tighten(ops []porcupine.Operation) int {
	type item struct {
		rev int64
		i   int
	}
	var items []item
	for i, op := range ops {
		if r, ok := claimed(op); ok {
			items = append(items, item{r, i})
		}
	}
	sort.Slice(items, func(a, b int) bool { return items[a].rev < items[b].rev })
	n := len(items)
	// The latest call among operations naming a lower revision, the earliest return among
	// those naming a higher one; items of one revision form a group.
	newCall := make([]int64, n)
	newReturn := make([]int64, n)
	latestCall := int64(-1 << 63)
	for a := 0; a < n; {
		b := a
		groupCall := latestCall
		for ; b < n && items[b].rev == items[a].rev; b++ {
			newCall[b] = latestCall
			if c := ops[items[b].i].Call; c > groupCall {
				groupCall = c
			}
		}
		latestCall = groupCall
		a = b
	}
	earliestReturn := int64(infinity)
	for b := n - 1; b >= 0; {
		a := b
		groupReturn := earliestReturn
		for ; a >= 0 && items[a].rev == items[b].rev; a-- {
			newReturn[a] = earliestReturn
			if r := ops[items[a].i].Return; r < groupReturn {
				groupReturn = r
			}
		}
		earliestReturn = groupReturn
		b = a
	}
	narrowed := 0
	for k, it := range items {
		op := &ops[it.i]
		call, ret := op.Call, op.Return
		if newCall[k] > call {
			call = newCall[k]
		}
		if newReturn[k] < ret {
			ret = newReturn[k]
		}
		if call > op.Return {
			call = op.Return
		}
		if ret < call {
			ret = call
		}
		if call != op.Call || ret != op.Return {
			narrowed++
			op.Call, op.Return = call, ret
		}
	}
	return narrowed
}

// prepare returns what the model's pruning rules need to know of the operations (see order
// in model.go), and, if rankReads, ranks the reads naming each revision by return time (then
// id).
func prepare(ops []porcupine.Operation, rankReads bool) *namedRevs {
	n := &namedRevs{count: map[int64]int{}, made: map[int64]int{}, rankReads: rankReads}
	reads := map[int64][]int{}
	for i, op := range ops {
		r, ok := claimed(op)
		if !ok {
			continue
		}
		n.count[r]++
		in, out := op.Input.(input), op.Output.(output)
		if certainlyMakes(in, out) {
			n.made[r]++
		}
		if isRead(in.kind) {
			reads[r] = append(reads[r], i)
		}
	}
	for r := range n.count {
		n.all = append(n.all, r)
	}
	sort.Slice(n.all, func(a, b int) bool { return n.all[a] < n.all[b] })
	if !rankReads {
		return n
	}
	for _, rs := range reads {
		sort.Slice(rs, func(a, b int) bool {
			x, y := ops[rs[a]], ops[rs[b]]
			if x.Return != y.Return {
				return x.Return < y.Return
			}
			return x.Metadata.(uint64) < y.Metadata.(uint64)
		})
		for rank, i := range rs {
			out := ops[i].Output.(output)
			out.rank = rank
			ops[i].Output = out
		}
	}
	return n
}
