//! The kubectl commands the scenarios speak, what each asks of etcd, and what the terminal
//! shows.

use crate::apiserver::{kubectl_error_line, ApiServer, ApiStatus};
use crate::resource::{object_key, Resource};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KubectlCommand {
    /// `get <resource> [-n NS | -A]`. `namespace` None with `all_namespaces` false means the
    /// `default` namespace for namespaced resources, as kubectl does.
    Get {
        resource: Resource,
        namespace: Option<String>,
        all_namespaces: bool,
    },
    /// `apply -f <file>`: the file holds one Deployment named after the file's stem.
    Apply {
        file: String,
        deployment: String,
        namespace: String,
    },
    /// `create namespace <name>`.
    CreateNamespace { name: String },
    /// `scale deployment <name> --replicas=N [-n NS]`.
    Scale {
        deployment: String,
        namespace: String,
        replicas: u32,
    },
}

/// A request kube-apiserver sends to etcd for a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EtcdRequest {
    /// A read; `count_only` for the revision check of a list served from the cache.
    Range {
        key: String,
        prefix: bool,
        count_only: bool,
    },
    /// A create or update (a Txn with a single Put, as the etcd3 store writes).
    Put { key: String, value_size_bytes: u32 },
}

const USAGE: &str = "expected one of: get <resource> [-n NS|-A], apply -f <file>, create \
                     namespace <name>, scale deployment <name> --replicas=N [-n NS]";

/// Parses a kubectl command line, with or without the leading `kubectl`.
pub fn parse_kubectl(line: &str) -> Result<KubectlCommand, String> {
    let mut words: Vec<&str> = line.split_whitespace().collect();
    if words.first() == Some(&"kubectl") {
        words.remove(0);
    }
    // Pull out the namespace flags, which every command accepts anywhere.
    let mut namespace = None;
    let mut all_namespaces = false;
    let mut rest = Vec::new();
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        match w {
            "-n" | "--namespace" => match it.next() {
                Some(ns) => namespace = Some(ns.to_string()),
                None => return Err(format!("flag {w} needs a namespace: {USAGE}")),
            },
            "-A" | "--all-namespaces" => all_namespaces = true,
            _ => match w.strip_prefix("--namespace=") {
                Some(ns) => namespace = Some(ns.to_string()),
                None => rest.push(w),
            },
        }
    }
    if all_namespaces && namespace.is_some() {
        return Err("-A and -n cannot be used together".to_string());
    }
    let ns_or_default = |ns: &Option<String>| ns.clone().unwrap_or_else(|| "default".into());
    match rest.as_slice() {
        ["get", res] => {
            let resource = Resource::from_kubectl_name(res).ok_or_else(|| {
                format!("unknown resource type \"{res}\" (the lab models: pods, nodes, namespaces, events, configmaps, secrets, deployments, replicasets, leases)")
            })?;
            Ok(KubectlCommand::Get {
                resource,
                namespace: if resource.is_namespaced() {
                    namespace
                } else {
                    None
                },
                all_namespaces,
            })
        }
        ["apply", "-f", file] | ["apply", "--filename", file] => {
            let stem = file
                .rsplit('/')
                .next()
                .unwrap_or(file)
                .trim_end_matches(".yaml")
                .trim_end_matches(".yml")
                .trim_end_matches(".json");
            if stem.is_empty() {
                return Err(format!("apply -f {file}: no name in the file name"));
            }
            Ok(KubectlCommand::Apply {
                file: file.to_string(),
                deployment: stem.to_string(),
                namespace: ns_or_default(&namespace),
            })
        }
        ["create", "namespace" | "ns", name] => Ok(KubectlCommand::CreateNamespace {
            name: name.to_string(),
        }),
        ["scale", kind, replicas, name]
            if is_deployment(kind) && replicas.starts_with("--replicas") =>
        {
            Ok(KubectlCommand::Scale {
                deployment: name.to_string(),
                namespace: ns_or_default(&namespace),
                replicas: parse_replicas(replicas)?,
            })
        }
        ["scale", kind, name, replicas] if is_deployment(kind) => Ok(KubectlCommand::Scale {
            deployment: name.to_string(),
            namespace: ns_or_default(&namespace),
            replicas: parse_replicas(replicas)?,
        }),
        [] => Err(format!("empty command: {USAGE}")),
        _ => Err(format!("unsupported command \"{}\": {USAGE}", line.trim())),
    }
}

fn is_deployment(kind: &str) -> bool {
    matches!(kind, "deployment" | "deployments" | "deploy")
}

fn parse_replicas(flag: &str) -> Result<u32, String> {
    let value = flag
        .strip_prefix("--replicas=")
        .ok_or_else(|| format!("expected --replicas=N, got \"{flag}\""))?;
    value
        .parse()
        .map_err(|_| format!("--replicas must be a non-negative integer, got \"{value}\""))
}

impl KubectlCommand {
    /// The etcd requests the command costs kube-apiserver, in order.
    /// - get: the items come from the watch cache; since Kubernetes 1.31
    ///   (ConsistentListFromCache) the apiserver first reads etcd's current revision with a
    ///   count-only Range and waits for the cache to reach it. Before 1.31 a plain `kubectl
    ///   get` (resourceVersion unset) was a quorum list from etcd itself. Either way a read:
    ///   it works under the NOSPACE alarm.
    /// - apply: kubectl GETs the live object (a single-object GET reads etcd), then PATCHes
    ///   (or creates) it: one Put.
    /// - create namespace: one Put (a Txn that the key does not exist yet).
    /// - scale: a PATCH of the scale subresource: one Put of the Deployment.
    ///
    /// Not included: the controllers' follow-up writes (new ReplicaSet, pods).
    pub fn etcd_requests(
        &self,
        deployment_size_bytes: u32,
        namespace_size_bytes: u32,
    ) -> Vec<EtcdRequest> {
        match self {
            KubectlCommand::Get {
                resource,
                namespace,
                all_namespaces,
            } => {
                let key = match (resource.is_namespaced(), *all_namespaces) {
                    (true, false) => format!(
                        "{}{}/",
                        resource.key_prefix(),
                        namespace.as_deref().unwrap_or("default")
                    ),
                    _ => resource.key_prefix().to_string(),
                };
                vec![EtcdRequest::Range {
                    key,
                    prefix: true,
                    count_only: true,
                }]
            }
            KubectlCommand::Apply {
                deployment,
                namespace,
                ..
            } => {
                let key = object_key(Resource::Deployments, Some(namespace), deployment);
                vec![
                    EtcdRequest::Range {
                        key: key.clone(),
                        prefix: false,
                        count_only: false,
                    },
                    EtcdRequest::Put {
                        key,
                        value_size_bytes: deployment_size_bytes,
                    },
                ]
            }
            KubectlCommand::CreateNamespace { name } => vec![EtcdRequest::Put {
                key: object_key(Resource::Namespaces, None, name),
                value_size_bytes: namespace_size_bytes,
            }],
            KubectlCommand::Scale {
                deployment,
                namespace,
                ..
            } => vec![EtcdRequest::Put {
                key: object_key(Resource::Deployments, Some(namespace), deployment),
                value_size_bytes: deployment_size_bytes,
            }],
        }
    }

    /// What the terminal shows when the command succeeds. `api` is the state before the
    /// command (apply prints `created` or `configured` depending on whether the Deployment
    /// exists; get lists the cache). A get prints the real header line, then one summary
    /// line instead of the rows.
    pub fn success_output(&self, api: &ApiServer) -> String {
        match self {
            KubectlCommand::Get {
                resource,
                namespace,
                all_namespaces,
            } => {
                let ns = match (resource.is_namespaced(), *all_namespaces) {
                    (true, false) => Some(namespace.as_deref().unwrap_or("default")),
                    _ => None,
                };
                let list = api.list(*resource, ns);
                if list.items.is_empty() {
                    // kubectl's "no resources" message (get.go), on stderr in real kubectl.
                    return match ns {
                        Some(ns) => format!("No resources found in {ns} namespace."),
                        None => "No resources found".to_string(),
                    };
                }
                let columns = table_columns(*resource);
                let header = if *all_namespaces && resource.is_namespaced() {
                    format!("NAMESPACE   {columns}")
                } else {
                    columns.to_string()
                };
                format!("{header}\n... ({} {})", list.items.len(), resource.as_str())
            }
            KubectlCommand::Apply { deployment, .. } => {
                let verb = if self.applies_to_existing(api) {
                    "configured"
                } else {
                    "created"
                };
                format!("deployment.apps/{deployment} {verb}")
            }
            KubectlCommand::CreateNamespace { name } => format!("namespace/{name} created"),
            KubectlCommand::Scale { deployment, .. } => {
                format!("deployment.apps/{deployment} scaled")
            }
        }
    }

    /// `apply` of a Deployment the apiserver already has: kubectl patches it (else creates).
    fn applies_to_existing(&self, api: &ApiServer) -> bool {
        match self {
            KubectlCommand::Apply {
                deployment,
                namespace,
                ..
            } => {
                let key = object_key(Resource::Deployments, Some(namespace), deployment);
                api.get(&key).is_some()
            }
            _ => false,
        }
    }

    /// What the terminal shows when the command's write fails with `status`. `apply -f`
    /// wraps the message with the file (kubectl's `AddSourceToErr`): on the create path
    /// `error when creating "<file>": `; on the patch path kubectl also prints the patch and
    /// the object, abbreviated here to `error when applying patch: ... for: "<file>": `.
    pub fn error_output(&self, api: &ApiServer, status: &ApiStatus) -> String {
        match self {
            KubectlCommand::Apply { file, .. } => {
                let verb = if self.applies_to_existing(api) {
                    "applying patch: ... for:"
                } else {
                    "creating"
                };
                let wrapped = ApiStatus {
                    message: format!("error when {verb} \"{file}\": {}", status.message),
                    ..status.clone()
                };
                kubectl_error_line(&wrapped)
            }
            _ => kubectl_error_line(status),
        }
    }
}

/// The column header kubectl prints for each resource (its default table printers).
fn table_columns(resource: Resource) -> &'static str {
    match resource {
        Resource::Pods => "NAME   READY   STATUS   RESTARTS   AGE",
        Resource::Nodes => "NAME   STATUS   ROLES   AGE   VERSION",
        Resource::Namespaces => "NAME   STATUS   AGE",
        Resource::Events => "LAST SEEN   TYPE   REASON   OBJECT   MESSAGE",
        Resource::ConfigMaps => "NAME   DATA   AGE",
        Resource::Secrets => "NAME   TYPE   DATA   AGE",
        Resource::Deployments => "NAME   READY   UP-TO-DATE   AVAILABLE   AGE",
        Resource::ReplicaSets => "NAME   DESIRED   CURRENT   READY   AGE",
        Resource::Leases => "NAME   HOLDER   AGE",
    }
}
