package main

// A persistent map from key to entry: a trie of fixed depth over the key's hash, 16 children a
// node, whose updates copy only the path to the key. porcupine keeps every state it visits
// (its cache), so a state that copied the whole map at every step would need memory in the
// number of keys times the number of operations (gigabytes for a run's history).

import "hash/fnv"

const (
	trieBits  = 4
	trieWidth = 1 << trieBits
	trieDepth = 5 // 20 bits of the hash: buckets of one key, for up to tens of thousands
)

type trieNode struct {
	children [trieWidth]*trieNode
	bucket   []bucketItem // at the last level only
	size     int
}

type bucketItem struct {
	key string
	e   entry
}

type pmap struct {
	root *trieNode
}

func keyHash(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	return mix(h.Sum64())
}

func (m pmap) len() int {
	if m.root == nil {
		return 0
	}
	return m.root.size
}

func (m pmap) get(key string) (entry, bool) {
	h := keyHash(key)
	n := m.root
	for d := 0; d < trieDepth && n != nil; d++ {
		n = n.children[(h>>(d*trieBits))&(trieWidth-1)]
	}
	if n == nil {
		return entry{}, false
	}
	for _, it := range n.bucket {
		if it.key == key {
			return it.e, true
		}
	}
	return entry{}, false
}

// set returns a map with key set to e (e nil: removed), sharing all but the path to it.
func (m pmap) set(key string, e *entry) pmap {
	return pmap{root: setIn(m.root, keyHash(key), 0, key, e)}
}

func setIn(n *trieNode, h uint64, depth int, key string, e *entry) *trieNode {
	c := &trieNode{}
	if n != nil {
		*c = *n
	}
	if depth == trieDepth {
		c.bucket = make([]bucketItem, 0, len(c.bucket)+1)
		if n != nil {
			for _, it := range n.bucket {
				if it.key != key {
					c.bucket = append(c.bucket, it)
				}
			}
		}
		if e != nil {
			c.bucket = append(c.bucket, bucketItem{key, *e})
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

func (m pmap) each(f func(key string, e entry)) {
	var walk func(n *trieNode)
	walk = func(n *trieNode) {
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

func sameEntry(a, b entry) bool {
	return a.exists == b.exists && a.value == b.value && a.create == b.create &&
		a.mod == b.mod && a.version == b.version
}

// equalNodes: the same keys with the same entries (shared subtrees are equal at once).
func equalNodes(a, b *trieNode) bool {
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
				found = sameEntry(x.e, y.e)
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
