//! `[kube]` (a Kubernetes control plane writing to etcd), `[fast_forward]` (months of history
//! applied without simulating every message) and `[cluster]`'s auto-compaction.

use crate::dist::read_dist;
use crate::error::R;
use crate::read::{Field, Table};
use crate::Nanos;
use etcdlab_kube::KubeWorkloadConfig;
use etcdlab_sim::Dist;

/// `[kube]`: the workload generator's configuration and the apiserver's own compaction.
#[derive(Clone, Debug, PartialEq)]
pub struct KubeSpec {
    pub config: KubeWorkloadConfig,
    /// kube-apiserver compacts etcd every `--etcd-compaction-interval` (5 min); false = `0`.
    pub apiserver_compaction: bool,
    pub apiserver_compaction_interval_ns: Nanos,
    /// The control plane's first write (its clock's zero): e.g. once etcd has a leader.
    pub start_ns: Nanos,
    /// kube-apiserver's requests from its clients, measured as
    /// `apiserver_request_duration_seconds` does (None: `api_requests` off, nothing measured).
    pub api: Option<ApiRequestsSpec>,
}

/// `[kube] api_requests = true`: kube-apiserver's clients (kubelets, controllers, the
/// scheduler) send GETs and LISTs that it answers from its watch cache, besides the workload's
/// writes, which go through etcd. Every request's latency is measured.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiRequestsSpec {
    /// GETs and LISTs per second, cluster-wide (Poisson).
    pub gets_per_s: f64,
    pub lists_per_s: f64,
    /// The apiserver's time to answer one from its cache (ms): authentication, authorization,
    /// the cache lookup, serialization.
    pub cache_get_latency_ms: Dist,
    pub cache_list_latency_ms: Dist,
}

/// Reads per second per node when `api_requests` is on and the rates are not given. An
/// assumption, not a measurement: kubelets GET their Node before each status report and the
/// Secrets and ConfigMaps their pods mount, controllers and the scheduler mostly read their
/// informers' local caches and GET what they are about to update, so reads outnumber the
/// workload's writes several times over.
pub const DEFAULT_API_GETS_PER_NODE_S: f64 = 5.0;
pub const DEFAULT_API_LISTS_PER_NODE_S: f64 = 0.1;

/// `[fast_forward]`: apply the Kubernetes workload's writes straight to every member's store
/// (no raft messages, no disk timing, nothing faulted) until `until_ns`, or until a member's
/// backend is within `stop_before_quota_bytes` of its quota; simulate everything after.
#[derive(Clone, Debug, PartialEq)]
pub struct FastForward {
    pub until_ns: Nanos,
    pub stop_before_quota_bytes: u64,
    /// Storage gauges are sampled this often while fast-forwarding.
    pub scrape_interval_ns: Nanos,
}

/// etcd's `--auto-compaction-mode` / `--auto-compaction-retention`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoCompaction {
    /// Keep this much history: compact every retention (every hour once retention > 1 h).
    Periodic { retention_ns: Nanos },
    /// Keep this many revisions (checked every 5 minutes).
    Revision { retention: i64 },
}

const KUBE_KEYS: &[&str] = &[
    "nodes",
    "app_namespaces",
    "pods_per_node",
    "replicas_per_deployment",
    "configmaps",
    "secrets",
    "node_lease_renew_interval_s",
    "node_status_update_interval_s",
    "control_plane_lease_renew_interval_s",
    "pod_churn_per_hour",
    "events_per_hour",
    "event_ttl_s",
    "configmap_updates_per_hour",
    "secret_updates_per_hour",
    "deployment_updates_per_hour",
    "apiserver_compaction",
    "apiserver_compaction_interval",
    "start",
    "api_requests",
    "api_gets_per_s",
    "api_lists_per_s",
    "api_cache_get_latency_ms",
    "api_cache_list_latency_ms",
];

pub(crate) fn read_kube(f: Field<'_>) -> R<KubeSpec> {
    let t = f.table()?;
    t.check_keys(KUBE_KEYS)?;
    let mut c = KubeWorkloadConfig::default();
    let count = |t: &Table<'_>, key: &str, v: &mut u32| -> R<()> {
        if let Some(n) = t.opt(key, |f| f.u64_in(0..=100_000, "0..=100000"))? {
            *v = n as u32;
        }
        Ok(())
    };
    count(&t, "nodes", &mut c.nodes)?;
    count(&t, "app_namespaces", &mut c.app_namespaces)?;
    count(&t, "pods_per_node", &mut c.pods_per_node)?;
    count(
        &t,
        "replicas_per_deployment",
        &mut c.replicas_per_deployment,
    )?;
    count(&t, "configmaps", &mut c.configmaps)?;
    count(&t, "secrets", &mut c.secrets)?;
    count(&t, "event_ttl_s", &mut c.event_ttl_s)?;
    let rate = |t: &Table<'_>, key: &str, v: &mut f64| -> R<()> {
        if let Some(x) = t.opt(key, |f| {
            let x = f.number_in(0.0, 1e6)?;
            // An interval of microseconds would generate millions of writes per second.
            if key.ends_with("_interval_s") && x > 0.0 && x < 0.1 {
                return Err(f.fail(format!("{x} s is too short; use 0 (off) or at least 0.1")));
            }
            Ok(x)
        })? {
            *v = x;
        }
        Ok(())
    };
    rate(
        &t,
        "node_lease_renew_interval_s",
        &mut c.node_lease_renew_interval_s,
    )?;
    rate(
        &t,
        "node_status_update_interval_s",
        &mut c.node_status_update_interval_s,
    )?;
    rate(
        &t,
        "control_plane_lease_renew_interval_s",
        &mut c.control_plane_lease_renew_interval_s,
    )?;
    rate(&t, "pod_churn_per_hour", &mut c.pod_churn_per_hour)?;
    rate(&t, "events_per_hour", &mut c.events_per_hour)?;
    rate(
        &t,
        "configmap_updates_per_hour",
        &mut c.configmap_updates_per_hour,
    )?;
    rate(
        &t,
        "secret_updates_per_hour",
        &mut c.secret_updates_per_hour,
    )?;
    rate(
        &t,
        "deployment_updates_per_hour",
        &mut c.deployment_updates_per_hour,
    )?;
    // The messages start with the key at fault; point at it when the file has it.
    c.validate().map_err(|e| {
        let key = e.split_whitespace().next().unwrap_or_default();
        match t.get(key) {
            Some(f) => f.fail(e),
            None => t.fail(e),
        }
    })?;
    let api = read_api_requests(&t, c.nodes)?;
    Ok(KubeSpec {
        config: c,
        apiserver_compaction: t.opt("apiserver_compaction", |f| f.bool())?.unwrap_or(true),
        apiserver_compaction_interval_ns: t
            .opt("apiserver_compaction_interval", |f| f.positive_duration())?
            .unwrap_or(etcdlab_kube::apiserver::COMPACTION_INTERVAL_NS),
        start_ns: t.opt("start", |f| f.duration())?.unwrap_or(0),
        api,
    })
}

/// `api_requests` and its keys (which need it on).
fn read_api_requests(t: &Table<'_>, nodes: u32) -> R<Option<ApiRequestsSpec>> {
    let on = t.opt("api_requests", |f| f.bool())?.unwrap_or(false);
    if !on {
        for key in [
            "api_gets_per_s",
            "api_lists_per_s",
            "api_cache_get_latency_ms",
            "api_cache_list_latency_ms",
        ] {
            if let Some(f) = t.get(key) {
                return Err(f.fail(format!("{key} needs api_requests = true")));
            }
        }
        return Ok(None);
    }
    let rate = |key: &str, default: f64| -> R<f64> {
        Ok(t.opt(key, |f| f.number_in(0.0, 1e5))?.unwrap_or(default))
    };
    Ok(Some(ApiRequestsSpec {
        gets_per_s: rate(
            "api_gets_per_s",
            DEFAULT_API_GETS_PER_NODE_S * f64::from(nodes),
        )?,
        lists_per_s: rate(
            "api_lists_per_s",
            DEFAULT_API_LISTS_PER_NODE_S * f64::from(nodes),
        )?,
        cache_get_latency_ms: t.opt("api_cache_get_latency_ms", read_dist)?.unwrap_or(
            Dist::LogNormal {
                median: 1.0,
                sigma: 0.5,
            },
        ),
        cache_list_latency_ms: t.opt("api_cache_list_latency_ms", read_dist)?.unwrap_or(
            Dist::LogNormal {
                median: 20.0,
                sigma: 0.8,
            },
        ),
    }))
}

pub(crate) fn read_fast_forward(f: Field<'_>, run_ns: Nanos) -> R<FastForward> {
    let t = f.table()?;
    t.check_keys(&["until", "stop_before_quota_bytes", "scrape_interval"])?;
    Ok(FastForward {
        until_ns: t.req("until", |f| f.duration_before(run_ns))?,
        stop_before_quota_bytes: t
            .opt("stop_before_quota_bytes", |f| f.u64())?
            .unwrap_or(64 * 1024 * 1024),
        scrape_interval_ns: t
            .opt("scrape_interval", |f| f.positive_duration())?
            .unwrap_or(300 * 1_000_000_000),
    })
}

/// `auto_compaction_mode` and `auto_compaction_retention` of `[cluster]`.
pub(crate) fn read_auto_compaction(t: &Table<'_>) -> R<Option<AutoCompaction>> {
    let mode = t.opt("auto_compaction_mode", |f| match f.str()? {
        m @ ("periodic" | "revision") => Ok(m),
        other => Err(f.fail(format!(
            "unknown mode {other:?}; use \"periodic\" or \"revision\""
        ))),
    })?;
    let Some(mode) = mode else {
        return match t.get("auto_compaction_retention") {
            Some(f) => Err(f.fail(
                "auto_compaction_retention needs auto_compaction_mode (\"periodic\" or \"revision\")",
            )),
            None => Ok(None),
        };
    };
    let retention = t.req("auto_compaction_retention", |f| {
        let text = f.str()?;
        if mode == "periodic" {
            crate::duration::parse_duration(text)
                .ok()
                .filter(|ns| *ns > 0)
                .map(|retention_ns| AutoCompaction::Periodic { retention_ns })
                .ok_or_else(|| f.fail(format!("{text:?} is not a duration like \"1h\"")))
        } else {
            text.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .map(|retention| AutoCompaction::Revision { retention })
                .ok_or_else(|| f.fail(format!("{text:?} is not a positive revision count")))
        }
    })?;
    Ok(Some(retention))
}

/// `[[watch]]`: a client watching a key prefix on one member, consuming at most
/// `events_per_s` (None: as fast as they come). A watcher that falls behind a compaction gets
/// "required revision has been compacted" and relists.
#[derive(Clone, Debug, PartialEq)]
pub struct WatchSpec {
    pub name: String,
    pub member: usize,
    pub prefix: String,
    pub start_ns: Nanos,
    pub events_per_s: Option<f64>,
    /// Created with etcd's `progress_notify` (etcdctl `watch --progress-notify`).
    pub progress_notify: bool,
    /// What the client does when etcd cancels its watch as compacted.
    pub on_compacted: OnCompacted,
}

/// A watch client's answer to "required revision has been compacted".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnCompacted {
    /// List the prefix again, then watch from the list's revision + 1 (Kubernetes' reflector).
    Relist,
    /// Watch again from the response's `compact_revision`, the oldest revision etcd still has
    /// (etcd's clientv3 documentation for `WatchResponse.CompactRevision`): what was compacted
    /// is skipped, nothing is listed.
    Resume,
}

pub(crate) fn read_watches(f: Field<'_>, size: usize, run_ns: Nanos) -> R<Vec<WatchSpec>> {
    f.each(|w| {
        let t = w.table()?;
        t.check_keys(&[
            "name",
            "member",
            "prefix",
            "start",
            "events_per_s",
            "progress_notify",
            "on_compacted",
        ])?;
        Ok(WatchSpec {
            name: t.req("name", |f| f.str().map(String::from))?,
            member: t.req("member", |f| {
                let name = f.str()?;
                crate::names::member_index(name, size).map_err(|e| f.fail(e))
            })?,
            prefix: t.req("prefix", |f| match f.str()? {
                "" => Err(f.fail(
                    "must not be empty (\"/registry/\" watches everything Kubernetes stores)",
                )),
                p => Ok(p.to_string()),
            })?,
            start_ns: t.opt("start", |f| f.duration_before(run_ns))?.unwrap_or(0),
            events_per_s: t.opt("events_per_s", |f| {
                let r = f.number_in(0.0, 1e9)?;
                if r <= 0.0 {
                    return Err(f.fail("must be > 0"));
                }
                Ok(r)
            })?,
            progress_notify: t.opt("progress_notify", |f| f.bool())?.unwrap_or(false),
            on_compacted: t
                .opt("on_compacted", |f| match f.str()? {
                    "relist" => Ok(OnCompacted::Relist),
                    "resume" => Ok(OnCompacted::Resume),
                    other => Err(f.fail(format!(
                        "unknown answer {other:?}; use \"relist\" or \"resume\""
                    ))),
                })?
                .unwrap_or(OnCompacted::Relist),
        })
    })
}
