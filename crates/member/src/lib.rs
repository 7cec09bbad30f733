//! etcdlab-member
