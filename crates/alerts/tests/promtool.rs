//! Our alert firing times checked against Prometheus' own rule engine.
//!
//! For each case (synthetic series, and the series of two real runs in `fixtures/*.om`) the
//! built-in rules are evaluated here, and the series plus our verdicts (which alerts fire at
//! which evaluation) are written as a `promtool test rules` unit test. promtool then evaluates
//! the same rules over the same series and must agree.
//!
//! The generated files and promtool's output are committed under `fixtures/`:
//! - `rules.yml`, `<case>.test.yml`: must equal what this code generates (so the committed
//!   promtool verdict applies to the current evaluator);
//! - `<case>.promtool.txt`: promtool's output, which must say SUCCESS. With promtool
//!   installed (Debian's `prometheus` package, or `$PROMTOOL`) it is run and must print exactly
//!   that; without it, a loud warning is printed and only the fixture comparison is done.
//!
//! `ETCDLAB_BLESS=1 cargo test -p etcdlab-alerts --test promtool` rewrites the fixtures.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use etcdlab_alerts::{
    builtin_rules, check_times, evaluate_detailed, parse_rule, promtool_rules_file,
    promtool_test_file, CompiledRule, Episode,
};
use etcdlab_record::{MetricFamily, MetricType, Sample};

const S: u64 = 1_000_000_000;
const STEP: u64 = 15 * S;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn bless() -> bool {
    std::env::var_os("ETCDLAB_BLESS").is_some_and(|v| v == "1")
}

fn rules() -> Vec<CompiledRule> {
    builtin_rules()
        .iter()
        .map(|r| parse_rule(r).unwrap())
        .collect()
}

/// `text` must equal the fixture `name` (or, blessing, becomes it).
fn check_fixture(name: &str, text: &str) {
    let path = fixtures().join(name);
    if bless() {
        std::fs::write(&path, text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (ETCDLAB_BLESS=1 writes it)", path.display()));
    assert!(
        committed == text,
        "{} differs from what the evaluator generates now; if the change is intended, \
         regenerate with ETCDLAB_BLESS=1 (this reruns promtool)",
        path.display()
    );
}

/// Runs `promtool test rules` in a scratch dir holding the two files; None if not installed.
fn run_promtool(case: &str, rules_yml: &str, test_yml: &str) -> Option<(bool, String)> {
    let promtool = std::env::var_os("PROMTOOL").unwrap_or_else(|| "promtool".into());
    let dir = std::env::temp_dir().join(format!("etcdlab-alerts-{}-{case}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rules.yml"), rules_yml).unwrap();
    let test_name = format!("{case}.test.yml");
    std::fs::write(dir.join(&test_name), test_yml).unwrap();
    let out = Command::new(&promtool)
        .args(["test", "rules", &test_name])
        .current_dir(&dir)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    match out {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("running promtool: {e}"),
        Ok(out) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            Some((out.status.success(), text))
        }
    }
}

fn warn_no_promtool() {
    // Straight to stderr: the test harness hides eprintln! output of passing tests.
    let stars = "*".repeat(78);
    let _ = write!(
        std::io::stderr(),
        "\n{stars}\nWARNING: promtool not found; alert firing times NOT checked against promtool\n\
         (compared with the committed promtool output in crates/alerts/tests/fixtures only)\n\
         {stars}\n\n"
    );
}

/// Evaluates the built-in rules over `families`, checks the generated files against the
/// fixtures and promtool, and returns our episodes.
fn check_case(case: &str, families: &[MetricFamily], end_ns: u64) -> Vec<Episode> {
    let rules = rules();
    let episodes = evaluate_detailed(families, &rules, end_ns, STEP);
    let times = check_times(&episodes, end_ns, STEP);
    let test_yml =
        promtool_test_file(families, &rules, &episodes, &times, STEP, "rules.yml").unwrap();
    let rules_yml = promtool_rules_file(&builtin_rules());
    check_fixture("rules.yml", &rules_yml);
    check_fixture(&format!("{case}.test.yml"), &test_yml);
    let out_name = format!("{case}.promtool.txt");
    match run_promtool(case, &rules_yml, &test_yml) {
        Some((ok, out)) => {
            assert!(
                ok,
                "promtool disagrees with our evaluator on {case}:\n{out}\n\
                 (our episodes: {episodes:#?})"
            );
            check_fixture(&out_name, &out);
        }
        None => {
            warn_no_promtool();
            let out = std::fs::read_to_string(fixtures().join(&out_name)).unwrap();
            assert!(
                out.contains("SUCCESS") && !out.contains("FAILED"),
                "{out_name}: {out}"
            );
        }
    }
    episodes
}

/// (name, member, first fired s, resolved s) of each episode.
fn summary(episodes: &[Episode]) -> Vec<(String, String, u64, Option<u64>)> {
    episodes
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                e.label("member").unwrap_or("").to_string(),
                e.first_fired_ns / S,
                e.resolved_ns.map(|r| r / S),
            )
        })
        .collect()
}

fn fired(episodes: &[Episode], name: &str) -> usize {
    episodes.iter().filter(|e| e.name == name).count()
}

// ---- synthetic series ----

fn sample(suffix: &'static str, labels: &[(&str, &str)], t_s: u64, value: f64) -> Sample {
    Sample {
        suffix,
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        timestamp_ns: t_s * S,
        value,
    }
}

fn family(name: &str, metric_type: MetricType, samples: Vec<Sample>) -> MetricFamily {
    MetricFamily {
        name: name.into(),
        help: String::new(),
        metric_type,
        samples,
    }
}

/// 15 minutes, three members. m3 is cut off from 120 s to 300 s (no leader), then crashes at
/// 600 s (its series stop: a gap until the end) and comes back at 720 s with its counters reset.
/// The leader changes every 90 s from 60 s to 600 s. m1's WAL fsyncs are slow (20 ms) from
/// 180 s to 540 s.
fn synthetic() -> Vec<MetricFamily> {
    let members = ["m1", "m2", "m3"];
    let up = |m: &str, t: u64| m != "m3" || !(615..=705).contains(&t);
    let (mut has_leader, mut changes, mut fsync) = (vec![], vec![], vec![]);
    let bounds = ["0.001", "0.002", "0.004", "0.008", "0.016", "0.032", "+Inf"];
    for m in members {
        let (mut fast, mut slow) = (0.0, 0.0);
        for t in (15..=900).step_by(15) {
            if !up(m, t) {
                continue;
            }
            let restarted = m == "m3" && t >= 720;
            let l = if m == "m3" && (120..=300).contains(&t) {
                0.0
            } else {
                1.0
            };
            has_leader.push(sample("", &[("member", m)], t, l));
            let c = if restarted {
                0.0
            } else {
                (t.min(600).saturating_sub(60) / 90) as f64
            };
            changes.push(sample("_total", &[("member", m)], t, c));
            if restarted && t == 720 {
                (fast, slow) = (0.0, 0.0);
            }
            if m == "m1" && (195..=540).contains(&t) {
                slow += 50.0;
            } else {
                fast += 100.0;
            }
            for (i, le) in bounds.iter().enumerate() {
                let n = if i >= 5 { fast + slow } else { fast };
                fsync.push(sample("_bucket", &[("member", m), ("le", le)], t, n));
            }
        }
    }
    vec![
        family("etcd_server_has_leader", MetricType::Gauge, has_leader),
        family(
            "etcd_server_leader_changes_seen",
            MetricType::Counter,
            changes,
        ),
        family(
            "etcd_disk_wal_fsync_duration_seconds",
            MetricType::Histogram,
            fsync,
        ),
    ]
}

#[test]
fn synthetic_series_agree_with_promtool() {
    let e = check_case("synthetic", &synthetic(), 900 * S);
    let s = |n: &str, m: &str, f: u64, r: Option<u64>| (n.to_string(), m.to_string(), f, r);
    assert_eq!(
        summary(&e),
        vec![
            // 0 from 120 s: pending, firing 60 s later; resolved at the first 1 (315 s).
            s("EtcdNoLeader", "m3", 180, Some(315)),
            // Raw increase over the 1h window reaches 4 at 420 s (changes at 150, 240, 330,
            // 420 s). m3 keeps firing through its crash (the window still holds its earlier
            // samples) and its restart (the counter reset counts as an increase, not a drop).
            s("EtcdHighNumberOfLeaderChanges", "m1", 420, None),
            s("EtcdHighNumberOfLeaderChanges", "m2", 420, None),
            s("EtcdHighNumberOfLeaderChanges", "m3", 420, None),
            // Slow from the 195 s scrape: p99 > 10 ms at 195 s, firing 5 min later; resolved
            // once the 5m rate window no longer holds a slow increment.
            s("EtcdDiskFsyncSlow", "m1", 495, Some(840)),
        ]
    );
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// 20 minutes of `etcd_mvcc_db_total_size_in_bytes`, three members. m1 crosses 6 GiB at 300 s
/// and stays above; m2 sits at 5.9 GiB throughout; m3 goes above 6 GiB from 300 s to 525 s
/// (less than the rule's 5 minutes), then drops (a defrag) and never fires.
fn db_size() -> Vec<MetricFamily> {
    let mut samples = vec![];
    for m in ["m1", "m2", "m3"] {
        for t in (15..=1200).step_by(15) {
            let gib = match m {
                "m1" if t >= 300 => 6.0 + 0.001 * (t - 300) as f64 / 15.0,
                "m1" => 5.0 + t as f64 / 300.0,
                "m2" => 5.9,
                _ if (300..=525).contains(&t) => 6.2,
                _ => 2.0,
            };
            // Whole bytes, as etcd reports them.
            samples.push(sample("", &[("member", m)], t, (gib * GIB).round()));
        }
    }
    vec![family(
        "etcd_mvcc_db_total_size_in_bytes",
        MetricType::Gauge,
        samples,
    )]
}

#[test]
fn db_size_high_agrees_with_promtool() {
    let e = check_case("db-size", &db_size(), 1200 * S);
    let s = |n: &str, m: &str, f: u64, r: Option<u64>| (n.to_string(), m.to_string(), f, r);
    assert_eq!(
        summary(&e),
        // m1: exactly 6 GiB at 300 s is not above 6, 6.001 GiB at 315 s is: pending from 315 s,
        // firing 5 minutes later. m2 (5.9 GiB) and m3 (above for 225 s) never fire.
        vec![s("EtcdDatabaseSizeHigh", "m1", 615, None)]
    );
}

// ---- series of real runs ----

/// Reads OpenMetrics text as written by etcdlab (`name{labels} value timestamp`); each series
/// name becomes its own family with an empty suffix.
fn read_om(path: &Path) -> Vec<MetricFamily> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut families: BTreeMap<String, Vec<Sample>> = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, rest) = match line.find('}') {
            Some(i) => (&line[..=i], line[i + 1..].trim()),
            None => line.split_once(' ').unwrap(),
        };
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, l.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_string(), v.trim_matches('"').to_string())
            })
            .collect();
        let mut parts = rest.split_whitespace();
        let value: f64 = parts.next().unwrap().parse().unwrap();
        let t: f64 = parts.next().unwrap().parse().unwrap();
        families.entry(name.to_string()).or_default().push(Sample {
            suffix: "",
            labels,
            timestamp_ns: (t * 1000.0).round() as u64 * 1_000_000,
            value,
        });
    }
    families
        .into_iter()
        .map(|(name, samples)| family(&name, MetricType::Gauge, samples))
        .collect()
}

fn last_sample_ns(families: &[MetricFamily]) -> u64 {
    families
        .iter()
        .flat_map(|f| &f.samples)
        .map(|s| s.timestamp_ns)
        .max()
        .unwrap()
}

#[test]
fn leader_stall_failover_run_agrees_with_promtool() {
    let families = read_om(&fixtures().join("leader-stall-failover.om"));
    let end = last_sample_ns(&families);
    let e = check_case("leader-stall-failover", &families, end);
    // 15 leader changes in 6 minutes: every member's counter rises by > 3.
    assert_eq!(fired(&e, "EtcdHighNumberOfLeaderChanges"), 3, "{e:#?}");
    assert_eq!(fired(&e, "EtcdNoLeader"), 0);
    assert_eq!(fired(&e, "EtcdDiskFsyncSlow"), 0, "ssd: p99 fsync ~1.6 ms");
}

#[test]
fn partition_on_hdd_run_agrees_with_promtool() {
    let families = read_om(&fixtures().join("partition-hdd.om"));
    let end = last_sample_ns(&families);
    let e = check_case("partition-hdd", &families, end);
    assert!(fired(&e, "EtcdNoLeader") >= 1, "{e:#?}");
    assert!(fired(&e, "EtcdHighNumberOfLeaderChanges") >= 1, "{e:#?}");
    assert!(fired(&e, "EtcdDiskFsyncSlow") >= 1, "{e:#?}");
    assert_eq!(fired(&e, "EtcdDatabaseSizeHigh"), 0);
}

/// `ETCDLAB_OM=path/metrics.om cargo test -p etcdlab-alerts --test promtool -- --ignored
/// --nocapture`: the built-in rules' episodes over any metrics.om, and how long it took.
#[test]
#[ignore]
fn evaluate_any_metrics_om() {
    let Some(path) = std::env::var_os("ETCDLAB_OM") else {
        return;
    };
    let start = std::time::Instant::now();
    let families = read_om(Path::new(&path));
    let read = start.elapsed();
    let end = last_sample_ns(&families);
    let e = evaluate_detailed(&families, &rules(), end, STEP);
    println!("read {read:?}, evaluated in {:?}", start.elapsed() - read);
    for row in summary(&e) {
        println!("{row:?}");
    }
}
