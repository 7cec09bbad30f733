//! kube-apiserver: watch cache lists, the compactor, error texts and kubectl commands.

use etcdlab_kube::{
    kubectl_apiserver_refused, parse_kubectl, write_error, ApiServer, Compactor, EtcdError,
    EtcdRequest, KubeAction, KubeWorkload, KubeWorkloadConfig, KubectlCommand, Resource,
    REQUEST_TIMEOUT_NS,
};
use etcdlab_sim::rng::stream;
use etcdlab_sim::NANOS_PER_S;

fn cache_with(events: &[(&str, bool, i64, u32)]) -> ApiServer {
    let mut api = ApiServer::new();
    for &(key, is_delete, rev, size) in events {
        api.on_event(key, is_delete, rev, size);
    }
    api
}

#[test]
fn list_reflects_puts_and_deletes_per_namespace() {
    let api = cache_with(&[
        ("/registry/pods/default/a", false, 2, 100),
        ("/registry/pods/default/b", false, 3, 200),
        ("/registry/pods/team-00/c", false, 4, 300),
        ("/registry/pods/default/a", false, 5, 150),
        ("/registry/pods/default/b", true, 6, 0),
        ("/registry/minions/node-0000", false, 7, 12_000),
    ]);
    let all = api.list(Resource::Pods, None);
    let names: Vec<(&str, &str)> = all
        .items
        .iter()
        .map(|i| (i.namespace.as_deref().unwrap(), i.name.as_str()))
        .collect();
    assert_eq!(names, [("default", "a"), ("team-00", "c")]);
    assert_eq!(all.bytes, 450);
    assert_eq!(all.resource_version, 6);
    assert_eq!(all.items[0].mod_revision, 5);

    let default = api.list(Resource::Pods, Some("default"));
    assert_eq!(default.items.len(), 1);
    assert_eq!(default.bytes, 150);
    // A namespace whose name is a prefix of another must not match it.
    assert!(api.list(Resource::Pods, Some("team-0")).items.is_empty());

    let nodes = api.list(Resource::Nodes, None);
    assert_eq!(nodes.items[0].name, "node-0000");
    assert_eq!(nodes.items[0].namespace, None);
    assert_eq!(nodes.resource_version, 7);
    assert!(api.list(Resource::Secrets, None).items.is_empty());
}

#[test]
fn keys_outside_the_modelled_resources_are_ignored() {
    let mut api = ApiServer::new();
    assert!(!api.on_event("compact_rev_key", false, 9, 3));
    assert!(!api.on_event("/registry/services/specs/default/x", false, 9, 3));
    assert!(api.on_event("/registry/leases/kube-node-lease/node-0000", false, 9, 350));
    assert_eq!(api.count(Resource::Leases), 1);
}

#[test]
fn cache_fed_by_the_workload_holds_every_live_object() {
    let cfg = KubeWorkloadConfig::default();
    let mut w = KubeWorkload::new(cfg.clone(), stream(4, "kube"));
    let mut api = ApiServer::new();
    let mut rev = 1;
    loop {
        let op = w.next_op();
        if op.at_ns > 3 * 3_600 * NANOS_PER_S {
            break;
        }
        rev += 1;
        match op.action {
            KubeAction::Put {
                key,
                value_size_bytes,
                ..
            } => api.on_event(&key, false, rev, value_size_bytes),
            KubeAction::Delete { key } => api.on_event(&key, true, rev, 0),
            KubeAction::LeaseGrant { .. } => true,
        };
    }
    // Replacements keep the pod count, up to the pods still terminating.
    let pods = api.count(Resource::Pods) as u32;
    assert!(
        (cfg.total_pods()..=cfg.total_pods() + 5).contains(&pods),
        "{pods}"
    );
    assert_eq!(api.count(Resource::Nodes) as u32, cfg.nodes);
    assert_eq!(api.count(Resource::Namespaces), 10);
    assert_eq!(api.count(Resource::ConfigMaps) as u32, cfg.configmaps);
    // Events are only removed by their lease's expiry, which is etcd's job.
    assert!(api.count(Resource::Events) > 1_000);
}

#[test]
fn etcd_write_errors_as_kubectl_prints_them() {
    let cmd = parse_kubectl("kubectl create namespace x").unwrap();
    let api = ApiServer::new();
    let (status, after_ns) = write_error(EtcdError::NoSpace, 2_000_000);
    assert_eq!((status.code, status.reason), (500, ""));
    assert_eq!(after_ns, 2_000_000, "NOSPACE is refused at once");
    assert_eq!(
        cmd.error_output(&api, &status),
        "Error from server: etcdserver: mvcc: database space exceeded"
    );

    let (status, after_ns) = write_error(EtcdError::RequestTimedOut, 7 * NANOS_PER_S);
    assert_eq!(after_ns, 7 * NANOS_PER_S);
    assert_eq!(
        cmd.error_output(&api, &status),
        "Error from server: etcdserver: request timed out"
    );

    // etcd down: the apiserver's client redials until the request deadline.
    let (status, after_ns) = write_error(EtcdError::ConnectionRefused, 0);
    assert_eq!(after_ns, REQUEST_TIMEOUT_NS);
    assert_eq!((status.code, status.reason), (504, "Timeout"));
    assert_eq!(
        cmd.error_output(&api, &status),
        "Error from server (Timeout): Timeout: request did not complete within requested \
         timeout - context deadline exceeded"
    );
    // Any etcd answer later than the deadline is a timeout too.
    let (late, _) = write_error(EtcdError::RequestTimedOut, 61 * NANOS_PER_S);
    assert_eq!(late, status);

    assert_eq!(
        kubectl_apiserver_refused("10.0.0.1:6443"),
        "The connection to the server 10.0.0.1:6443 was refused - did you specify the right \
         host or port?"
    );
}

#[test]
fn apply_errors_name_the_file() {
    let cmd = parse_kubectl("apply -f manifests/web.yaml").unwrap();
    let (status, _) = write_error(EtcdError::NoSpace, 0);
    let empty = ApiServer::new();
    assert_eq!(
        cmd.error_output(&empty, &status),
        "Error from server: error when creating \"manifests/web.yaml\": etcdserver: mvcc: \
         database space exceeded"
    );
    let existing = cache_with(&[("/registry/deployments/default/web", false, 2, 3_000)]);
    assert!(cmd
        .error_output(&existing, &status)
        .starts_with("Error from server: error when applying patch: "));
}

#[test]
fn kubectl_parses_the_supported_commands() {
    assert_eq!(
        parse_kubectl("kubectl get pods -A").unwrap(),
        KubectlCommand::Get {
            resource: Resource::Pods,
            namespace: None,
            all_namespaces: true
        }
    );
    assert_eq!(
        parse_kubectl("get cm -n team-01").unwrap(),
        KubectlCommand::Get {
            resource: Resource::ConfigMaps,
            namespace: Some("team-01".into()),
            all_namespaces: false
        }
    );
    assert_eq!(
        parse_kubectl("apply -f web.yaml -n prod").unwrap(),
        KubectlCommand::Apply {
            file: "web.yaml".into(),
            deployment: "web".into(),
            namespace: "prod".into()
        }
    );
    assert_eq!(
        parse_kubectl("create ns x").unwrap(),
        KubectlCommand::CreateNamespace { name: "x".into() }
    );
    let scale = KubectlCommand::Scale {
        deployment: "web".into(),
        namespace: "default".into(),
        replicas: 5,
    };
    assert_eq!(
        parse_kubectl("scale deployment web --replicas=5").unwrap(),
        scale
    );
    assert_eq!(
        parse_kubectl("scale deploy --replicas=5 web").unwrap(),
        scale
    );
}

#[test]
fn kubectl_parse_errors_say_what_is_wrong() {
    let err = |s: &str| parse_kubectl(s).unwrap_err();
    assert!(err("get widgets").contains("unknown resource type \"widgets\""));
    assert!(err("scale deployment web --replicas=many").contains("non-negative integer"));
    assert!(err("scale deployment web 3").contains("expected --replicas=N"));
    assert!(err("get pods -n").contains("needs a namespace"));
    assert!(err("get pods -A -n x").contains("cannot be used together"));
    assert!(err("delete pod x").contains("unsupported command \"delete pod x\""));
    assert!(err("kubectl").contains("empty command"));
}

#[test]
fn commands_cost_these_etcd_requests() {
    let get = parse_kubectl("get pods -A").unwrap();
    assert_eq!(
        get.etcd_requests(3_000, 300),
        [EtcdRequest::Range {
            key: "/registry/pods/".into(),
            prefix: true,
            count_only: true
        }]
    );
    let apply = parse_kubectl("apply -f web.yaml").unwrap();
    let reqs = apply.etcd_requests(3_000, 300);
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[1],
        EtcdRequest::Put {
            key: "/registry/deployments/default/web".into(),
            value_size_bytes: 3_000
        }
    );
    assert_eq!(
        parse_kubectl("create namespace x")
            .unwrap()
            .etcd_requests(3_000, 300),
        [EtcdRequest::Put {
            key: "/registry/namespaces/x".into(),
            value_size_bytes: 300
        }]
    );
}

#[test]
fn success_outputs() {
    let mut api = cache_with(&[
        ("/registry/pods/default/a", false, 2, 100),
        ("/registry/pods/team-00/c", false, 4, 300),
    ]);
    let get_all = parse_kubectl("get pods -A").unwrap();
    assert_eq!(
        get_all.success_output(&api),
        "NAMESPACE   NAME   READY   STATUS   RESTARTS   AGE\n... (2 pods)"
    );
    let get_ns = parse_kubectl("get pods -n team-00").unwrap();
    assert_eq!(
        get_ns.success_output(&api),
        "NAME   READY   STATUS   RESTARTS   AGE\n... (1 pods)"
    );
    assert_eq!(
        parse_kubectl("get pods -n empty")
            .unwrap()
            .success_output(&api),
        "No resources found in empty namespace."
    );
    let apply = parse_kubectl("apply -f web.yaml").unwrap();
    assert_eq!(apply.success_output(&api), "deployment.apps/web created");
    api.on_event("/registry/deployments/default/web", false, 5, 3_000);
    assert_eq!(apply.success_output(&api), "deployment.apps/web configured");
    assert_eq!(
        parse_kubectl("create namespace x")
            .unwrap()
            .success_output(&api),
        "namespace/x created"
    );
    assert_eq!(
        parse_kubectl("scale deployment web --replicas=2")
            .unwrap()
            .success_output(&api),
        "deployment.apps/web scaled"
    );
}

#[test]
fn compactor_compacts_to_the_revision_of_the_previous_round() {
    let interval = 300 * NANOS_PER_S;
    let mut c = Compactor::new(interval);
    assert_eq!(c.next_round_ns(), Some(interval));
    assert_eq!(c.txn().key, "compact_rev_key");
    // First round: nothing to compact yet.
    assert_eq!(c.on_txn_result(interval, Ok(1_000)), None);
    assert_eq!(c.txn().value_size_bytes, 4);
    assert_eq!(c.on_txn_result(2 * interval, Ok(5_000)), Some(1_000));
    // NOSPACE: the Txn's Put fails, nothing is compacted, the next round retries.
    assert_eq!(c.on_txn_result(3 * interval, Err(EtcdError::NoSpace)), None);
    assert_eq!(c.next_round_ns(), Some(4 * interval));
    assert_eq!(c.on_txn_result(4 * interval, Ok(9_000)), Some(5_000));
    assert_eq!(Compactor::new(0).next_round_ns(), None);
}
