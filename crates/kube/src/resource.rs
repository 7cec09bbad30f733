//! Kubernetes resources as kube-apiserver stores them in etcd.

/// A resource kind the lab writes. Keys follow kube-apiserver's layout:
/// `/registry/<prefix>/<namespace>/<name>` for namespaced resources and
/// `/registry/<prefix>/<name>` for cluster-scoped ones (field notes, "Role of etcd in
/// Kubernetes"). Built-in apps/v1 kinds have no group in their prefix; Nodes live under
/// `minions`, their historical name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    Namespaces,
    Nodes,
    Leases,
    Pods,
    Events,
    ConfigMaps,
    Secrets,
    Deployments,
    ReplicaSets,
}

impl Resource {
    pub const ALL: [Resource; 9] = [
        Resource::Namespaces,
        Resource::Nodes,
        Resource::Leases,
        Resource::Pods,
        Resource::Events,
        Resource::ConfigMaps,
        Resource::Secrets,
        Resource::Deployments,
        Resource::ReplicaSets,
    ];

    /// The plural resource name, as in API paths and `kubectl get <resource>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Namespaces => "namespaces",
            Resource::Nodes => "nodes",
            Resource::Leases => "leases",
            Resource::Pods => "pods",
            Resource::Events => "events",
            Resource::ConfigMaps => "configmaps",
            Resource::Secrets => "secrets",
            Resource::Deployments => "deployments",
            Resource::ReplicaSets => "replicasets",
        }
    }

    /// The etcd key prefix of every object of this resource, with the trailing slash.
    pub fn key_prefix(self) -> &'static str {
        match self {
            Resource::Namespaces => "/registry/namespaces/",
            Resource::Nodes => "/registry/minions/",
            Resource::Leases => "/registry/leases/",
            Resource::Pods => "/registry/pods/",
            Resource::Events => "/registry/events/",
            Resource::ConfigMaps => "/registry/configmaps/",
            Resource::Secrets => "/registry/secrets/",
            Resource::Deployments => "/registry/deployments/",
            Resource::ReplicaSets => "/registry/replicasets/",
        }
    }

    pub fn is_namespaced(self) -> bool {
        !matches!(self, Resource::Namespaces | Resource::Nodes)
    }

    /// kubectl's `<kind>.<group>` (or `<kind>` for the core group) as printed in
    /// `deployment.apps/web configured`.
    pub fn kubectl_kind(self) -> &'static str {
        match self {
            Resource::Namespaces => "namespace",
            Resource::Nodes => "node",
            Resource::Leases => "lease.coordination.k8s.io",
            Resource::Pods => "pod",
            Resource::Events => "event",
            Resource::ConfigMaps => "configmap",
            Resource::Secrets => "secret",
            Resource::Deployments => "deployment.apps",
            Resource::ReplicaSets => "replicaset.apps",
        }
    }

    /// The resource a kubectl resource argument names: plural, singular or short name
    /// (`po`, `no`, `ns`, `cm`, `deploy`, `rs`, `ev`).
    pub fn from_kubectl_name(name: &str) -> Option<Resource> {
        Some(match name {
            "namespaces" | "namespace" | "ns" => Resource::Namespaces,
            "nodes" | "node" | "no" => Resource::Nodes,
            "leases" | "lease" => Resource::Leases,
            "pods" | "pod" | "po" => Resource::Pods,
            "events" | "event" | "ev" => Resource::Events,
            "configmaps" | "configmap" | "cm" => Resource::ConfigMaps,
            "secrets" | "secret" => Resource::Secrets,
            "deployments" | "deployment" | "deploy" => Resource::Deployments,
            "replicasets" | "replicaset" | "rs" => Resource::ReplicaSets,
            _ => return None,
        })
    }

    /// The resource whose prefix `key` starts with, if any.
    pub fn of_key(key: &str) -> Option<Resource> {
        Resource::ALL
            .into_iter()
            .find(|r| key.starts_with(r.key_prefix()))
    }
}

/// The key of one object: `namespace` must be `Some` exactly for namespaced resources.
pub fn object_key(resource: Resource, namespace: Option<&str>, name: &str) -> String {
    debug_assert_eq!(
        resource.is_namespaced(),
        namespace.is_some(),
        "{resource:?}"
    );
    let prefix = resource.key_prefix();
    let mut key =
        String::with_capacity(prefix.len() + namespace.map_or(0, |ns| ns.len() + 1) + name.len());
    key.push_str(prefix);
    if let Some(ns) = namespace {
        key.push_str(ns);
        key.push('/');
    }
    key.push_str(name);
    key
}

/// The resource a key belongs to, as kube-apiserver lays keys out in etcd:
/// `/registry/<resource>/...` -> `<resource>` (`/registry/<group.with.dots>/<resource>/...` ->
/// `<group>/<resource>`, as CRDs and aggregated APIs are stored); any other key -> its first
/// path segment. The grouping of `etcdlab_store::diff_grouped` for what a restore lost.
pub fn resource_of(key: &[u8]) -> String {
    let text = String::from_utf8_lossy(key);
    let mut parts = text.trim_start_matches('/').split('/');
    let first = parts.next().unwrap_or_default();
    if first != "registry" {
        return first.to_string();
    }
    match parts.next() {
        None => first.to_string(),
        Some(group) if group.contains('.') => match parts.next() {
            Some(res) => format!("{group}/{res}"),
            None => group.to_string(),
        },
        Some(res) => res.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_from_key_path() {
        assert_eq!(resource_of(b"/registry/configmaps/ns/name"), "configmaps");
        assert_eq!(resource_of(b"/registry/minions/node-1"), "minions");
        assert_eq!(
            resource_of(b"/registry/apiregistration.k8s.io/apiservices/v1.apps"),
            "apiregistration.k8s.io/apiservices"
        );
        assert_eq!(resource_of(b"/lab/key-1"), "lab");
        assert_eq!(resource_of(b"a0"), "a0");
    }
}
