//! The writes a Kubernetes control plane makes to etcd, as a time-ordered stream of [`KubeOp`]s.
//!
//! Sources (each documented on its [`KubeWorkloadConfig`] field):
//! - kubelet: node Lease renewals and Node status reports,
//! - control plane: leader-election Leases of kube-controller-manager and kube-scheduler, and
//!   the kube-apiserver identity Lease,
//! - pod churn (a pod is replaced: terminating update, replacement create, binding and status
//!   updates, final delete), and Deployment rollouts that replace a Deployment's pods,
//! - Events, each written with an etcd lease that kube-apiserver grants and reuses,
//! - ConfigMap and Secret updates,
//! - the objects that exist at t = 0.
//!
//! Everything is drawn from the one `ChaCha8Rng` handed to [`KubeWorkload::new`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt::Write as _;

use etcdlab_sim::rng::{below, unit_f64, Rng};
use etcdlab_sim::{Nanos, NANOS_PER_MS, NANOS_PER_S};

use crate::resource::Resource;

/// Namespaces every cluster has (kube-apiserver and kubeadm create them).
pub const SYSTEM_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

/// Leader-election Leases renewed by the control plane's singletons (namespace kube-system).
const LEADER_LEASES: [&str; 2] = ["kube-controller-manager", "kube-scheduler"];

/// The Deployment controller keeps this many old ReplicaSets (`revisionHistoryLimit`, apps/v1
/// default 10) and deletes older ones.
const REVISION_HISTORY_LIMIT: u32 = 10;

/// kube-apiserver's lease reuse is also capped at 5% of the TTL (`leaseReuseDurationPercent`
/// in k8s.io/apiserver/pkg/storage/etcd3/lease_manager.go).
const LEASE_REUSE_TTL_FRACTION: f64 = 0.05;

/// The alphabet of generated name suffixes (k8s.io/apimachinery/pkg/util/rand: no vowels, no
/// confusable digits), so keys have realistic lengths.
const NAME_ALPHABET: &[u8; 27] = b"bcdfghjklmnpqrstvwxz2456789";

/// Object size in bytes of the stored value: lognormal with this median and sigma.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SizeDist {
    pub median_bytes: f64,
    pub sigma: f64,
}

impl SizeDist {
    pub const fn new(median_bytes: f64, sigma: f64) -> SizeDist {
        SizeDist {
            median_bytes,
            sigma,
        }
    }

    /// The lognormal mean, median * exp(sigma^2 / 2).
    pub fn mean_bytes(&self) -> f64 {
        self.median_bytes * libm::exp(self.sigma * self.sigma / 2.0)
    }

    pub fn sample(&self, rng: &mut Rng) -> u32 {
        let v = etcdlab_sim::Dist::LogNormal {
            median: self.median_bytes,
            sigma: self.sigma,
        }
        .sample(rng);
        v.round().clamp(1.0, MAX_VALUE_BYTES as f64) as u32
    }
}

/// etcd's default request size limit (`--max-request-bytes`, 1.5 MiB): no object is larger.
pub const MAX_VALUE_BYTES: u32 = 1_572_864;

/// Sizes of the stored values (kube-apiserver stores protobuf: the `k8s\0` magic, TypeMeta and
/// the object). These are estimates from each kind's fields, not measurements: a stated
/// assumption that a scenario may override. Protobuf is taken as ~60% of the JSON that
/// `kubectl get -o json` shows, managedFields included.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ObjectSizes {
    /// coordination.k8s.io Lease: metadata with an ownerReference to its Node and one
    /// managedFields entry (~200 B), spec holderIdentity / leaseDurationSeconds / renewTime:
    /// ~300-400 B.
    pub lease: SizeDist,
    /// Node: `status.images` alone lists up to 50 images (kubelet `nodeStatusMaxImages`) of
    /// ~150-200 B each, plus conditions, addresses, capacity, nodeInfo, labels and
    /// managedFields of kubelet and controller-manager: 10-15 KB.
    pub node: SizeDist,
    /// Pod of a Deployment: one container with env and mounts, the projected service-account
    /// volume, 4-5 conditions, containerStatuses, ownerReference, managedFields of three
    /// managers: 6-9 KB of JSON, ~4-5 KB stored.
    pub pod: SizeDist,
    /// core/v1 Event: involvedObject reference, reason, a one-line message, source, counts,
    /// timestamps, managedFields: ~0.6-1.2 KB.
    pub event: SizeDist,
    /// ConfigMaps range from a few lines to whole config files: wide spread.
    pub configmap: SizeDist,
    /// Secrets range from a password to TLS chains of a few KB.
    pub secret: SizeDist,
    /// Deployment: a pod template without status, status, and kubectl's
    /// last-applied-configuration annotation (a second copy of the spec).
    pub deployment: SizeDist,
    /// ReplicaSet: a pod template plus status and ownerReference.
    pub replicaset: SizeDist,
    /// Namespace: metadata, the kubernetes finalizer and phase.
    pub namespace: SizeDist,
}

impl Default for ObjectSizes {
    fn default() -> Self {
        ObjectSizes {
            lease: SizeDist::new(350.0, 0.05),
            node: SizeDist::new(12_288.0, 0.15),
            pod: SizeDist::new(4_608.0, 0.3),
            event: SizeDist::new(800.0, 0.2),
            configmap: SizeDist::new(2_048.0, 1.0),
            secret: SizeDist::new(2_048.0, 0.8),
            deployment: SizeDist::new(3_072.0, 0.2),
            replicaset: SizeDist::new(3_072.0, 0.2),
            namespace: SizeDist::new(300.0, 0.05),
        }
    }
}

/// The cluster and its rates. Rates are cluster-wide unless the name says otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct KubeWorkloadConfig {
    /// Worker nodes, each with a kubelet. Default 10.
    pub nodes: u32,
    /// Application namespaces (`team-00`...) besides the four system ones. Default 6.
    pub app_namespaces: u32,
    /// Pods per node, all owned by Deployments. Default 30 (the kubelet allows 110).
    pub pods_per_node: u32,
    /// Replicas of each Deployment; the pods are split into Deployments of this size.
    /// Default 3.
    pub replicas_per_deployment: u32,
    /// ConfigMaps and Secrets that exist (spread over the application namespaces). Default
    /// 100 each.
    pub configmaps: u32,
    pub secrets: u32,
    /// kubelet renews its node Lease every 10 s (`renewInterval` = 25% of the 40 s
    /// `nodeLeaseDurationSeconds`), with `wait.JitterUntil` jitter of up to
    /// `node_lease_jitter_fraction` of the interval. Key `/registry/leases/kube-node-lease/<node>`.
    pub node_lease_renew_interval_s: f64,
    /// Default 0.04 (kubelet's node lease controller).
    pub node_lease_jitter_fraction: f64,
    /// kubelet posts Node status when it changes or every `nodeStatusReportFrequency`
    /// (default 5 min) otherwise; a steady node only reports. Key `/registry/minions/<node>`.
    pub node_status_update_interval_s: f64,
    /// Leader election: the leader renews its Lease every `RetryPeriod` (default 2 s for
    /// kube-controller-manager and kube-scheduler). 0 disables.
    pub control_plane_lease_renew_interval_s: f64,
    /// kube-apiserver instances; each renews its identity Lease
    /// (`kube-system/apiserver-<id>`) every `apiserver_identity_lease_renew_interval_s`
    /// (10 s). Default 1.
    pub apiservers: u32,
    pub apiserver_identity_lease_renew_interval_s: f64,
    /// Pod replacements per hour, cluster-wide: a random pod is deleted gracefully and its
    /// ReplicaSet creates a replacement. Default 60 (each of the 300 pods lives ~5 h).
    pub pod_churn_per_hour: f64,
    /// Writes to a new pod after its create: the scheduler's binding, then kubelet status
    /// updates (ContainerCreating, Running/Ready). Default 3.
    pub pod_status_updates_per_lifecycle: u32,
    /// Time between a pod's create and its first status write, and between status writes.
    /// Default 1 s.
    pub pod_status_update_spacing_s: f64,
    /// From the terminating update (deletionTimestamp set) to kubelet's final delete.
    /// Default 5 s (containers that exit promptly on SIGTERM).
    pub pod_termination_s: f64,
    /// Events per hour, cluster-wide, each about a random pod. Default 600 (~6 per pod
    /// lifecycle: Scheduled, Pulling, Pulled, Created, Started, Killing, plus background).
    pub events_per_hour: f64,
    /// kube-apiserver `--event-ttl`, default 1 h: the TTL of the etcd lease attached to
    /// each Event.
    pub event_ttl_s: u32,
    /// kube-apiserver reuses one lease for all Events during this long
    /// (`--lease-reuse-duration-seconds`, default 60), capped at 5% of the TTL; it grants the
    /// TTL plus this duration so the last Event on a lease still lives its full TTL.
    pub lease_reuse_duration_s: u32,
    /// Updates per hour, cluster-wide, to a random existing ConfigMap / Secret. Defaults 10
    /// and 5.
    pub configmap_updates_per_hour: f64,
    pub secret_updates_per_hour: f64,
    /// Rollouts per hour, cluster-wide: a random Deployment's template changes, a new
    /// ReplicaSet is created and its pods are replaced one by one. Default 1. 0 disables.
    pub deployment_updates_per_hour: f64,
    /// Time between two pod replacements of a rollout (maxSurge 25% / maxUnavailable 25%
    /// on 3 replicas replaces one at a time). Default 5 s.
    pub rollout_pod_interval_s: f64,
    /// Spacing of the t = 0 creates. Default 2 ms.
    pub initial_op_spacing_ms: f64,
    pub sizes: ObjectSizes,
}

impl Default for KubeWorkloadConfig {
    fn default() -> Self {
        KubeWorkloadConfig {
            nodes: 10,
            app_namespaces: 6,
            pods_per_node: 30,
            replicas_per_deployment: 3,
            configmaps: 100,
            secrets: 100,
            node_lease_renew_interval_s: 10.0,
            node_lease_jitter_fraction: 0.04,
            node_status_update_interval_s: 300.0,
            control_plane_lease_renew_interval_s: 2.0,
            apiservers: 1,
            apiserver_identity_lease_renew_interval_s: 10.0,
            pod_churn_per_hour: 60.0,
            pod_status_updates_per_lifecycle: 3,
            pod_status_update_spacing_s: 1.0,
            pod_termination_s: 5.0,
            events_per_hour: 600.0,
            event_ttl_s: 3600,
            lease_reuse_duration_s: 60,
            configmap_updates_per_hour: 10.0,
            secret_updates_per_hour: 5.0,
            deployment_updates_per_hour: 1.0,
            rollout_pod_interval_s: 5.0,
            initial_op_spacing_ms: 2.0,
            sizes: ObjectSizes::default(),
        }
    }
}

/// One write kube-apiserver sends to etcd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeOp {
    pub at_ns: Nanos,
    pub resource: Resource,
    pub action: KubeAction,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KubeAction {
    /// A create or update. `lease_id` is set for Events: the lease granted by an earlier
    /// [`KubeAction::LeaseGrant`] of this stream.
    Put {
        key: String,
        value_size_bytes: u32,
        lease_id: Option<i64>,
    },
    Delete {
        key: String,
    },
    /// kube-apiserver's `LeaseGrant(ttl_s)`. Real lease IDs are chosen by etcd; these are
    /// 1, 2, 3... in grant order, for the caller to map to the IDs its store hands out.
    LeaseGrant {
        lease_id: i64,
        ttl_s: i64,
    },
}

impl KubeWorkloadConfig {
    pub fn total_pods(&self) -> u32 {
        self.nodes * self.pods_per_node
    }

    pub fn deployments(&self) -> u32 {
        self.total_pods()
            .div_ceil(self.replicas_per_deployment.max(1))
    }

    /// The lease TTL kube-apiserver grants for Events: the event TTL plus the reuse window.
    pub fn event_lease_grant_ttl_s(&self) -> i64 {
        i64::from(self.event_ttl_s) + i64::from(self.event_lease_reuse_s())
    }

    /// min(`lease_reuse_duration_s`, 5% of the TTL), as kube-apiserver computes it.
    pub fn event_lease_reuse_s(&self) -> u32 {
        let by_fraction = (LEASE_REUSE_TTL_FRACTION * f64::from(self.event_ttl_s)) as u32;
        by_fraction.min(self.lease_reuse_duration_s)
    }

    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            (
                "node_lease_renew_interval_s",
                self.node_lease_renew_interval_s,
            ),
            (
                "node_status_update_interval_s",
                self.node_status_update_interval_s,
            ),
            (
                "apiserver_identity_lease_renew_interval_s",
                self.apiserver_identity_lease_renew_interval_s,
            ),
            (
                "pod_status_update_spacing_s",
                self.pod_status_update_spacing_s,
            ),
            ("pod_termination_s", self.pod_termination_s),
            ("rollout_pod_interval_s", self.rollout_pod_interval_s),
            ("initial_op_spacing_ms", self.initial_op_spacing_ms),
        ];
        for (name, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("{name} must be > 0, got {v}"));
            }
        }
        let non_negative = [
            (
                "node_lease_jitter_fraction",
                self.node_lease_jitter_fraction,
            ),
            (
                "control_plane_lease_renew_interval_s",
                self.control_plane_lease_renew_interval_s,
            ),
            ("pod_churn_per_hour", self.pod_churn_per_hour),
            ("events_per_hour", self.events_per_hour),
            (
                "configmap_updates_per_hour",
                self.configmap_updates_per_hour,
            ),
            ("secret_updates_per_hour", self.secret_updates_per_hour),
            (
                "deployment_updates_per_hour",
                self.deployment_updates_per_hour,
            ),
        ];
        for (name, v) in non_negative {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("{name} must be >= 0, got {v}"));
            }
        }
        if self.replicas_per_deployment == 0 {
            return Err("replicas_per_deployment must be >= 1".into());
        }
        if self.app_namespaces > 100 {
            return Err(format!(
                "app_namespaces must be <= 100 (names team-00..team-99), got {}",
                self.app_namespaces
            ));
        }
        if self.total_pods() == 0 && (self.pod_churn_per_hour > 0.0 || self.events_per_hour > 0.0) {
            return Err("pod churn and events need pods (nodes * pods_per_node > 0)".into());
        }
        if self.configmaps == 0 && self.configmap_updates_per_hour > 0.0 {
            return Err("configmap_updates_per_hour > 0 needs configmaps > 0".into());
        }
        if self.secrets == 0 && self.secret_updates_per_hour > 0.0 {
            return Err("secret_updates_per_hour > 0 needs secrets > 0".into());
        }
        Ok(())
    }

    /// Key plus value bytes of the Puts per second in steady state (after the t = 0
    /// objects), from the configured rates and mean sizes. Deletes and lease grants write no
    /// value and are not counted. Status writes skipped because a pod was replaced again
    /// within seconds are neglected (rare at sane churn rates).
    pub fn mean_put_bytes_per_s(&self) -> f64 {
        let layout = Layout::new(self);
        let s = &self.sizes;
        let mut scratch = String::new();
        let mut key_len = |f: &mut dyn FnMut(&mut String)| {
            scratch.clear();
            f(&mut scratch);
            scratch.len() as f64
        };
        let mut total = 0.0;

        // Node Leases and Node status.
        let nodes = f64::from(self.nodes);
        if self.nodes > 0 {
            let mean_lease_key = (0..self.nodes)
                .map(|n| key_len(&mut |k| node_lease_key(k, n)))
                .sum::<f64>()
                / nodes;
            let mean_node_key = (0..self.nodes)
                .map(|n| key_len(&mut |k| node_key(k, n)))
                .sum::<f64>()
                / nodes;
            let lease_period_s =
                self.node_lease_renew_interval_s * (1.0 + self.node_lease_jitter_fraction / 2.0);
            total += nodes * (mean_lease_key + s.lease.mean_bytes()) / lease_period_s;
            total +=
                nodes * (mean_node_key + s.node.mean_bytes()) / self.node_status_update_interval_s;
        }

        // Control-plane Leases.
        for i in 0..self.control_plane_lease_count() {
            let (interval_s, k) = (
                self.control_plane_lease_interval_s(i),
                key_len(&mut |k| control_plane_lease_key(k, i)),
            );
            total += (k + s.lease.mean_bytes()) / interval_s;
        }

        // Pods: per replacement, the terminating update, the create and the status writes.
        let pods = self.total_pods();
        let puts_per_replacement = 2.0 + f64::from(self.pod_status_updates_per_lifecycle);
        let pod_put_bytes = |mean_key: f64| puts_per_replacement * (mean_key + s.pod.mean_bytes());
        if pods > 0 {
            let pod_keys: f64 = (0..pods)
                .map(|slot| {
                    let d = layout.deployment_of_slot(slot);
                    key_len(&mut |k| pod_key(k, &layout, d, 1, 0))
                })
                .sum();
            let mean_pod_key = pod_keys / f64::from(pods);
            total += self.pod_churn_per_hour / 3600.0 * pod_put_bytes(mean_pod_key);

            // Events about a random pod.
            let event_keys: f64 = (0..pods)
                .map(|slot| {
                    let d = layout.deployment_of_slot(slot);
                    key_len(&mut |k| event_key(k, &layout, d, 1, 0, 0))
                })
                .sum();
            total += self.events_per_hour / 3600.0
                * (event_keys / f64::from(pods) + s.event.mean_bytes());

            // Rollouts of a random Deployment: spec and status of the Deployment, create of
            // the new ReplicaSet and scale-down of the old one, and a replacement per pod.
            let deps = layout.deployments;
            let mut per_rollout = 0.0;
            for d in 0..deps {
                let dep_key = key_len(&mut |k| deployment_key(k, &layout, d));
                let rs_key = key_len(&mut |k| replicaset_key(k, &layout, d, 1));
                per_rollout += 2.0 * (dep_key + s.deployment.mean_bytes())
                    + 2.0 * (rs_key + s.replicaset.mean_bytes());
                for _ in layout.slots_of(d) {
                    per_rollout += pod_put_bytes(key_len(&mut |k| pod_key(k, &layout, d, 1, 0)));
                }
            }
            total += self.deployment_updates_per_hour / 3600.0 * per_rollout / f64::from(deps);
        }

        if self.configmaps > 0 {
            let mean_key = (0..self.configmaps)
                .map(|c| key_len(&mut |k| configmap_key(k, &layout, c)))
                .sum::<f64>()
                / f64::from(self.configmaps);
            total +=
                self.configmap_updates_per_hour / 3600.0 * (mean_key + s.configmap.mean_bytes());
        }
        if self.secrets > 0 {
            let mean_key = (0..self.secrets)
                .map(|c| key_len(&mut |k| secret_key(k, &layout, c)))
                .sum::<f64>()
                / f64::from(self.secrets);
            total += self.secret_updates_per_hour / 3600.0 * (mean_key + s.secret.mean_bytes());
        }
        total
    }

    fn control_plane_lease_count(&self) -> u32 {
        let leaders = if self.control_plane_lease_renew_interval_s > 0.0 {
            LEADER_LEASES.len() as u32
        } else {
            0
        };
        leaders + self.apiservers
    }

    /// Control-plane Lease `i`: the leader-election ones first, then one per apiserver.
    fn control_plane_lease_interval_s(&self, i: u32) -> f64 {
        let leaders = self.control_plane_lease_count() - self.apiservers;
        if i < leaders {
            self.control_plane_lease_renew_interval_s
        } else {
            self.apiserver_identity_lease_renew_interval_s
        }
    }
}

/// Where objects live: namespaces, and which Deployment owns each pod slot.
#[derive(Clone, Copy, Debug)]
struct Layout {
    app_namespaces: u32,
    deployments: u32,
    replicas: u32,
    pods: u32,
}

impl Layout {
    fn new(cfg: &KubeWorkloadConfig) -> Layout {
        Layout {
            app_namespaces: cfg.app_namespaces,
            deployments: cfg.deployments(),
            replicas: cfg.replicas_per_deployment.max(1),
            pods: cfg.total_pods(),
        }
    }

    /// Namespace index (see [`namespace_name`]) of app object `i`: round robin over the
    /// application namespaces, or `default` when there are none.
    fn app_namespace(&self, i: u32) -> u32 {
        if self.app_namespaces == 0 {
            0
        } else {
            SYSTEM_NAMESPACES.len() as u32 + i % self.app_namespaces
        }
    }

    fn deployment_of_slot(&self, slot: u32) -> u32 {
        slot / self.replicas
    }

    fn slots_of(&self, d: u32) -> std::ops::Range<u32> {
        d * self.replicas..((d + 1) * self.replicas).min(self.pods)
    }
}

fn push_namespace(out: &mut String, ns: u32) {
    match SYSTEM_NAMESPACES.get(ns as usize) {
        Some(name) => out.push_str(name),
        None => {
            let _ = write!(out, "team-{:02}", ns - SYSTEM_NAMESPACES.len() as u32);
        }
    }
}

/// The name of namespace `ns`: the system namespaces, then `team-00`, `team-01`...
pub fn namespace_name(ns: u32) -> String {
    let mut s = String::new();
    push_namespace(&mut s, ns);
    s
}

/// `len` characters of the name alphabet derived from `seed` (a mixing hash, not the rng, so
/// a name is a pure function of the object's identity).
fn push_suffix(out: &mut String, seed: u64, len: usize) {
    let mut h = splitmix64(seed);
    for _ in 0..len {
        out.push(NAME_ALPHABET[(h % NAME_ALPHABET.len() as u64) as usize] as char);
        h /= NAME_ALPHABET.len() as u64;
    }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn push_node_name(out: &mut String, n: u32) {
    let _ = write!(out, "node-{n:04}");
}

fn node_lease_key(out: &mut String, n: u32) {
    out.push_str(Resource::Leases.key_prefix());
    out.push_str("kube-node-lease/");
    push_node_name(out, n);
}

fn node_key(out: &mut String, n: u32) {
    out.push_str(Resource::Nodes.key_prefix());
    push_node_name(out, n);
}

fn control_plane_lease_key(out: &mut String, i: u32) {
    out.push_str(Resource::Leases.key_prefix());
    out.push_str("kube-system/");
    match LEADER_LEASES.get(i as usize) {
        Some(name) => out.push_str(name),
        // kube-apiserver's identity lease: "apiserver-" and a 26-character id.
        None => {
            out.push_str("apiserver-");
            push_suffix(out, u64::from(i), 26);
        }
    }
}

fn namespace_key(out: &mut String, ns: u32) {
    out.push_str(Resource::Namespaces.key_prefix());
    push_namespace(out, ns);
}

fn push_deployment_name(out: &mut String, d: u32) {
    let _ = write!(out, "app-{d:04}");
}

fn deployment_key(out: &mut String, l: &Layout, d: u32) {
    out.push_str(Resource::Deployments.key_prefix());
    push_namespace(out, l.app_namespace(d));
    out.push('/');
    push_deployment_name(out, d);
}

/// `<deployment>-<10-char template hash>`: the hash changes with each rollout (`gen`).
fn push_replicaset_name(out: &mut String, d: u32, gen: u32) {
    push_deployment_name(out, d);
    out.push('-');
    push_suffix(out, (u64::from(d) << 32) | u64::from(gen), 10);
}

fn replicaset_key(out: &mut String, l: &Layout, d: u32, gen: u32) {
    out.push_str(Resource::ReplicaSets.key_prefix());
    push_namespace(out, l.app_namespace(d));
    out.push('/');
    push_replicaset_name(out, d, gen);
}

fn push_pod_name(out: &mut String, d: u32, gen: u32, pod_id: u64) {
    push_replicaset_name(out, d, gen);
    out.push('-');
    push_suffix(out, pod_id ^ 0x5bd1_e995_0000_0000, 5);
}

fn pod_key(out: &mut String, l: &Layout, d: u32, gen: u32, pod_id: u64) {
    out.push_str(Resource::Pods.key_prefix());
    push_namespace(out, l.app_namespace(d));
    out.push('/');
    push_pod_name(out, d, gen, pod_id);
}

/// `<involved object>.<16 hex digits>`: kubelet and controllers name Events after the object
/// and a nanosecond timestamp in hex.
fn event_key(out: &mut String, l: &Layout, d: u32, gen: u32, pod_id: u64, stamp: u64) {
    out.push_str(Resource::Events.key_prefix());
    push_namespace(out, l.app_namespace(d));
    out.push('/');
    push_pod_name(out, d, gen, pod_id);
    let _ = write!(out, ".{:016x}", stamp | (1 << 60));
}

fn configmap_key(out: &mut String, l: &Layout, c: u32) {
    out.push_str(Resource::ConfigMaps.key_prefix());
    push_namespace(out, l.app_namespace(c));
    let _ = write!(out, "/config-{c:05}");
}

fn secret_key(out: &mut String, l: &Layout, c: u32) {
    out.push_str(Resource::Secrets.key_prefix());
    push_namespace(out, l.app_namespace(c));
    let _ = write!(out, "/secret-{c:05}");
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pod {
    deployment: u32,
    gen: u32,
    id: u64,
    size_bytes: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Task {
    NodeLease(u32),
    NodeStatus(u32),
    ControlPlaneLease(u32),
    PodChurn,
    Event,
    ConfigMapUpdate,
    SecretUpdate,
    DeploymentUpdate,
    /// The create (`remaining` = status updates + 1) and then the status writes of the pod
    /// `pod_id` in `slot`; dropped if the slot holds another pod by then.
    PodWrite {
        slot: u32,
        pod_id: u64,
        remaining: u32,
    },
    /// kubelet's final delete of a terminated pod.
    PodDelete {
        deployment: u32,
        gen: u32,
        pod_id: u64,
    },
    /// The next pod replacement of a rollout.
    RolloutPod {
        slot: u32,
    },
    /// End of a rollout: old ReplicaSet scaled to 0, Deployment status, history trimmed.
    RolloutEnd {
        deployment: u32,
        gen: u32,
    },
}

/// The generator. `next_op` is O(log n) in the number of pending timers (about 2 per node)
/// and allocates only the key of the op it returns.
pub struct KubeWorkload {
    cfg: KubeWorkloadConfig,
    layout: Layout,
    rng: Rng,
    initial: VecDeque<KubeOp>,
    /// Ops due now, produced by one task that writes several objects at the same instant.
    ready: VecDeque<KubeOp>,
    timers: BinaryHeap<Reverse<(Nanos, u64, Task)>>,
    timer_seq: u64,
    pods: Vec<Pod>,
    /// Current template generation of each Deployment (its ReplicaSet hash input).
    deployment_gen: Vec<u32>,
    next_pod_id: u64,
    /// Nodes and Leases keep their size for life (the same fields are rewritten).
    node_size_bytes: Vec<u32>,
    node_lease_size_bytes: Vec<u32>,
    control_plane_lease_size_bytes: Vec<u32>,
    next_lease_id: i64,
    /// The Event lease kube-apiserver would reuse, and the end of its reuse window.
    event_lease: Option<(i64, Nanos)>,
    last_at_ns: Nanos,
}

fn s_to_ns(s: f64) -> Nanos {
    (s * NANOS_PER_S as f64).round() as Nanos
}

impl KubeWorkload {
    /// Panics if the configuration is invalid (see [`KubeWorkloadConfig::validate`]).
    pub fn new(cfg: KubeWorkloadConfig, mut rng: Rng) -> KubeWorkload {
        if let Err(e) = cfg.validate() {
            panic!("invalid KubeWorkloadConfig: {e}");
        }
        let layout = Layout::new(&cfg);
        let pods: Vec<Pod> = (0..layout.pods)
            .map(|slot| Pod {
                deployment: layout.deployment_of_slot(slot),
                gen: 1,
                id: u64::from(slot),
                size_bytes: cfg.sizes.pod.sample(&mut rng),
            })
            .collect();
        let node_size_bytes = (0..cfg.nodes)
            .map(|_| cfg.sizes.node.sample(&mut rng))
            .collect();
        let node_lease_size_bytes = (0..cfg.nodes)
            .map(|_| cfg.sizes.lease.sample(&mut rng))
            .collect();
        let control_plane_lease_size_bytes = (0..cfg.control_plane_lease_count())
            .map(|_| cfg.sizes.lease.sample(&mut rng))
            .collect();
        let mut w = KubeWorkload {
            node_size_bytes,
            node_lease_size_bytes,
            control_plane_lease_size_bytes,
            layout,
            rng,
            initial: VecDeque::new(),
            ready: VecDeque::new(),
            timers: BinaryHeap::new(),
            timer_seq: 0,
            deployment_gen: vec![1; cfg.deployments() as usize],
            next_pod_id: pods.len() as u64,
            pods,
            next_lease_id: 1,
            event_lease: None,
            last_at_ns: 0,
            cfg,
        };
        w.build_initial();
        w.start_timers();
        w
    }

    pub fn config(&self) -> &KubeWorkloadConfig {
        &self.cfg
    }

    /// When the t = 0 creates are over and the steady-state sources start.
    pub fn steady_state_start_ns(&self) -> Nanos {
        self.initial_len_ns()
    }

    fn initial_len_ns(&self) -> Nanos {
        let n = self.initial_count() as f64;
        (n * self.cfg.initial_op_spacing_ms * NANOS_PER_MS as f64).round() as Nanos
    }

    fn initial_count(&self) -> usize {
        let c = &self.cfg;
        SYSTEM_NAMESPACES.len()
            + c.app_namespaces as usize
            + 2 * c.nodes as usize
            + self.cfg.control_plane_lease_count() as usize
            + 2 * self.layout.deployments as usize
            + self.layout.pods as usize
            + c.configmaps as usize
            + c.secrets as usize
    }

    fn build_initial(&mut self) {
        let spacing_ns = self.cfg.initial_op_spacing_ms * NANOS_PER_MS as f64;
        let mut ops: Vec<(Resource, String, u32)> = Vec::with_capacity(self.initial_count());
        let sizes = self.cfg.sizes;
        let l = self.layout;
        let rng = &mut self.rng;
        let key = |f: &dyn Fn(&mut String)| {
            let mut k = String::new();
            f(&mut k);
            k
        };
        for ns in 0..(SYSTEM_NAMESPACES.len() as u32 + l.app_namespaces) {
            ops.push((
                Resource::Namespaces,
                key(&|k| namespace_key(k, ns)),
                sizes.namespace.sample(rng),
            ));
        }
        for n in 0..self.cfg.nodes {
            ops.push((
                Resource::Nodes,
                key(&|k| node_key(k, n)),
                self.node_size_bytes[n as usize],
            ));
            ops.push((
                Resource::Leases,
                key(&|k| node_lease_key(k, n)),
                self.node_lease_size_bytes[n as usize],
            ));
        }
        for i in 0..self.cfg.control_plane_lease_count() {
            ops.push((
                Resource::Leases,
                key(&|k| control_plane_lease_key(k, i)),
                self.control_plane_lease_size_bytes[i as usize],
            ));
        }
        for d in 0..l.deployments {
            ops.push((
                Resource::Deployments,
                key(&|k| deployment_key(k, &l, d)),
                sizes.deployment.sample(rng),
            ));
            ops.push((
                Resource::ReplicaSets,
                key(&|k| replicaset_key(k, &l, d, 1)),
                sizes.replicaset.sample(rng),
            ));
        }
        for p in &self.pods {
            ops.push((
                Resource::Pods,
                key(&|k| pod_key(k, &l, p.deployment, p.gen, p.id)),
                p.size_bytes,
            ));
        }
        for c in 0..self.cfg.configmaps {
            ops.push((
                Resource::ConfigMaps,
                key(&|k| configmap_key(k, &l, c)),
                sizes.configmap.sample(rng),
            ));
        }
        for c in 0..self.cfg.secrets {
            ops.push((
                Resource::Secrets,
                key(&|k| secret_key(k, &l, c)),
                sizes.secret.sample(rng),
            ));
        }
        self.initial = ops
            .into_iter()
            .enumerate()
            .map(|(i, (resource, key, value_size_bytes))| KubeOp {
                at_ns: (i as f64 * spacing_ns).round() as Nanos,
                resource,
                action: KubeAction::Put {
                    key,
                    value_size_bytes,
                    lease_id: None,
                },
            })
            .collect();
    }

    fn start_timers(&mut self) {
        let t0 = self.initial_len_ns();
        let cfg = self.cfg.clone();
        // Periodic sources start at a random phase within their period.
        for n in 0..cfg.nodes {
            let phase = unit_f64(&mut self.rng) * cfg.node_lease_renew_interval_s;
            self.schedule(t0 + s_to_ns(phase), Task::NodeLease(n));
            let phase = unit_f64(&mut self.rng) * cfg.node_status_update_interval_s;
            self.schedule(t0 + s_to_ns(phase), Task::NodeStatus(n));
        }
        for i in 0..cfg.control_plane_lease_count() {
            let phase = unit_f64(&mut self.rng) * cfg.control_plane_lease_interval_s(i);
            self.schedule(t0 + s_to_ns(phase), Task::ControlPlaneLease(i));
        }
        for task in [
            Task::PodChurn,
            Task::Event,
            Task::ConfigMapUpdate,
            Task::SecretUpdate,
            Task::DeploymentUpdate,
        ] {
            self.schedule_poisson(t0, task);
        }
    }

    fn per_hour(&self, task: Task) -> f64 {
        match task {
            Task::PodChurn => self.cfg.pod_churn_per_hour,
            Task::Event => self.cfg.events_per_hour,
            Task::ConfigMapUpdate => self.cfg.configmap_updates_per_hour,
            Task::SecretUpdate => self.cfg.secret_updates_per_hour,
            Task::DeploymentUpdate => self.cfg.deployment_updates_per_hour,
            _ => unreachable!("{task:?} is not a Poisson source"),
        }
    }

    /// The next arrival of a Poisson source after `from_ns`; none if its rate is 0.
    fn schedule_poisson(&mut self, from_ns: Nanos, task: Task) {
        let rate_per_s = self.per_hour(task) / 3600.0;
        if rate_per_s > 0.0 {
            let gap_s = -libm::log(1.0 - unit_f64(&mut self.rng)) / rate_per_s;
            self.schedule(from_ns + s_to_ns(gap_s), task);
        }
    }

    fn schedule(&mut self, at_ns: Nanos, task: Task) {
        self.timer_seq += 1;
        self.timers.push(Reverse((at_ns, self.timer_seq, task)));
    }

    fn emit(&mut self, at_ns: Nanos, resource: Resource, action: KubeAction) {
        self.ready.push_back(KubeOp {
            at_ns,
            resource,
            action,
        });
    }

    fn put(&mut self, at_ns: Nanos, resource: Resource, key: String, size: u32) {
        self.emit(
            at_ns,
            resource,
            KubeAction::Put {
                key,
                value_size_bytes: size,
                lease_id: None,
            },
        );
    }

    /// The next write, in non-decreasing `at_ns`. The stream never ends.
    pub fn next_op(&mut self) -> KubeOp {
        let op = loop {
            if let Some(op) = self.ready.pop_front() {
                break op;
            }
            if let Some(op) = self.initial.pop_front() {
                break op;
            }
            let Reverse((at_ns, _, task)) = self
                .timers
                .pop()
                .expect("the periodic node and control-plane timers never run out");
            self.run(at_ns, task);
        };
        debug_assert!(op.at_ns >= self.last_at_ns, "ops out of order");
        self.last_at_ns = op.at_ns;
        op
    }

    fn run(&mut self, now: Nanos, task: Task) {
        let l = self.layout;
        let mut key = String::with_capacity(64);
        match task {
            Task::NodeLease(n) => {
                node_lease_key(&mut key, n);
                let size = self.node_lease_size_bytes[n as usize];
                self.put(now, Resource::Leases, key, size);
                let jitter = unit_f64(&mut self.rng) * self.cfg.node_lease_jitter_fraction;
                let period = self.cfg.node_lease_renew_interval_s * (1.0 + jitter);
                self.schedule(now + s_to_ns(period), task);
            }
            Task::NodeStatus(n) => {
                node_key(&mut key, n);
                let size = self.node_size_bytes[n as usize];
                self.put(now, Resource::Nodes, key, size);
                let period = self.cfg.node_status_update_interval_s;
                self.schedule(now + s_to_ns(period), task);
            }
            Task::ControlPlaneLease(i) => {
                control_plane_lease_key(&mut key, i);
                let size = self.control_plane_lease_size_bytes[i as usize];
                self.put(now, Resource::Leases, key, size);
                let period = self.cfg.control_plane_lease_interval_s(i);
                self.schedule(now + s_to_ns(period), task);
            }
            Task::PodChurn => {
                let slot = below(&mut self.rng, u64::from(l.pods)) as u32;
                self.replace_pod(now, slot);
                self.schedule_poisson(now, task);
            }
            Task::Event => {
                let slot = below(&mut self.rng, u64::from(l.pods)) as usize;
                let p = self.pods[slot];
                event_key(&mut key, &l, p.deployment, p.gen, p.id, now);
                let lease_id = self.event_lease_at(now);
                let size = self.cfg.sizes.event.sample(&mut self.rng);
                self.emit(
                    now,
                    Resource::Events,
                    KubeAction::Put {
                        key,
                        value_size_bytes: size,
                        lease_id: Some(lease_id),
                    },
                );
                self.schedule_poisson(now, task);
            }
            Task::ConfigMapUpdate => {
                let c = below(&mut self.rng, u64::from(self.cfg.configmaps)) as u32;
                configmap_key(&mut key, &l, c);
                // An update changes the content: a fresh size per write.
                let size = self.cfg.sizes.configmap.sample(&mut self.rng);
                self.put(now, Resource::ConfigMaps, key, size);
                self.schedule_poisson(now, task);
            }
            Task::SecretUpdate => {
                let c = below(&mut self.rng, u64::from(self.cfg.secrets)) as u32;
                secret_key(&mut key, &l, c);
                let size = self.cfg.sizes.secret.sample(&mut self.rng);
                self.put(now, Resource::Secrets, key, size);
                self.schedule_poisson(now, task);
            }
            Task::DeploymentUpdate => {
                if l.deployments > 0 {
                    let d = below(&mut self.rng, u64::from(l.deployments)) as u32;
                    self.start_rollout(now, d, key);
                }
                self.schedule_poisson(now, task);
            }
            Task::PodWrite {
                slot,
                pod_id,
                remaining,
            } => {
                let p = self.pods[slot as usize];
                if p.id == pod_id {
                    pod_key(&mut key, &l, p.deployment, p.gen, p.id);
                    self.put(now, Resource::Pods, key, p.size_bytes);
                    if remaining > 1 {
                        let next = now + s_to_ns(self.cfg.pod_status_update_spacing_s);
                        self.schedule(
                            next,
                            Task::PodWrite {
                                slot,
                                pod_id,
                                remaining: remaining - 1,
                            },
                        );
                    }
                }
            }
            Task::PodDelete {
                deployment,
                gen,
                pod_id,
            } => {
                pod_key(&mut key, &l, deployment, gen, pod_id);
                self.emit(now, Resource::Pods, KubeAction::Delete { key });
            }
            Task::RolloutPod { slot } => self.replace_pod(now, slot),
            Task::RolloutEnd { deployment, gen } => {
                let l = self.layout;
                let mut old_rs = String::with_capacity(64);
                replicaset_key(&mut old_rs, &l, deployment, gen - 1);
                let size = self.cfg.sizes.replicaset.sample(&mut self.rng);
                self.put(now, Resource::ReplicaSets, old_rs, size);
                deployment_key(&mut key, &l, deployment);
                let size = self.cfg.sizes.deployment.sample(&mut self.rng);
                self.put(now, Resource::Deployments, key, size);
                // Keep REVISION_HISTORY_LIMIT old ReplicaSets besides the current one.
                if gen > REVISION_HISTORY_LIMIT + 1 {
                    let mut oldest = String::with_capacity(64);
                    replicaset_key(
                        &mut oldest,
                        &l,
                        deployment,
                        gen - REVISION_HISTORY_LIMIT - 1,
                    );
                    self.emit(
                        now,
                        Resource::ReplicaSets,
                        KubeAction::Delete { key: oldest },
                    );
                }
            }
        }
    }

    /// kube-apiserver's lease manager: reuse the previous lease while `now + ttl` is before
    /// its expiry (within the reuse window of its grant), else grant TTL + reuse.
    fn event_lease_at(&mut self, now: Nanos) -> i64 {
        if let Some((id, reuse_until_ns)) = self.event_lease {
            if now < reuse_until_ns {
                return id;
            }
        }
        let id = self.next_lease_id;
        self.next_lease_id += 1;
        let reuse_ns = u64::from(self.cfg.event_lease_reuse_s()) * NANOS_PER_S;
        self.event_lease = Some((id, now + reuse_ns));
        self.emit(
            now,
            Resource::Events,
            KubeAction::LeaseGrant {
                lease_id: id,
                ttl_s: self.cfg.event_lease_grant_ttl_s(),
            },
        );
        id
    }

    /// The pod in `slot` is deleted gracefully and its ReplicaSet creates a replacement.
    fn replace_pod(&mut self, now: Nanos, slot: u32) {
        let l = self.layout;
        let old = self.pods[slot as usize];
        let mut key = String::with_capacity(64);
        pod_key(&mut key, &l, old.deployment, old.gen, old.id);
        // DELETE with a grace period: deletionTimestamp is written, the pod stays.
        self.put(now, Resource::Pods, key, old.size_bytes);
        self.schedule(
            now + s_to_ns(self.cfg.pod_termination_s),
            Task::PodDelete {
                deployment: old.deployment,
                gen: old.gen,
                pod_id: old.id,
            },
        );
        let new = Pod {
            deployment: old.deployment,
            gen: self.deployment_gen[old.deployment as usize],
            id: self.next_pod_id,
            size_bytes: self.cfg.sizes.pod.sample(&mut self.rng),
        };
        self.next_pod_id += 1;
        self.pods[slot as usize] = new;
        // The ReplicaSet controller reacts within milliseconds of the watch event.
        self.schedule(
            now + 50 * NANOS_PER_MS,
            Task::PodWrite {
                slot,
                pod_id: new.id,
                remaining: self.cfg.pod_status_updates_per_lifecycle + 1,
            },
        );
    }

    fn start_rollout(&mut self, now: Nanos, d: u32, mut key: String) {
        let l = self.layout;
        deployment_key(&mut key, &l, d);
        let size = self.cfg.sizes.deployment.sample(&mut self.rng);
        self.put(now, Resource::Deployments, key, size);
        let gen = self.deployment_gen[d as usize] + 1;
        self.deployment_gen[d as usize] = gen;
        let mut rs = String::with_capacity(64);
        replicaset_key(&mut rs, &l, d, gen);
        let size = self.cfg.sizes.replicaset.sample(&mut self.rng);
        self.put(now, Resource::ReplicaSets, rs, size);
        let interval_ns = s_to_ns(self.cfg.rollout_pod_interval_s);
        let mut at = now + 20 * NANOS_PER_MS;
        for slot in l.slots_of(d) {
            self.schedule(at, Task::RolloutPod { slot });
            at += interval_ns;
        }
        self.schedule(at, Task::RolloutEnd { deployment: d, gen });
    }
}
