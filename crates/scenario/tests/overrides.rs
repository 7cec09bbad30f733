//! `--set PATH=VALUE` through the public API.

use etcdlab_scenario::*;

const S: Nanos = 1_000_000_000;
const SRC: &str = "duration = \"1h\"\nseed = 1\n\n[cluster]\nelection_timeout_ms = 1000\n\n\
                   [[timeline]]\nat = \"1m\"\naction = \"heal\"\n\n\
                   [[timeline]]\nat = \"2m\"\naction = \"pause\"\nmember = \"m1\"\n";

fn with_sets(sets: &[&str]) -> Result<Scenario, ScenarioError> {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    parse_str(SRC, "x.toml", &sets)
}

#[test]
fn scalar() {
    let s = with_sets(&["seed=42", "cluster.election_timeout_ms=3000"]).unwrap();
    assert_eq!(s.seed, 42);
    assert_eq!(s.cluster.election_timeout_ms, 3000);
    // The default request timeout follows the overridden election timeout.
    assert_eq!(s.workload.request_timeout_ns, 11 * S);
}

#[test]
fn nested_and_missing_tables_are_created() {
    let s = with_sets(&[
        "disk.fsync_latency_ms.median=2",
        "disk.fsync_latency_ms.sigma=0.1",
        "disk.fsync_latency_ms.dist=lognormal",
    ])
    .unwrap();
    assert_eq!(
        s.disks[0].fsync_latency_ms,
        Dist::LogNormal {
            median: 2.0,
            sigma: 0.1
        }
    );
    let s = with_sets(&["workload.writes_per_s=250"]).unwrap();
    assert_eq!(s.workload.writes_per_s, 250.0);
}

#[test]
fn inline_table_value() {
    let s = with_sets(&["network.one_way_latency_ms={ dist = \"constant\", value = 1 }"]).unwrap();
    assert_eq!(s.network.one_way_latency_ms, Dist::constant(1.0));
}

#[test]
fn array_index_and_string_fallback() {
    let s = with_sets(&["timeline.1.at=3s", "timeline.0.at=\"30s\""]).unwrap();
    assert_eq!(s.timeline[1].at_ns, 3 * S);
    assert_eq!(s.timeline[0].at_ns, 30 * S);
    let s = with_sets(&["timeline.1.member=m2", "name=nightly"]).unwrap();
    assert_eq!(
        s.timeline[1].action,
        Action::Pause {
            member: MemberRef::Member(1),
            duration_ns: None
        }
    );
    assert_eq!(s.name, "nightly");
}

#[test]
fn bad_paths() {
    let e = with_sets(&["timeline.5.at=3s"]).unwrap_err();
    assert_eq!(e.file, "--set");
    assert_eq!(e.field.as_deref(), Some("timeline.5.at"));
    assert!(
        e.message
            .contains("past the end of `timeline`, which has 2 entries"),
        "{e}"
    );
    let e = with_sets(&["seed.x=1"]).unwrap_err();
    assert_eq!(
        (e.file.as_str(), e.field.as_deref()),
        ("--set", Some("seed.x"))
    );
    let e = with_sets(&["seed"]).unwrap_err();
    assert!(
        e.to_string().starts_with("--set: expected PATH=VALUE"),
        "{e}"
    );
    let e = with_sets(&["cluster..size=3"]).unwrap_err();
    assert_eq!(e.file, "--set");
}

#[test]
fn invalid_values_get_the_normal_validation() {
    // A new key has no line: blamed on --set.
    let e = with_sets(&["cluster.size=9"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--set: cluster.size: 9 is out of range: a cluster has 1 to 7 members"
    );
    let e = with_sets(&["cluster.sise=3"]).unwrap_err();
    assert_eq!(
        (e.file.as_str(), e.field.as_deref()),
        ("--set", Some("cluster.sise"))
    );
    assert!(e.message.contains("unknown key"), "{e}");
    // A replaced key keeps the file's line.
    let e = with_sets(&["cluster.election_timeout_ms=100"]).unwrap_err();
    assert_eq!((e.file.as_str(), e.line), ("x.toml", Some(5)));
    assert!(
        e.message.contains("below 5 x") && e.message.contains("--set"),
        "{e}"
    );
    let e = with_sets(&["timeline.1.member=m9"]).unwrap_err();
    assert_eq!(
        (e.line, e.field.as_deref()),
        (Some(14), Some("timeline.1.member"))
    );
}
