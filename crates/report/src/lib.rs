//! etcdlab-report
