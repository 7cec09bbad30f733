package main

// A persistent map from a string to a value (a key's entry, or a lease's): a trie of fixed depth
// over the string's hash, 16 children a node, whose updates copy only the path to the key.
// porcupine keeps every state it visits (its cache), so a state that copied the whole map at
// every step would need memory in the number of keys times the number of operations (gigabytes
// for a run's history).

import "hash/fnv"

const (
	trieBits  = 4
	trieWidth = 1 << trieBits
	trieDepth = 5 // 20 bits of the hash: buckets of one key, for up to tens of thousands
)

// pmapValue: what a pmap holds; same tells two values apart for equalNodes.
type pmapValue[V any] interface {
	same(V) bool
}

type trieNode[V pmapValue[V]] struct {
	children [trieWidth]*trieNode[V]
	bucket   []bucketItem[V] // at the last level only
	size     int
}

type bucketItem[V pmapValue[V]] struct {
	key string
	e   V
}

type pmap[V pmapValue[V]] struct {
	root *trieNode[V]
}

func keyHash(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	return mix(h.Sum64())
}

func (m pmap[V]) len() int {
	if m.root == nil {
		return 0
	}
	return m.root.size
}

func (m pmap[V]) get(key string) (V, bool) {
	var zero V
	h := keyHash(key)
	n := m.root
	for d := 0; d < trieDepth && n != nil; d++ {
		n = n.children[(h>>(d*trieBits))&(trieWidth-1)]
	}
	if n == nil {
		return zero, false
	}
	for _, it := range n.bucket {
		if it.key == key {
			return it.e, true
		}
	}
	return zero, false
}

// set returns a map with key set to e (e nil: removed), sharing all but the path to it.
func (m pmap[V]) set(key string, e *V) pmap[V] {
	return pmap[V]{root: setIn(m.root, keyHash(key), 0, key, e)}
}

func setIn[V pmapValue[V]](n *trieNode[V], h uint64, depth int, key string, e *V) *trieNode[V] {
	c := &trieNode[V]{}
	if n != nil {
		*c = *n
	}
	if depth == trieDepth {
		c.bucket = make([]bucketItem[V], 0, len(c.bucket)+1)
		if n != nil {
			for _, it := range n.bucket {
				if it.key != key {
					c.bucket = append(c.bucket, it)
				}
			}
		}
		if e != nil {
			c.bucket = append(c.bucket, bucketItem[V]{key, *e})
		}
		c.size = len(c.bucket)
		return c
	}
	i := (h >> (depth * trieBits)) & (trieWidth - 1)
	old := c.children[i]
	c.children[i] = setIn(old, h, depth+1, key, e)
	c.size += c.children[i].size
	if old != nil {
		c.size -= old.size
	}
	return c
}

func (m pmap[V]) each(f func(key string, e V)) {
	var walk func(n *trieNode[V])
	walk = func(n *trieNode[V]) {
		if n == nil {
			return
		}
		for _, it := range n.bucket {
			f(it.key, it.e)
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(m.root)
}

// equalNodes: the same keys with the same values (shared subtrees are equal at once).
func equalNodes[V pmapValue[V]](a, b *trieNode[V]) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil {
		n := a
		if n == nil {
			n = b
		}
		return n.size == 0
	}
	if a.size != b.size || len(a.bucket) != len(b.bucket) {
		return false
	}
	for _, x := range a.bucket {
		found := false
		for _, y := range b.bucket {
			if x.key == y.key {
				found = x.e.same(y.e)
				break
			}
		}
		if !found {
			return false
		}
	}
	for i := range a.children {
		if !equalNodes(a.children[i], b.children[i]) {
			return false
		}
	}
	return true
}
