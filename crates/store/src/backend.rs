//! A bbolt-like page model of etcd's backend, for what etcd reports about it.
//!
//! Only the `key` bucket is modelled as a B+tree (every other bucket of etcd is small and lives
//! inline in the root page). The tree follows bbolt's node rules:
//! - page 4096 bytes with a 16-byte header; leaf element = 16 + key + value bytes, branch element
//!   = 16 + key bytes; a node takes `ceil(size / 4096)` contiguous pages (overflow pages);
//! - at commit (bbolt `spill`) a dirty node is split only when it has more than 4 elements and
//!   reaches a page; each piece is filled up to `fill x 4096` bytes but keeps at least 2
//!   elements (bbolt `splitIndex`); etcd puts revision keys with `FillPercent = 0.9`;
//! - before that (bbolt `rebalance`) a node that lost elements and is under a quarter page, or
//!   has too few elements, is merged into a sibling;
//! - every written node is copied on write: its old pages are freed, new ones allocated.
//!
//! Pages: allocation takes the lowest run of free contiguous pages (3.4's array freelist), else
//! grows the high-water mark `meta.pgid`. Pages freed by a commit stay pending until the next
//! write transaction begins (right after the commit in etcd), then become reusable.
//! `size_bytes()` is `pgid x 4096` (bbolt `Size()`, not st_size); `size_in_use_bytes()` is
//! size minus the free (not pending) pages as of the last commit, as etcd's `SizeInUse()`.

use std::collections::BTreeMap;
use std::rc::Rc;

pub const PAGE_SIZE: u64 = 4096;
const PAGE_HEADER: usize = 16;
const ELEM_HEADER: usize = 16;
const MIN_KEYS_PER_PAGE: usize = 2;
/// bbolt `DefaultAllocSize`: the file is grown 16 MiB beyond what is needed.
pub const ALLOC_SIZE: u64 = 16 * 1024 * 1024;
/// etcd `defaultBatchLimit`.
pub const BATCH_LIMIT: usize = 10_000;
/// etcd `defaultBatchInterval`, in nanoseconds.
pub const BATCH_INTERVAL_NS: u64 = 100_000_000;
/// bbolt's default bucket fill.
pub const DEFAULT_FILL: f64 = 0.5;
/// etcd's fill for sequential revision keys (`UnsafeSeqPut`) and for defrag.
pub const SEQ_FILL: f64 = 0.9;

/// A bbolt key of the `key` bucket: 8-byte main, '_', 8-byte sub (+ 't' for tombstones).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RevKey {
    pub main: i64,
    pub sub: i64,
    pub tombstone: bool,
}

impl RevKey {
    pub fn len(&self) -> usize {
        17 + usize::from(self.tombstone)
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// The key's bytes into `buf` (at least 18 bytes); returns the length.
    pub fn write_to(&self, buf: &mut [u8]) -> usize {
        buf[..8].copy_from_slice(&self.main.to_be_bytes());
        buf[8] = b'_';
        buf[9..17].copy_from_slice(&self.sub.to_be_bytes());
        if self.tombstone {
            buf[17] = b't';
            18
        } else {
            17
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(18);
        b.extend_from_slice(&self.main.to_be_bytes());
        b.push(b'_');
        b.extend_from_slice(&self.sub.to_be_bytes());
        if self.tombstone {
            b.push(b't');
        }
        b
    }

    fn order(&self) -> (i64, i64) {
        (self.main, self.sub)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Extent {
    start: u64,
    count: u64,
}

#[derive(Clone, Debug)]
struct Item {
    key: RevKey,
    value_len: u32,
}

#[derive(Clone, Debug)]
enum Kind {
    Leaf(Vec<Item>),
    Branch(Vec<Child>),
}

/// A branch's element: what the parent holds for a child, and the child.
#[derive(Clone, Debug)]
struct Child {
    /// The key the parent branch holds for this child (bbolt inode key): the first key when the
    /// child was last written, lowered if a smaller key was inserted since.
    sep: Option<RevKey>,
    /// Set whenever the child is changed (`Child::node_mut`), cleared when it is written: a
    /// commit looks for dirty children here instead of visiting every child.
    touched: bool,
    /// Shared between clones of the backend (every member starts from a clone of the
    /// fast-forwarded store), copied on the first write.
    node: Rc<Node>,
}

impl Item {
    /// Its bytes in a leaf page: header, key, value.
    fn elem_size(&self) -> usize {
        ELEM_HEADER + self.key.len() + self.value_len as usize
    }
}

impl Child {
    /// Its bytes in the parent's page: header and separator key (a revision key's 17 bytes
    /// before the child has one).
    fn elem_size(&self) -> usize {
        ELEM_HEADER + self.sep.map_or(17, |k| k.len())
    }

    fn written(node: Node) -> Child {
        Child {
            sep: node.first_key(),
            touched: false,
            node: Rc::new(node),
        }
    }

    fn node_mut(&mut self) -> &mut Node {
        self.touched = true;
        Rc::make_mut(&mut self.node)
    }
}

#[derive(Clone, Debug)]
struct Node {
    kind: Kind,
    page: Option<Extent>,
    dirty: bool,
    /// Lost elements in this transaction (bbolt `unbalanced`).
    unbalanced: bool,
}

impl Node {
    fn leaf() -> Node {
        Node {
            kind: Kind::Leaf(Vec::new()),
            page: None,
            dirty: true,
            unbalanced: false,
        }
    }

    fn len(&self) -> usize {
        match &self.kind {
            Kind::Leaf(items) => items.len(),
            Kind::Branch(children) => children.len(),
        }
    }

    fn is_leaf(&self) -> bool {
        matches!(self.kind, Kind::Leaf(_))
    }

    fn min_keys(&self) -> usize {
        if self.is_leaf() {
            1
        } else {
            2
        }
    }

    fn first_key(&self) -> Option<RevKey> {
        match &self.kind {
            Kind::Leaf(items) => items.first().map(|i| i.key),
            Kind::Branch(children) => children.iter().find_map(|c| c.node.first_key()),
        }
    }

    /// Each element's bytes in the node's page: a leaf's items, a branch's separators.
    fn elem_sizes(&self) -> Vec<usize> {
        match &self.kind {
            Kind::Leaf(items) => items.iter().map(Item::elem_size).collect(),
            Kind::Branch(children) => children.iter().map(Child::elem_size).collect(),
        }
    }

    /// No allocation and no dynamic dispatch: this runs for every child of every dirty branch
    /// at every commit.
    fn size(&self) -> usize {
        let elems: usize = match &self.kind {
            Kind::Leaf(items) => items.iter().map(Item::elem_size).sum(),
            Kind::Branch(children) => children.iter().map(Child::elem_size).sum(),
        };
        PAGE_HEADER + elems
    }

    fn pages(&self) -> u64 {
        (self.size() as u64).div_ceil(PAGE_SIZE)
    }

    fn count_pages(&self, out: &mut u64) {
        if let Some(p) = self.page {
            *out += p.count;
        }
        if let Kind::Branch(children) = &self.kind {
            for c in children {
                c.node.count_pages(out);
            }
        }
    }

    fn collect_items(&self, out: &mut Vec<(RevKey, u32)>) {
        match &self.kind {
            Kind::Leaf(items) => out.extend(items.iter().map(|i| (i.key, i.value_len))),
            Kind::Branch(children) => children.iter().for_each(|c| c.node.collect_items(out)),
        }
    }

    /// Index of the child that holds (or would hold) `key`.
    fn child_for(children: &[Child], key: RevKey) -> usize {
        let n = children.partition_point(|c| c.sep.is_some_and(|f| f.order() <= key.order()));
        n.saturating_sub(1)
    }

    fn insert(&mut self, key: RevKey, value_len: u32) -> bool {
        self.dirty = true;
        match &mut self.kind {
            Kind::Leaf(items) => {
                let pos = items.partition_point(|i| i.key.order() < key.order());
                if pos < items.len() && items[pos].key.order() == key.order() {
                    items[pos] = Item { key, value_len };
                    false
                } else {
                    items.insert(pos, Item { key, value_len });
                    true
                }
            }
            Kind::Branch(children) => {
                let i = Self::child_for(children, key);
                let c = &mut children[i];
                if c.sep.is_none_or(|s| key.order() < s.order()) {
                    c.sep = Some(key);
                }
                c.node_mut().insert(key, value_len)
            }
        }
    }

    fn remove(&mut self, key: RevKey) -> bool {
        let found = match &mut self.kind {
            Kind::Leaf(items) => {
                let pos = items.partition_point(|i| i.key.order() < key.order());
                if pos < items.len() && items[pos].key.order() == key.order() {
                    items.remove(pos);
                    true
                } else {
                    false
                }
            }
            Kind::Branch(children) => {
                if children.is_empty() {
                    return false;
                }
                let i = Self::child_for(children, key);
                children[i].node_mut().remove(key)
            }
        };
        if found {
            self.dirty = true;
            self.unbalanced = true;
        }
        found
    }
}

/// What one backend commit did, for the caller to charge on its disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Pages written: every newly allocated page plus one meta page.
    pub pages_written: u64,
    pub bytes_written: u64,
    /// bbolt fdatasyncs the data pages, then the meta page: 2 per commit (0 if nothing pending).
    pub fsyncs: u32,
    /// Operations the commit flushed.
    pub ops: usize,
}

/// What a defragmentation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefragStats {
    /// Bytes written into the new file (its high-water mark).
    pub bytes_copied: u64,
    pub size_before: u64,
    pub size_after: u64,
    pub keys_copied: u64,
}

/// The page allocator (bbolt freelist + `meta.pgid`).
#[derive(Clone, Debug)]
struct Pager {
    /// High-water mark, in pages (`meta.pgid`).
    hwm: u64,
    /// Free runs: start -> count (merged when adjacent).
    free: BTreeMap<u64, u64>,
    free_count: u64,
    /// Freed by the current transaction; reusable once the next one begins.
    pending: Vec<Extent>,
    /// Pages allocated by the current transaction.
    allocated: u64,
    /// st_size of the file (bbolt grows it to the need + AllocSize).
    file_len: u64,
}

impl Pager {
    fn allocate(&mut self, n: u64) -> Extent {
        self.allocated += n;
        let fit = self
            .free
            .iter()
            .find(|(_, &c)| c >= n)
            .map(|(&s, &c)| (s, c));
        if let Some((start, count)) = fit {
            self.free.remove(&start);
            if count > n {
                self.free.insert(start + n, count - n);
            }
            self.free_count -= n;
            return Extent { start, count: n };
        }
        let start = self.hwm;
        self.hwm += n;
        Extent { start, count: n }
    }

    fn free(&mut self, e: Extent) {
        self.pending.push(e);
    }

    fn release(&mut self) {
        for e in std::mem::take(&mut self.pending) {
            let mut start = e.start;
            let mut count = e.count;
            if let Some((&ps, &pc)) = self.free.range(..start).next_back() {
                if ps + pc == start {
                    self.free.remove(&ps);
                    start = ps;
                    count += pc;
                }
            }
            if let Some(&nc) = self.free.get(&(e.start + e.count)) {
                self.free.remove(&(e.start + e.count));
                count += nc;
            }
            self.free.insert(start, count);
            self.free_count += e.count;
        }
    }

    fn grow_file(&mut self) {
        let need = self.hwm * PAGE_SIZE;
        if need > self.file_len {
            self.file_len = need + ALLOC_SIZE;
        }
    }
}

/// The backend: the `key` bucket's page model, batching and sizes.
#[derive(Clone, Debug)]
pub struct Backend {
    pager: Pager,
    root: Node,
    /// The tx root page (bucket headers + inline buckets), rewritten at every commit.
    root_page: Extent,
    pending_ops: usize,
    pending_seq_puts: bool,
    keys: u64,
    /// `Size()` and `SizeInUse()` as of the last commit (what etcd reads).
    size: u64,
    size_in_use: u64,
    commits: u64,
}

impl Default for Backend {
    fn default() -> Self {
        Self::new()
    }
}

impl Backend {
    /// A freshly created etcd backend: 6 pages (24576 bytes) of which 4 in use, as a new etcd
    /// member reports (meta pages 0 and 1, the tx root page, the key bucket's root leaf and two
    /// free pages left by creating the buckets).
    pub fn new() -> Self {
        let mut pager = Pager {
            hwm: 6,
            free: BTreeMap::new(),
            free_count: 0,
            pending: Vec::new(),
            allocated: 0,
            file_len: 0,
        };
        pager.free.insert(2, 2);
        pager.free_count = 2;
        let mut root = Node::leaf();
        root.page = Some(Extent { start: 5, count: 1 });
        root.dirty = false;
        Self::from_parts(pager, root, Extent { start: 4, count: 1 })
    }

    /// A backend with nothing pending around a given file layout (sizes as of now).
    fn from_parts(mut pager: Pager, root: Node, root_page: Extent) -> Self {
        pager.grow_file();
        let mut b = Backend {
            pager,
            root,
            root_page,
            pending_ops: 0,
            pending_seq_puts: false,
            keys: 0,
            size: 0,
            size_in_use: 0,
            commits: 0,
        };
        b.refresh_sizes();
        b
    }

    /// An empty bbolt file as defrag creates it: meta 0-1, freelist page 2 (free once the file
    /// is reopened with `NoFreelistSync`), root leaf 3.
    fn empty_file() -> Self {
        let pager = Pager {
            hwm: 4,
            free: BTreeMap::from([(2, 1)]),
            free_count: 1,
            pending: Vec::new(),
            allocated: 0,
            file_len: 0,
        };
        Self::from_parts(pager, Node::leaf(), Extent { start: 3, count: 1 })
    }

    fn refresh_sizes(&mut self) {
        self.size = self.pager.hwm * PAGE_SIZE;
        self.size_in_use = self.size - self.pager.free_count * PAGE_SIZE;
    }

    /// Puts a revision key with an encoded value of `value_len` bytes (etcd `UnsafeSeqPut`).
    pub fn put(&mut self, key: RevKey, value_len: u32) {
        if self.root.insert(key, value_len) {
            self.keys += 1;
        }
        self.pending_ops += 1;
        self.pending_seq_puts = true;
    }

    /// Deletes a revision key (etcd `UnsafeDelete`, compaction). Returns whether it existed.
    pub fn delete(&mut self, key: RevKey) -> bool {
        self.pending_ops += 1;
        let found = self.root.remove(key);
        if found {
            self.keys -= 1;
        }
        found
    }

    /// Records a write to a small inline bucket (meta, lease, alarm, ...): it only makes the
    /// next commit happen (those buckets live in the root page, which every commit rewrites).
    pub fn touch_meta(&mut self) {
        self.pending_ops += 1;
    }

    /// Operations waiting for the next commit.
    pub fn pending_ops(&self) -> usize {
        self.pending_ops
    }

    /// True when etcd would commit now without waiting for the 100 ms tick.
    pub fn batch_full(&self) -> bool {
        self.pending_ops >= BATCH_LIMIT
    }

    /// Keys in the `key` bucket.
    pub fn key_count(&self) -> u64 {
        self.keys
    }

    /// `Size()`: `meta.pgid x 4096` as of the last commit.
    pub fn size_bytes(&self) -> u64 {
        self.size
    }

    /// `SizeInUse()`: size minus free pages, as of the last commit.
    pub fn size_in_use_bytes(&self) -> u64 {
        self.size_in_use
    }

    /// st_size of the file: bbolt truncates it to the need plus 16 MiB when it must grow.
    pub fn file_size_bytes(&self) -> u64 {
        self.pager.file_len
    }

    /// Pages in the free list (excluding pending ones).
    pub fn free_pages(&self) -> u64 {
        self.pager.free_count
    }

    /// Pages freed by the last commit, reusable from the next one.
    pub fn pending_pages(&self) -> u64 {
        self.pager.pending.iter().map(|e| e.count).sum()
    }

    /// Pages reachable from the tree plus the meta and tx root pages (a consistency check).
    pub fn live_pages(&self) -> u64 {
        let mut n = 2 + self.root_page.count;
        self.root.count_pages(&mut n);
        n
    }

    pub fn commits(&self) -> u64 {
        self.commits
    }

    /// Commits the batch: rebalance, split and write the dirty nodes copy-on-write, rewrite the
    /// tx root page, then two fdatasyncs (data, meta). Does nothing if nothing is pending.
    pub fn commit(&mut self) -> CommitStats {
        if self.pending_ops == 0 {
            return CommitStats::default();
        }
        let ops = self.pending_ops;
        // The write transaction began right after the previous commit: pages that commit freed
        // are reusable now.
        self.pager.release();
        self.pager.allocated = 0;
        let fill = if self.pending_seq_puts {
            SEQ_FILL
        } else {
            DEFAULT_FILL
        };
        let pager = &mut self.pager;
        rebalance(&mut self.root, pager);
        self.root = collapse_root(std::mem::replace(&mut self.root, Node::leaf()), pager);
        let mut nodes = spill(std::mem::replace(&mut self.root, Node::leaf()), pager, fill);
        while nodes.len() > 1 {
            let parent = Node {
                kind: Kind::Branch(nodes.into_iter().map(Child::written).collect()),
                page: None,
                dirty: true,
                unbalanced: false,
            };
            nodes = spill(parent, pager, fill);
        }
        self.root = nodes.pop().expect("spill returns at least one node");
        // The tx root page holds the key bucket's new root pgid and the inline buckets.
        pager.free(self.root_page);
        self.root_page = pager.allocate(1);
        pager.grow_file();
        let pages_written = pager.allocated + 1;
        self.pending_ops = 0;
        self.pending_seq_puts = false;
        self.commits += 1;
        self.refresh_sizes();
        CommitStats {
            pages_written,
            bytes_written: pages_written * PAGE_SIZE,
            fsyncs: 2,
            ops,
        }
    }

    /// Defragments: copies every key, in order, into a new file (10,000 keys per transaction,
    /// `FillPercent = 0.9`, as etcd's `defragdb`) and replaces this backend with it. Pending
    /// operations are committed first (etcd commits the batch before defragmenting).
    pub fn defrag(&mut self) -> DefragStats {
        self.commit();
        let size_before = self.size;
        let mut items = Vec::with_capacity(self.keys as usize);
        self.root.collect_items(&mut items);
        let mut fresh = Backend::empty_file();
        let mut in_tx = 0;
        for (k, v) in &items {
            fresh.put(*k, *v);
            in_tx += 1;
            if in_tx == 10_000 {
                fresh.commit();
                in_tx = 0;
            }
        }
        fresh.touch_meta();
        fresh.commit();
        // etcd reopens the file: pending pages are free, sizes refreshed.
        fresh.pager.release();
        fresh.refresh_sizes();
        fresh.commits = self.commits;
        let size_after = fresh.size;
        *self = fresh;
        DefragStats {
            bytes_copied: size_after,
            size_before,
            size_after,
            keys_copied: items.len() as u64,
        }
    }
}

/// bbolt `rebalance`, bottom-up: children that lost elements and are under a quarter page (or
/// have too few elements) are merged into a sibling; empty ones are removed.
///
/// A removal marks every node on its path `unbalanced`, so a node that is not has nothing to
/// rebalance below it: only those paths are walked (a commit of puts only walks nothing).
fn rebalance(node: &mut Node, pager: &mut Pager) {
    if !node.unbalanced {
        return;
    }
    let Kind::Branch(children) = &mut node.kind else {
        return;
    };
    for c in children.iter_mut().filter(|c| c.node.unbalanced) {
        rebalance(c.node_mut(), pager);
    }
    let mut i = 0;
    while i < children.len() {
        let c = &children[i].node;
        // Only nodes that lost elements are candidates (checked first: size() is not free).
        if !(c.unbalanced && (c.size() < PAGE_SIZE as usize / 4 || c.len() < c.min_keys())) {
            i += 1;
            continue;
        }
        children[i].node_mut().unbalanced = false;
        node.unbalanced = true;
        node.dirty = true;
        if children[i].node.len() == 0 {
            let gone = children.remove(i);
            free_tree(&gone.node, pager);
            continue;
        }
        if children.len() == 1 {
            i += 1;
            continue;
        }
        // The first child absorbs its next sibling; any other child moves into its previous one.
        let (into, from) = if i == 0 { (0, 1) } else { (i - 1, i) };
        let moved = Rc::unwrap_or_clone(children.remove(from).node);
        if let Some(p) = moved.page {
            pager.free(p);
        }
        let target = children[into].node_mut();
        target.dirty = true;
        match (&mut target.kind, moved.kind) {
            (Kind::Leaf(a), Kind::Leaf(b)) => a.extend(b),
            (Kind::Branch(a), Kind::Branch(b)) => a.extend(b),
            _ => unreachable!("siblings are at the same depth"),
        }
    }
}

/// A root branch with a single child is replaced by the child; an empty one by an empty leaf.
fn collapse_root(mut root: Node, pager: &mut Pager) -> Node {
    loop {
        match &mut root.kind {
            Kind::Branch(children) if children.len() == 1 => {
                if let Some(p) = root.page {
                    pager.free(p);
                }
                let mut child = Rc::unwrap_or_clone(children.pop().expect("one child").node);
                child.dirty = true;
                root = child;
            }
            Kind::Branch(children) if children.is_empty() => {
                if let Some(p) = root.page {
                    pager.free(p);
                }
                return Node::leaf();
            }
            _ => return root,
        }
    }
}

fn free_tree(node: &Node, pager: &mut Pager) {
    if let Some(p) = node.page {
        pager.free(p);
    }
    if let Kind::Branch(children) = &node.kind {
        for c in children {
            free_tree(&c.node, pager);
        }
    }
}

/// bbolt `spill`: children first, then split this node and write each piece to new pages.
fn spill(mut node: Node, pager: &mut Pager, fill: f64) -> Vec<Node> {
    if !node.dirty {
        return vec![node];
    }
    if let Kind::Branch(children) = &mut node.kind {
        // Usually one child per level is dirty: spill those in place, front to back as bbolt
        // does (allocation order decides page ids), instead of moving every clean sibling.
        let mut i = 0;
        while i < children.len() {
            let child = &mut children[i];
            let dirty = child.touched && child.node.dirty;
            child.touched = false;
            if !dirty {
                i += 1;
                continue;
            }
            // A dirty child was changed in this transaction: it is this backend's own.
            let slot = Rc::make_mut(&mut child.node);
            let mut pieces = spill(std::mem::replace(slot, Node::leaf()), pager, fill);
            if pieces.len() == 1 {
                // The usual case: the node still fits, and keeps its allocation.
                *slot = pieces.pop().expect("one piece");
                child.sep = slot.first_key();
                i += 1;
                continue;
            }
            let n = pieces.len();
            children.splice(i..=i, pieces.into_iter().map(Child::written));
            i += n;
        }
    }
    let old_page = node.page.take();
    let mut pieces = split(node, fill);
    if let Some(p) = old_page {
        pager.free(p);
    }
    for p in &mut pieces {
        let n = p.pages();
        p.page = Some(pager.allocate(n));
        p.dirty = false;
        p.unbalanced = false;
    }
    pieces
}

/// bbolt `split`/`splitTwo`/`splitIndex`: peel pieces off the front while the rest has more
/// than 4 elements and fills a page; each piece takes elements up to `fill x 4096` bytes but at
/// least 2, and leaves at least 2 for the rest.
fn split(mut node: Node, fill: f64) -> Vec<Node> {
    // The common case, a node that still fits its page, needs no element sizes.
    if node.len() <= MIN_KEYS_PER_PAGE * 2 || node.size() < PAGE_SIZE as usize {
        return vec![node];
    }
    let threshold = (PAGE_SIZE as f64 * fill.clamp(0.1, 1.0)) as usize;
    let sizes = node.elem_sizes();
    let mut rest_size = PAGE_HEADER + sizes.iter().sum::<usize>();
    let mut cuts = Vec::new();
    let mut start = 0;
    loop {
        let rest = &sizes[start..];
        if rest.len() <= MIN_KEYS_PER_PAGE * 2 || rest_size < PAGE_SIZE as usize {
            break;
        }
        let mut sz = PAGE_HEADER;
        let mut index = 0;
        for (i, &el) in rest.iter().enumerate().take(rest.len() - MIN_KEYS_PER_PAGE) {
            index = i;
            if i >= MIN_KEYS_PER_PAGE && sz + el > threshold {
                break;
            }
            sz += el;
        }
        rest_size -= sz - PAGE_HEADER;
        start += index;
        cuts.push(index);
    }
    if cuts.is_empty() {
        return vec![node];
    }
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let piece = |kind: Kind| Node {
        kind,
        page: None,
        dirty: true,
        unbalanced: false,
    };
    match &mut node.kind {
        Kind::Leaf(items) => {
            let mut it = std::mem::take(items).into_iter();
            for &n in &cuts {
                out.push(piece(Kind::Leaf(it.by_ref().take(n).collect())));
            }
            out.push(piece(Kind::Leaf(it.collect())));
        }
        Kind::Branch(children) => {
            let mut it = std::mem::take(children).into_iter();
            for &n in &cuts {
                out.push(piece(Kind::Branch(it.by_ref().take(n).collect())));
            }
            out.push(piece(Kind::Branch(it.collect())));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(main: i64) -> RevKey {
        RevKey {
            main,
            sub: 0,
            tombstone: false,
        }
    }

    #[test]
    fn fresh_backend_reports_etcd_initial_sizes() {
        let b = Backend::new();
        assert_eq!(b.size_bytes(), 24576);
        assert_eq!(b.size_in_use_bytes(), 16384);
    }

    #[test]
    fn split_keeps_two_per_leaf_for_large_values() {
        let mut b = Backend::new();
        for i in 1..=10 {
            b.put(k(i), 8220);
        }
        b.commit();
        let Kind::Branch(children) = &b.root.kind else {
            panic!("root should be a branch");
        };
        let lens: Vec<usize> = children.iter().map(|c| c.node.len()).collect();
        assert_eq!(lens, vec![2, 2, 2, 4]);
        assert_eq!(
            b.live_pages() + b.free_pages() + b.pending_pages(),
            b.size_bytes() / PAGE_SIZE
        );
    }
}
