//! metrics.om is valid OpenMetrics that Prometheus imports completely (`promtool tsdb
//! create-blocks-from openmetrics` silently drops out-of-order and duplicate samples), with
//! the etcd metric families operators know.

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;

/// follower-stall's metrics.om, written once per test process.
fn om_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("metrics_import");
        let _ = std::fs::remove_dir_all(&dir);
        let o = etcdlab_run([
            "run".as_ref(),
            "scenarios/follower-stall.toml".as_ref(),
            "--out".as_ref(),
            dir.as_os_str(),
        ]);
        o.assert_code(0);
        dir.join("metrics.om")
    })
}

fn om_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| std::fs::read_to_string(om_path()).expect("metrics.om"))
}

#[test]
fn promtool_imports_every_sample() {
    match etcdlab_report::promtool_check(om_path()) {
        Ok(etcdlab_report::PromtoolCheck::NotInstalled) => {
            // Straight to stderr: the test harness hides eprintln! output of passing tests.
            use std::io::Write;
            let stars = "*".repeat(65);
            let _ = write!(
                std::io::stderr(),
                "\n{stars}\nWARNING: promtool not found; metrics.om import NOT checked\n{stars}\n\n"
            );
        }
        Ok(check) => assert!(
            check.all_imported(),
            "promtool did not import every sample of {}: {check:?} \
             (promtool drops duplicate and out-of-order samples of a series)",
            om_path().display()
        ),
        Err(e) => panic!("promtool failed on {}: {e}", om_path().display()),
    }
}

/// One sample line: `name{labels} value [timestamp]`.
#[derive(Debug)]
struct Sample<'a> {
    line: usize,
    name: &'a str,
    /// The label set as written, without the braces ("" when there is none).
    labels: &'a str,
    value: f64,
    timestamp: Option<f64>,
}

impl Sample<'_> {
    fn label(&self, key: &str) -> Option<&str> {
        let prefix = format!("{key}=\"");
        self.labels
            .split(',')
            .find_map(|kv| kv.strip_prefix(prefix.as_str()))
            .map(|v| v.trim_end_matches('"'))
    }

    /// The series: name and labels.
    fn series(&self) -> String {
        format!("{}{{{}}}", self.name, self.labels)
    }
}

/// `# TYPE` by family, and the samples, in file order.
struct Parsed<'a> {
    types: BTreeMap<&'a str, &'a str>,
    /// Families in the order of their `# TYPE` lines.
    order: Vec<&'a str>,
    samples: Vec<Sample<'a>>,
    /// For each sample, the family whose metadata came last before it.
    sample_family: Vec<&'a str>,
}

fn parse(text: &str) -> Parsed<'_> {
    let mut p = Parsed {
        types: BTreeMap::new(),
        order: Vec::new(),
        samples: Vec::new(),
        sample_family: Vec::new(),
    };
    let mut current = "";
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (family, ty) = rest.split_once(' ').expect("# TYPE name type");
            assert!(
                p.types.insert(family, ty).is_none(),
                "metrics.om:{n}: a second # TYPE for {family}"
            );
            p.order.push(family);
            current = family;
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        assert!(!line.is_empty(), "metrics.om:{n}: empty line");
        let (series, rest) = match line.find('{') {
            Some(open) if open < line.find(' ').unwrap_or(usize::MAX) => {
                let close = open + line[open..].find("} ").expect("closing brace") + 1;
                (&line[..close], line[close..].trim_start())
            }
            _ => line.split_once(' ').expect("name value"),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (name, labels.trim_end_matches('}')),
            None => (series, ""),
        };
        let mut parts = rest.split(' ');
        let value = parts.next().expect("a value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("metrics.om:{n}: bad value {v:?}")),
        };
        let timestamp = parts.next().map(|t| {
            t.parse::<f64>()
                .unwrap_or_else(|_| panic!("metrics.om:{n}: bad timestamp {t:?}"))
        });
        assert!(parts.next().is_none(), "metrics.om:{n}: extra fields");
        p.samples.push(Sample {
            line: n,
            name,
            labels,
            value,
            timestamp,
        });
        p.sample_family.push(current);
    }
    p
}

/// The sample names a family of type `ty` may use.
fn allowed_names(family: &str, ty: &str) -> Vec<String> {
    match ty {
        "counter" => vec![format!("{family}_total"), format!("{family}_created")],
        "histogram" => vec![
            format!("{family}_bucket"),
            format!("{family}_count"),
            format!("{family}_sum"),
            format!("{family}_created"),
        ],
        _ => vec![family.to_string()],
    }
}

#[test]
fn ends_with_eof() {
    let text = om_text();
    assert!(
        text.ends_with("# EOF\n"),
        "metrics.om must end with `# EOF\\n`"
    );
    assert_eq!(text.matches("# EOF").count(), 1, "`# EOF` must appear once");
}

#[test]
fn has_the_etcd_families() {
    let p = parse(om_text());
    let expected = [
        ("etcd_server_has_leader", None),
        ("etcd_server_is_leader", None),
        ("etcd_server_leader_changes_seen", Some("counter")),
        ("etcd_server_proposals_committed_total", None),
        ("etcd_server_proposals_applied_total", None),
        ("etcd_server_proposals_pending", None),
        ("etcd_server_proposals_failed", None),
        ("etcd_server_heartbeat_send_failures", None),
        ("etcd_disk_wal_fsync_duration_seconds", Some("histogram")),
        (
            "etcd_network_peer_round_trip_time_seconds",
            Some("histogram"),
        ),
    ];
    for (family, ty) in expected {
        let Some(actual) = p.types.get(family) else {
            panic!("metrics.om has no family {family}; families: {:?}", p.order);
        };
        if let Some(ty) = ty {
            assert_eq!(*actual, ty, "type of {family}");
        }
        assert!(
            p.sample_family.contains(&family),
            "family {family} has no samples"
        );
    }
    // The counter's samples are `_total`.
    assert!(p
        .samples
        .iter()
        .any(|s| s.name == "etcd_server_leader_changes_seen_total"));
    assert!(!p
        .samples
        .iter()
        .any(|s| s.name == "etcd_server_leader_changes_seen"));
}

#[test]
fn samples_belong_to_their_family_and_families_are_not_interleaved() {
    let p = parse(om_text());
    for (s, family) in p.samples.iter().zip(&p.sample_family) {
        assert!(
            !family.is_empty(),
            "metrics.om:{}: sample before any # TYPE",
            s.line
        );
        let allowed = allowed_names(family, p.types[family]);
        assert!(
            allowed.iter().any(|a| a == s.name),
            "metrics.om:{}: sample {} under family {family} ({}); expected one of {allowed:?}",
            s.line,
            s.name,
            p.types[family]
        );
    }
}

#[test]
fn histograms_have_etcds_buckets() {
    let p = parse(om_text());
    let expect = |family: &str, start: f64, count: i32| {
        let mut want: BTreeSet<String> = (0..count)
            .map(|i| format_le(start * f64::from(1u32 << i)))
            .collect();
        want.insert("+Inf".into());
        let bucket = format!("{family}_bucket");
        let got: BTreeSet<String> = p
            .samples
            .iter()
            .filter(|s| s.name == bucket)
            .map(|s| s.label("le").expect("le label").to_string())
            .collect();
        assert_eq!(got, want, "le buckets of {family}");
        for suffix in ["_count", "_sum"] {
            let name = format!("{family}{suffix}");
            assert!(
                p.samples.iter().any(|s| s.name == name),
                "no {name} samples"
            );
        }
    };
    // etcd: prometheus.ExponentialBuckets(0.001, 2, 14) and (0.0001, 2, 16).
    expect("etcd_disk_wal_fsync_duration_seconds", 0.001, 14);
    expect("etcd_network_peer_round_trip_time_seconds", 0.0001, 16);
}

/// `le` as written by Prometheus clients: the shortest decimal.
fn format_le(v: f64) -> String {
    let s = format!("{:.6}", v);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[test]
fn histogram_buckets_are_cumulative() {
    let p = parse(om_text());
    // (series without le, timestamp) -> [(le, value)]
    let mut groups: BTreeMap<(String, String), Vec<(f64, f64)>> = BTreeMap::new();
    let mut counts: BTreeMap<(String, String), f64> = BTreeMap::new();
    for s in &p.samples {
        let value = s.value;
        let ts = format!("{:?}", s.timestamp);
        if let Some(family) = s.name.strip_suffix("_bucket") {
            let le = s.label("le").unwrap();
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            let rest: Vec<&str> = s
                .labels
                .split(',')
                .filter(|kv| !kv.starts_with("le="))
                .collect();
            groups
                .entry((format!("{family}{{{}}}", rest.join(",")), ts))
                .or_default()
                .push((le, value));
        } else if let Some(family) = s.name.strip_suffix("_count") {
            counts.insert((format!("{family}{{{}}}", s.labels), ts), value);
        }
    }
    assert!(!groups.is_empty());
    for (key, mut buckets) in groups {
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        for w in buckets.windows(2) {
            assert!(
                w[0].1 <= w[1].1,
                "{key:?}: bucket le={} has {} > le={} with {}",
                w[0].0,
                w[0].1,
                w[1].0,
                w[1].1
            );
        }
        let inf = buckets.last().unwrap();
        assert!(inf.0.is_infinite(), "{key:?}: no +Inf bucket");
        assert_eq!(
            counts.get(&key),
            Some(&inf.1),
            "{key:?}: _count must equal the +Inf bucket"
        );
    }
}

#[test]
fn timestamps_per_series_are_non_decreasing() {
    let p = parse(om_text());
    let mut last: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for s in &p.samples {
        let ts = s
            .timestamp
            .unwrap_or_else(|| panic!("metrics.om:{}: no timestamp", s.line));
        if let Some((line, prev)) = last.insert(s.series(), (s.line, ts)) {
            assert!(
                ts >= prev,
                "metrics.om:{}: {} goes back in time: {ts} after {prev} (line {line})",
                s.line,
                s.series()
            );
        }
    }
}

/// Stricter than the above: promtool keeps only one sample per series and timestamp, so a
/// second sample at the same time is silently lost on import.
#[test]
fn no_series_has_two_samples_at_one_timestamp() {
    let p = parse(om_text());
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut duplicates = Vec::new();
    for s in &p.samples {
        let key = (s.series(), format!("{:?}", s.timestamp));
        if let Some(first) = seen.insert(key, s.line) {
            duplicates.push(format!(
                "metrics.om:{}: {} again at t={:?} (first at line {first})",
                s.line,
                s.series(),
                s.timestamp
            ));
        }
    }
    assert!(
        duplicates.is_empty(),
        "{} duplicate samples (promtool drops them); the first ones:\n{}",
        duplicates.len(),
        duplicates[..duplicates.len().min(5)].join("\n")
    );
}
