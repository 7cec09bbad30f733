//! etcdlab-lab
