//! kube-apiserver between kubectl and etcd: the watch cache, the compactor, and the error
//! texts a client sees when an etcd write fails.
//!
//! Sources of the texts (Kubernetes master as stored in the reference index; the
//! wording has been stable since ~1.23):
//! - k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/status.go `ErrorToAPIStatus`: an
//!   error that is not a `metav1.Status` (the etcd client's errors are passed through by the
//!   etcd3 store) becomes HTTP 500 with reason `""` (StatusReasonUnknown) and the error's text
//!   as message.
//! - k8s.io/apiserver/pkg/endpoints/handlers/finisher/finisher.go: when the request context
//!   expires (`--request-timeout`, default 1m), `NewTimeoutError("request did not complete
//!   within requested timeout - " + ctx.Err())`: HTTP 504, reason `Timeout`, message prefixed
//!   `Timeout: ` by k8s.io/apimachinery `NewTimeoutError`.
//! - k8s.io/kubectl/pkg/cmd/util/helpers.go `StandardErrorMessage`: a Status with a reason
//!   prints `Error from server (<Reason>): <message>`, without one `Error from server:
//!   <message>`; `AddSourceToErr` prefixes `error when <verb> "<file>": ` for `-f` input.
//! - Real outputs matching these: kubernetes/kubeadm#3095 (`Error from server: etcdserver:
//!   request timed out`), kubernetes/kubernetes#65671 (`Error from server (Timeout): error
//!   when creating "nginx-deployment.yaml": Timeout: ...`), kubernetes/kubernetes#94029
//!   (kube-apiserver's compactor failing with `etcdserver: mvcc: database space exceeded`).

use std::collections::BTreeMap;

use etcdlab_sim::{Nanos, NANOS_PER_S};

use crate::resource::Resource;

/// kube-apiserver `--request-timeout` default (1m0s): non-long-running requests end here.
pub const REQUEST_TIMEOUT_NS: Nanos = 60 * NANOS_PER_S;

/// kube-apiserver `--etcd-compaction-interval` default (5m0s).
pub const COMPACTION_INTERVAL_NS: Nanos = 300 * NANOS_PER_S;

/// The key kube-apiserver's compactor uses as a cluster-wide lock and log
/// (k8s.io/apiserver/pkg/storage/etcd3/compact.go `compactRevKey`; outside `/registry`).
pub const COMPACT_REV_KEY: &str = "compact_rev_key";

/// An etcd failure as kube-apiserver's etcd client reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EtcdError {
    /// The NOSPACE alarm is active: Put, Txn with puts and LeaseGrant are refused at once.
    NoSpace,
    /// The proposal was not applied within etcd's request timeout (5 s + 2 x election
    /// timeout in etcd 3.4).
    RequestTimedOut,
    /// The leader changed while the proposal was in flight.
    LeaderChanged,
    /// The CORRUPT alarm is active.
    Corrupt,
    /// Nothing listens on the etcd endpoint (etcd is down). The etcd client does not fail
    /// fast: gRPC keeps redialling until the request's context expires.
    ConnectionRefused,
}

impl EtcdError {
    /// The error's text as the etcd client returns it (etcd's `rpctypes` strings).
    pub fn message(self) -> &'static str {
        match self {
            EtcdError::NoSpace => "etcdserver: mvcc: database space exceeded",
            EtcdError::RequestTimedOut => "etcdserver: request timed out",
            EtcdError::LeaderChanged => "etcdserver: leader changed",
            EtcdError::Corrupt => "etcdserver: corrupt cluster",
            // What the gRPC dialler logs in kube-apiserver while it retries (seen in
            // k3d-io/k3d#619 and rancher/rke2#7615); the request itself ends in a timeout.
            EtcdError::ConnectionRefused => {
                "connection error: desc = \"transport: Error while dialing: dial tcp \
                 127.0.0.1:2379: connect: connection refused\""
            }
        }
    }
}

/// A `metav1.Status` as kube-apiserver returns it for a failed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiStatus {
    pub code: u16,
    /// `""` is StatusReasonUnknown.
    pub reason: &'static str,
    pub message: String,
}

/// The apiserver's answer to a write whose etcd request failed with `err` after
/// `etcd_elapsed_ns`, and when it arrives (ns after the request). A write still waiting at
/// [`REQUEST_TIMEOUT_NS`] gets the timeout status instead, at that time.
pub fn write_error(err: EtcdError, etcd_elapsed_ns: Nanos) -> (ApiStatus, Nanos) {
    let waits_for_deadline = matches!(err, EtcdError::ConnectionRefused);
    if waits_for_deadline || etcd_elapsed_ns >= REQUEST_TIMEOUT_NS {
        return (request_timeout_status(), REQUEST_TIMEOUT_NS);
    }
    (
        ApiStatus {
            code: 500,
            reason: "",
            message: err.message().to_string(),
        },
        etcd_elapsed_ns,
    )
}

/// The status of a request cut off by `--request-timeout` (finisher.go).
pub fn request_timeout_status() -> ApiStatus {
    ApiStatus {
        code: 504,
        reason: "Timeout",
        message: "Timeout: request did not complete within requested timeout - context \
                  deadline exceeded"
            .to_string(),
    }
}

/// What kubectl prints for `status` (helpers.go `StandardErrorMessage`).
pub fn kubectl_error_line(status: &ApiStatus) -> String {
    if status.reason.is_empty() {
        format!("Error from server: {}", status.message)
    } else {
        format!("Error from server ({}): {}", status.reason, status.message)
    }
}

/// What kubectl prints when kube-apiserver itself does not accept connections (helpers.go,
/// `*url.Error` containing "connection refused").
pub fn kubectl_apiserver_refused(host_port: &str) -> String {
    format!(
        "The connection to the server {host_port} was refused - did you specify the right host \
         or port?"
    )
}

/// One cached object: enough to answer a list and size its response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CachedObject {
    pub mod_revision: i64,
    pub value_size_bytes: u32,
}

/// One item of a list: namespace (for namespaced resources) and name, from the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListItem {
    pub namespace: Option<String>,
    pub name: String,
    pub mod_revision: i64,
    pub value_size_bytes: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListResult {
    pub items: Vec<ListItem>,
    /// Sum of the stored value sizes: the order of the response's size.
    pub bytes: u64,
    /// The cache's revision for this resource: the newest event it has seen.
    pub resource_version: i64,
}

/// kube-apiserver's watch cache: one cacher per resource, each fed by an etcd watch on the
/// resource's prefix. Lists are served from it, so they keep working while etcd refuses
/// writes; they show what was committed before the cache stopped receiving events.
#[derive(Clone, Debug, Default)]
pub struct ApiServer {
    caches: BTreeMap<Resource, ResourceCache>,
}

#[derive(Clone, Debug, Default)]
struct ResourceCache {
    objects: BTreeMap<String, CachedObject>,
    revision: i64,
}

impl ApiServer {
    pub fn new() -> ApiServer {
        ApiServer::default()
    }

    /// A committed etcd event. Returns false (and ignores it) for keys outside the modelled
    /// resources, e.g. [`COMPACT_REV_KEY`].
    pub fn on_event(
        &mut self,
        key: &str,
        is_delete: bool,
        mod_revision: i64,
        value_size_bytes: u32,
    ) -> bool {
        let Some(resource) = Resource::of_key(key) else {
            return false;
        };
        let cache = self.caches.entry(resource).or_default();
        if is_delete {
            cache.objects.remove(key);
        } else {
            cache.objects.insert(
                key.to_string(),
                CachedObject {
                    mod_revision,
                    value_size_bytes,
                },
            );
        }
        cache.revision = cache.revision.max(mod_revision);
        true
    }

    /// The cached object at `key`, if any.
    pub fn get(&self, key: &str) -> Option<CachedObject> {
        let resource = Resource::of_key(key)?;
        self.caches.get(&resource)?.objects.get(key).copied()
    }

    pub fn count(&self, resource: Resource) -> usize {
        self.caches.get(&resource).map_or(0, |c| c.objects.len())
    }

    /// All objects of `resource`, or those in `namespace`, in key order.
    pub fn list(&self, resource: Resource, namespace: Option<&str>) -> ListResult {
        let mut out = ListResult {
            items: Vec::new(),
            bytes: 0,
            resource_version: 0,
        };
        let Some(cache) = self.caches.get(&resource) else {
            return out;
        };
        out.resource_version = cache.revision;
        let prefix = match namespace.filter(|_| resource.is_namespaced()) {
            Some(ns) => format!("{}{ns}/", resource.key_prefix()),
            None => resource.key_prefix().to_string(),
        };
        for (key, obj) in cache.objects.range(prefix.clone()..) {
            if !key.starts_with(&prefix) {
                break;
            }
            let rest = &key[resource.key_prefix().len()..];
            let (ns, name) = match rest.split_once('/') {
                Some((ns, name)) if resource.is_namespaced() => (Some(ns.to_string()), name),
                _ => (None, rest),
            };
            out.bytes += u64::from(obj.value_size_bytes);
            out.items.push(ListItem {
                namespace: ns,
                name: name.to_string(),
                mod_revision: obj.mod_revision,
                value_size_bytes: obj.value_size_bytes,
            });
        }
        out
    }
}

/// kube-apiserver's etcd compactor (compact.go): every interval it writes
/// [`COMPACT_REV_KEY`] in a Txn (the value is the revision it saw last time) and, if that
/// succeeds, compacts etcd to the revision it saw one interval ago, so etcd keeps about 5
/// minutes of history even with etcd's own auto-compaction off. The Txn is a Put, so under
/// the NOSPACE alarm it fails and compaction stops too (kubernetes/kubernetes#94029).
/// One apiserver is modelled, so the compare-and-swap on the key's version always holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compactor {
    interval_ns: Nanos,
    next_ns: Nanos,
    /// The revision seen at the last successful round (0: none yet, no compaction).
    last_revision: i64,
}

/// What the compactor asks etcd for this round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactorTxn {
    pub key: &'static str,
    /// The last revision in decimal, as the value is written.
    pub value_size_bytes: u32,
}

impl Compactor {
    /// `interval_ns` 0 disables it (`--etcd-compaction-interval=0`).
    pub fn new(interval_ns: Nanos) -> Compactor {
        Compactor {
            interval_ns,
            next_ns: interval_ns,
            last_revision: 0,
        }
    }

    /// When the next round is due; `None` if disabled.
    pub fn next_round_ns(&self) -> Option<Nanos> {
        (self.interval_ns > 0).then_some(self.next_ns)
    }

    pub fn txn(&self) -> CompactorTxn {
        CompactorTxn {
            key: COMPACT_REV_KEY,
            value_size_bytes: self.last_revision.max(0).to_string().len() as u32,
        }
    }

    /// The round at `now_ns` ended: `Ok(header_revision)` of the successful Txn, or the
    /// error. Returns the revision to compact to, if any. A failed round is retried one
    /// interval later, as the real loop does.
    pub fn on_txn_result(&mut self, now_ns: Nanos, result: Result<i64, EtcdError>) -> Option<i64> {
        self.next_ns = now_ns + self.interval_ns;
        let revision = result.ok()?;
        let compact_to = (self.last_revision > 0).then_some(self.last_revision);
        self.last_revision = revision;
        compact_to
    }
}
