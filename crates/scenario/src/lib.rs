//! etcdlab-scenario
