//! etcdlab-kube: a sans-IO model of Kubernetes as etcd's client.
//!
//! - [`workload`]: the writes a cluster's control plane makes to etcd, as a time-ordered
//!   stream of [`KubeOp`]s (Puts with sizes, Deletes, lease grants), deterministic from the
//!   `ChaCha8Rng` handed in. [`KubeWorkloadConfig::mean_put_bytes_per_s`] gives the steady
//!   write volume so a scenario can be calibrated to a documented database growth.
//! - [`apiserver`]: kube-apiserver's watch cache (fed with committed etcd events, serving
//!   lists), its etcd compactor, and the texts a client sees when an etcd write fails.
//! - [`kubectl`]: the commands scenarios use, the etcd requests each costs, and the terminal
//!   output on success and on failure.
//!
//! No clock, no I/O, no map with unordered iteration: the caller feeds time and etcd's
//! answers.
//!
//! # Modelled
//! Node Lease renewals and Node status reports; leader-election and apiserver identity
//! Leases; pod replacement (terminating update, create, binding and status writes, final
//! delete); Deployment rollouts (new ReplicaSet, pods replaced one by one, old ReplicaSet
//! scaled down, history beyond 10 deleted); Events on a shared etcd lease granted and reused
//! as kube-apiserver's lease manager does; ConfigMap and Secret updates; object sizes per
//! kind; the apiserver's 5-minute compaction of etcd; `--request-timeout`.
//!
//! # Not modelled
//! - Events are never deleted here: etcd's lessor removes them when their lease expires.
//! - Endpoints/EndpointSlices, Services, ServiceAccounts, RBAC, CRDs, PVCs, Jobs.
//! - Event series updates (the same Event rewritten with a higher count).
//! - Node status writes on change (only the periodic report), node churn.
//! - Encryption at rest (a few dozen bytes per Secret), JSON-stored custom resources.
//! - Several apiservers (one compactor, one lease manager, one watch cache).
//! - Real lease IDs: grants are numbered 1, 2, 3... for the caller to map.
//! - Watch cache lag and relists after "required revision has been compacted".
//! - kubectl's table rows: `get` prints the header and a count.

pub mod apiserver;
pub mod kubectl;
pub mod resource;
pub mod workload;

pub use apiserver::{
    kubectl_apiserver_refused, kubectl_error_line, request_timeout_status, write_error, ApiServer,
    ApiStatus, CachedObject, Compactor, CompactorTxn, EtcdError, ListItem, ListResult,
    COMPACTION_INTERVAL_NS, COMPACT_REV_KEY, REQUEST_TIMEOUT_NS,
};
pub use kubectl::{parse_kubectl, EtcdRequest, KubectlCommand};
pub use resource::{object_key, resource_of, Resource};
pub use workload::{
    namespace_name, KubeAction, KubeOp, KubeWorkload, KubeWorkloadConfig, ObjectSizes, SizeDist,
    MAX_VALUE_BYTES, SYSTEM_NAMESPACES,
};
