//! Unit tests: expected values are computed by hand from Prometheus 2.42's formulas.

use etcdlab_record::{AlertEpisode, MetricFamily, MetricType, Sample};

use crate::eval::{bucket_quantile, extrapolated_rate, Store};
use crate::*;

const S: u64 = 1_000_000_000;
const STEP: u64 = 15 * S;

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

/// A family whose series are named `name` exactly, one series per (member, points).
fn family(name: &str, metric_type: MetricType, series: &[(&str, Vec<(u64, f64)>)]) -> MetricFamily {
    let mut samples = Vec::new();
    for (member, points) in series {
        for &(t_s, value) in points {
            samples.push(Sample {
                suffix: "",
                labels: vec![("member".into(), member.to_string())],
                timestamp_ns: t_s * S,
                value,
            });
        }
    }
    MetricFamily {
        name: name.into(),
        help: String::new(),
        metric_type,
        samples,
    }
}

/// `(t_s, value)` every 15 s from `from_s` to `to_s` with `f(t_s)`.
fn every15(from_s: u64, to_s: u64, f: impl Fn(u64) -> f64) -> Vec<(u64, f64)> {
    (from_s..=to_s).step_by(15).map(|t| (t, f(t))).collect()
}

fn rule(name: &str, expr: &str, for_s: u64) -> CompiledRule {
    parse_rule(&AlertRule {
        name: name.into(),
        expr: expr.into(),
        for_ns: for_s * S,
        labels: vec![],
    })
    .unwrap()
}

fn eval_at(families: &[MetricFamily], expr: &str, t_s: u64) -> Vec<(Vec<(String, String)>, f64)> {
    let r = rule("X", expr, 0);
    r.eval(&Store::new(families), t_s * S)
        .unwrap()
        .into_iter()
        .map(|(l, v)| (l.into_iter().collect(), v))
        .collect()
}

fn ep(name: &str, member: &str, fired: f64, resolved: Option<f64>) -> AlertEpisode {
    AlertEpisode {
        name: name.into(),
        member: Some(member.into()),
        first_fired_s: fired,
        resolved_s: resolved,
    }
}

// ---- rate / increase ----

#[test]
fn increase_extrapolates_to_the_range_start_within_the_threshold() {
    // Window [0 s, 60 s]; samples 15..60 s: 30 more over 45 s; 15 s to the start (< 1.1 x 15 s)
    // and 0 s to the end are both extrapolated: 30 x 60 / 45 = 40.
    let p = [
        (15_000, 100.0),
        (30_000, 110.0),
        (45_000, 120.0),
        (60_000, 130.0),
    ];
    close(extrapolated_rate(&p, 0, 60_000, true, None).unwrap(), 40.0);
    close(
        extrapolated_rate(&p, 0, 60_000, true, Some(60_000)).unwrap(),
        40.0 / 60.0,
    );
}

#[test]
fn increase_extrapolates_half_an_interval_beyond_the_threshold() {
    // Window [0, 300 s]; samples 240..285 s: start is 240 s away (> 16.5 s): + 7.5 s; end 15 s
    // away: + 15 s. 30 x 67.5 / 45 = 45.
    let p = [
        (240_000, 100.0),
        (255_000, 110.0),
        (270_000, 120.0),
        (285_000, 130.0),
    ];
    close(extrapolated_rate(&p, 0, 300_000, true, None).unwrap(), 45.0);
    // rate over 5m: 45 / 300.
    close(
        extrapolated_rate(&p, 0, 300_000, true, Some(300_000)).unwrap(),
        0.15,
    );
}

#[test]
fn increase_does_not_extrapolate_a_counter_below_zero() {
    // First value 2, slope 30 per 45 s: zero was 3 s before the first sample, less than the
    // 7.5 s it would otherwise extrapolate: 30 x (45 + 3 + 15) / 45 = 42.
    let p = [
        (240_000, 2.0),
        (255_000, 12.0),
        (270_000, 22.0),
        (285_000, 32.0),
    ];
    close(extrapolated_rate(&p, 0, 300_000, true, None).unwrap(), 42.0);
    // delta() is not a counter: no zero clamp, 30 x 67.5 / 45 = 45.
    close(
        extrapolated_rate(&p, 0, 300_000, false, None).unwrap(),
        45.0,
    );
}

#[test]
fn increase_handles_a_counter_reset() {
    // 10, 20, reset to 5, 15: 5 + 20 = 25 raw; zero point 45 x 10/25 = 18 s > 15 s: 25 x 60/45.
    let p = [
        (15_000, 10.0),
        (30_000, 20.0),
        (45_000, 5.0),
        (60_000, 15.0),
    ];
    close(
        extrapolated_rate(&p, 0, 60_000, true, None).unwrap(),
        25.0 * 60.0 / 45.0,
    );
    close(
        extrapolated_rate(&p, 0, 60_000, true, Some(60_000)).unwrap(),
        25.0 / 45.0,
    );
    // delta ignores resets: 5 x 60 / 45.
    close(
        extrapolated_rate(&p, 0, 60_000, false, None).unwrap(),
        5.0 * 60.0 / 45.0,
    );
}

#[test]
fn rate_needs_two_samples() {
    assert_eq!(
        extrapolated_rate(&[(15_000, 1.0)], 0, 60_000, true, None),
        None
    );
}

#[test]
fn rate_through_promql_uses_inclusive_range_bounds() {
    let f = [family(
        "c_total",
        MetricType::Counter,
        &[("m1", every15(15, 600, |t| t as f64))],
    )];
    // increase(c_total[1m]) at 120 s: samples at 60, 75, 90, 105, 120 s (60 s inclusive):
    // 60 over 60 s, no extrapolation needed at either end: 60.
    let v = eval_at(&f, "increase(c_total[1m])", 120);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].0, vec![("member".to_string(), "m1".to_string())]);
    close(v[0].1, 60.0);
    let v = eval_at(&f, "rate(c_total[5m]) * 60", 600);
    close(v[0].1, 60.0);
}

// ---- histogram_quantile ----

fn buckets() -> Vec<(f64, f64)> {
    vec![
        (0.001, 10.0),
        (0.01, 50.0),
        (0.1, 90.0),
        (f64::INFINITY, 100.0),
    ]
}

#[test]
fn histogram_quantile_interpolates_inside_the_bucket() {
    close(bucket_quantile(0.5, buckets()), 0.01); // rank 50: top of (0.001, 0.01]
    close(bucket_quantile(0.3, buckets()), 0.001 + 0.009 * 20.0 / 40.0);
    close(bucket_quantile(0.05, buckets()), 0.0005); // first bucket starts at 0
    close(bucket_quantile(0.9, buckets()), 0.1);
    // Rank in the +Inf bucket: the highest finite bound.
    close(bucket_quantile(0.99, buckets()), 0.1);
    // Order does not matter; duplicate bounds are added up.
    let mut b = buckets();
    b.reverse();
    close(bucket_quantile(0.3, b), 0.0055);
}

#[test]
fn histogram_quantile_edge_cases() {
    assert!(
        bucket_quantile(0.5, buckets()[..3].to_vec()).is_nan(),
        "no +Inf"
    );
    assert!(bucket_quantile(0.5, vec![(1.0, 0.0), (f64::INFINITY, 0.0)]).is_nan());
    assert!(bucket_quantile(0.5, vec![(f64::INFINITY, 3.0)]).is_nan());
    assert_eq!(bucket_quantile(-1.0, buckets()), f64::NEG_INFINITY);
    assert_eq!(bucket_quantile(2.0, buckets()), f64::INFINITY);
    // Non-monotonic counts are made monotonic: (0.01, 5) counts as 10.
    let b = vec![(0.001, 10.0), (0.01, 5.0), (f64::INFINITY, 20.0)];
    close(bucket_quantile(0.5, b), 0.001);
}

#[test]
fn histogram_quantile_groups_by_all_labels_but_le() {
    let mut samples = Vec::new();
    for (member, counts) in [
        ("m1", [10.0, 50.0, 90.0, 100.0]),
        ("m2", [0.0, 0.0, 50.0, 100.0]),
    ] {
        for (le, c) in ["0.001", "0.01", "0.1", "+Inf"].iter().zip(counts) {
            samples.push(Sample {
                suffix: "_bucket",
                labels: vec![
                    ("member".into(), member.into()),
                    ("le".into(), le.to_string()),
                ],
                timestamp_ns: 15 * S,
                value: c,
            });
        }
    }
    let f = [MetricFamily {
        name: "h".into(),
        help: String::new(),
        metric_type: MetricType::Histogram,
        samples,
    }];
    let v = eval_at(&f, "histogram_quantile(0.3, h_bucket)", 15);
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].0, vec![("member".to_string(), "m1".to_string())]);
    close(v[0].1, 0.0055);
    // m2: rank 30 in (0.01, 0.1] holding 50: 0.01 + 0.09 x 30/50.
    close(v[1].1, 0.01 + 0.09 * 0.6);
}

// ---- the guide's 5-minute WAL fsync p99 ----

/// etcd's WAL fsync buckets (ExponentialBuckets(0.001, 2, 14)) of one member, scraped every
/// 15 s from 0 to `until_s`: each scrape interval up to `busy_until_s` adds 90 fsyncs of at
/// most 8 ms, 8 in (256, 512] ms and 2 in (512, 1024] ms; after it, none.
fn wal_fsync_family(until_s: u64, busy_until_s: u64) -> MetricFamily {
    let bounds: Vec<f64> = (0..14).map(|i| 0.001 * f64::from(1u32 << i)).collect();
    let mut samples = Vec::new();
    for t_s in (0..=until_s).step_by(15) {
        let steps = t_s.min(busy_until_s) / 15;
        let per_step = |le: f64| match le {
            le if le < 0.008 => 0.0,
            le if le < 0.512 => 90.0,
            le if le < 1.024 => 98.0,
            _ => 100.0,
        };
        let les = bounds.iter().map(|b| (b.to_string(), *b));
        for (le, bound) in les.chain([("+Inf".to_string(), f64::INFINITY)]) {
            samples.push(Sample {
                suffix: "_bucket",
                labels: vec![("member".into(), "m1".into()), ("le".into(), le)],
                timestamp_ns: t_s * S,
                value: per_step(bound) * steps as f64,
            });
        }
    }
    MetricFamily {
        name: "etcd_disk_wal_fsync_duration_seconds".into(),
        help: String::new(),
        metric_type: MetricType::Histogram,
        samples,
    }
}

#[test]
fn wal_fsync_p99_5m_by_hand() {
    // Over any full 5-minute window of the busy part: 20 scrapes x (90, 98, 100) = 1800 at or
    // below 8 ms ... 1960 at or below 512 ms, 2000 in all. Every bucket's rate has the same
    // extrapolation factor, so the quantile is that of the increases: rank 0.99 x 2000 = 1980
    // falls in (0.512, 1.024] holding 40, 20 into it: 0.512 + 0.512 x 20/40 = 0.768 s.
    let f = [wal_fsync_family(900, 600)];
    let series = evaluate_series(
        &f,
        WAL_FSYNC_P99_5M_EXPR,
        [300, 600, 900].map(|t| t * S).into_iter(),
    )
    .unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].0, vec![("member".to_string(), "m1".to_string())]);
    let points = &series[0].1;
    assert_eq!(
        points.len(),
        2,
        "no fsyncs in (600 s, 900 s]: NaN, left out: {points:?}"
    );
    assert_eq!((points[0].0, points[1].0), (300 * S, 600 * S));
    close(points[0].1, 0.768);
    close(points[1].1, 0.768);
    // The same expression drives EtcdDiskFsyncSlow: > 10 ms, so it is active at 300 s.
    assert_eq!(
        eval_at(&f, &format!("{WAL_FSYNC_P99_5M_EXPR} > 0.01"), 300).len(),
        1
    );
}

#[test]
fn wal_fsync_p99_5m_half_window_of_fsyncs() {
    // At 750 s the window [450 s, 750 s] holds 10 busy scrape intervals then flat counters: the
    // rate halves for every bucket alike and the p99 stays 0.768 s.
    let f = [wal_fsync_family(900, 600)];
    let v = eval_at(&f, WAL_FSYNC_P99_5M_EXPR, 750);
    close(v[0].1, 0.768);
}

// ---- selectors, lookback, operators ----

#[test]
fn instant_selector_looks_back_five_minutes_inclusive() {
    let f = [family("g", MetricType::Gauge, &[("m1", vec![(60, 7.0)])])];
    assert!(eval_at(&f, "g", 45).is_empty(), "nothing before the sample");
    assert_eq!(eval_at(&f, "g", 60)[0].1, 7.0);
    assert_eq!(eval_at(&f, "g", 360)[0].1, 7.0, "t - 5m is still in");
    assert!(eval_at(&f, "g", 375).is_empty(), "older than 5 min");
}

#[test]
fn comparison_filters_and_keeps_the_name_arithmetic_drops_it() {
    let f = [family(
        "g",
        MetricType::Gauge,
        &[("m1", vec![(15, 1.0)]), ("m2", vec![(15, 0.0)])],
    )];
    let v = eval_at(&f, "g == 0", 15);
    assert_eq!(v.len(), 1);
    assert!(v[0].0.contains(&("__name__".into(), "g".into())));
    assert!(v[0].0.contains(&("member".into(), "m2".into())));
    let v = eval_at(&f, "g * 2 + 1", 15);
    assert_eq!(v.iter().map(|s| s.1).collect::<Vec<_>>(), vec![3.0, 1.0]);
    assert!(!v[0].0.iter().any(|(k, _)| k == "__name__"));
    // Scalar on the left of a comparison: the vector's value is kept.
    let v = eval_at(&f, "0.5 < g", 15);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].1, 1.0);
    let v = eval_at(&f, "g > bool 0", 15);
    assert_eq!(v.iter().map(|s| s.1).collect::<Vec<_>>(), vec![1.0, 0.0]);
    // 1024^3 is a scalar expression.
    let v = eval_at(&f, "g / 1024^3 >= 0", 15);
    assert_eq!(v.len(), 2);
}

#[test]
fn vector_matching_and_aggregation() {
    let f = [
        family(
            "a",
            MetricType::Gauge,
            &[("m1", vec![(15, 4.0)]), ("m2", vec![(15, 9.0)])],
        ),
        family(
            "b",
            MetricType::Gauge,
            &[("m1", vec![(15, 2.0)]), ("m3", vec![(15, 1.0)])],
        ),
    ];
    let v = eval_at(&f, "a / b", 15);
    assert_eq!(v, vec![(vec![("member".into(), "m1".into())], 2.0)]);
    let v = eval_at(&f, "a > on(member) b", 15);
    assert_eq!(v, vec![(vec![("member".into(), "m1".into())], 4.0)]);
    assert_eq!(eval_at(&f, "a unless b", 15).len(), 1);
    assert_eq!(eval_at(&f, "a and b", 15).len(), 1);
    assert_eq!(eval_at(&f, "a or b", 15).len(), 3);
    assert_eq!(eval_at(&f, "sum(a)", 15), vec![(vec![], 13.0)]);
    assert_eq!(eval_at(&f, "max by (member) (a)", 15).len(), 2);
    assert_eq!(
        eval_at(&f, "count without (member) (a)", 15),
        vec![(vec![], 2.0)]
    );
    assert_eq!(eval_at(&f, "avg(a)", 15), vec![(vec![], 6.5)]);
    // absent: one series when nothing matches, labelled from the equality matchers.
    assert_eq!(
        eval_at(&f, r#"absent(a{member="m9"})"#, 15),
        vec![(vec![("member".into(), "m9".into())], 1.0)]
    );
    assert!(eval_at(&f, "absent(a)", 15).is_empty());
}

#[test]
fn unsupported_and_invalid_expressions_are_named() {
    for (expr, what) in [
        ("rate(x[5m] offset 1m) > 0", "offset"),
        ("max_over_time(rate(x[1m])[5m:1m]) > 0", "subquery"),
        ("a * on(member) group_left b", "group_left"),
        ("predict_linear(x[1h], 3600) < 0", "predict_linear"),
        ("topk(3, x)", "aggregation topk"),
        ("1 + 1", "scalar"),
        ("x >", "invalid PromQL"),
    ] {
        let err = parse_rule(&AlertRule {
            name: "Bad".into(),
            expr: expr.into(),
            for_ns: 0,
            labels: vec![],
        })
        .unwrap_err();
        assert!(err.contains(what) && err.contains("Bad"), "{expr}: {err}");
    }
}

// ---- the for state machine ----

#[test]
fn for_fires_after_the_hold_and_resolves_when_the_series_goes() {
    // 0 from 75 s to 180 s: pending at 75, firing at 135 (75 + 60), resolved at 195.
    let f = [family(
        "etcd_server_has_leader",
        MetricType::Gauge,
        &[(
            "m1",
            every15(15, 300, |t| if (75..=180).contains(&t) { 0.0 } else { 1.0 }),
        )],
    )];
    let r = [rule("NoLeader", "etcd_server_has_leader == 0", 60)];
    assert_eq!(
        evaluate(&f, &r, 300 * S, STEP),
        vec![ep("NoLeader", "m1", 135.0, Some(195.0))]
    );
    // Interrupted while pending: never fires.
    let f = [family(
        "etcd_server_has_leader",
        MetricType::Gauge,
        &[(
            "m1",
            every15(15, 300, |t| {
                if t == 120 {
                    1.0
                } else if t >= 75 {
                    0.0
                } else {
                    1.0
                }
            }),
        )],
    )];
    // 75..105 pending (dropped at 120), again from 135: fires at 195, still firing at the end.
    assert_eq!(
        evaluate(&f, &r, 300 * S, STEP),
        vec![ep("NoLeader", "m1", 195.0, None)]
    );
    // Without for: fires at the first evaluation.
    let r = [rule("NoLeader", "etcd_server_has_leader == 0", 0)];
    assert_eq!(evaluate(&f, &r, 300 * S, STEP)[0].first_fired_s, 75.0);
}

#[test]
fn a_gap_keeps_the_last_value_for_the_lookback() {
    // m2 reports no leader at 60 s and then stops reporting (crashed): the last sample stays
    // visible until 360 s (inclusive), so the alert fires at 120 s and resolves at 375 s.
    let f = [family(
        "etcd_server_has_leader",
        MetricType::Gauge,
        &[
            ("m1", every15(15, 600, |_| 1.0)),
            ("m2", vec![(15, 1.0), (30, 1.0), (45, 1.0), (60, 0.0)]),
        ],
    )];
    let r = [rule("NoLeader", "etcd_server_has_leader == 0", 60)];
    assert_eq!(
        evaluate(&f, &r, 600 * S, STEP),
        vec![ep("NoLeader", "m2", 120.0, Some(375.0))]
    );
}

#[test]
fn episodes_are_sorted_and_carry_the_rule_labels() {
    let f = [family(
        "g",
        MetricType::Gauge,
        &[
            ("m2", every15(15, 60, |_| 1.0)),
            ("m1", every15(30, 60, |_| 1.0)),
        ],
    )];
    let mut r = rule("B", "g > 0", 0);
    r.rule.labels = vec![
        ("severity".into(), "page".into()),
        ("member".into(), "x".into()),
    ];
    let rules = [rule("C", "g > 0", 0), r];
    let e = evaluate_detailed(&f, &rules, 60 * S, STEP);
    // Both m1 and m2 collapse to member="x" under B: duplicate label sets fail that rule's
    // evaluation from 30 s on (Prometheus' "same labelset after applying alert labels").
    let names: Vec<(&str, Option<&str>, u64)> = e
        .iter()
        .map(|e| (e.name.as_str(), e.label("member"), e.first_fired_ns / S))
        .collect();
    assert_eq!(
        names,
        vec![
            ("B", Some("x"), 15),
            ("C", Some("m2"), 15),
            ("C", Some("m1"), 30)
        ]
    );
    assert!(e[0].labels.contains(&("severity".into(), "page".into())));
}

// ---- the built-in rules on synthetic series ----

fn builtin() -> Vec<CompiledRule> {
    builtin_rules()
        .iter()
        .map(|r| parse_rule(r).unwrap())
        .collect()
}

#[test]
fn builtin_rules_parse_and_db_size_never_fires() {
    let rules = builtin();
    assert_eq!(rules.len(), 4);
    assert_eq!(
        rules[2].metric_names(),
        Some(vec!["etcd_mvcc_db_total_size_in_bytes".to_string()])
    );
    let f = [family(
        "etcd_server_has_leader",
        MetricType::Gauge,
        &[("m1", every15(15, 900, |_| 1.0))],
    )];
    assert!(evaluate(&f, &rules, 900 * S, STEP).is_empty());
}

/// A counter family (suffix `_total`), as the simulator writes them.
fn counter(name: &str, series: &[(&str, Vec<(u64, f64)>)]) -> MetricFamily {
    let mut f = family(name, MetricType::Counter, series);
    for s in &mut f.samples {
        s.suffix = "_total";
    }
    f
}

#[test]
fn builtin_high_number_of_leader_changes() {
    // One leader change a minute from 60 s; m1 restarts at 300 s (counter back to 0).
    let changes = |t: u64| (t / 60) as f64;
    let f = [counter(
        "etcd_server_leader_changes_seen",
        &[
            (
                "m1",
                every15(15, 285, changes)
                    .into_iter()
                    .chain(every15(315, 600, |t| ((t - 300) / 60) as f64))
                    .collect(),
            ),
            ("m2", every15(15, 600, changes)),
        ],
    )];
    let e = evaluate(&f, &builtin(), 600 * S, STEP);
    // The 1h window reaches back before the first sample, whose value is 0: the zero-point
    // rule stops the extrapolation at the first sample, and the end is 0 s away, so increase is
    // the raw increase: 3 at 180 s (not > 3), 4 at 240 s: fires at 240 s.
    let m2: Vec<&AlertEpisode> = e
        .iter()
        .filter(|e| e.member.as_deref() == Some("m2"))
        .collect();
    assert_eq!(m2.len(), 1);
    assert_eq!(m2[0].first_fired_s, 240.0);
    assert_eq!(m2[0].resolved_s, None);
    // m1's reset is counted as an increase, not a drop: it keeps firing through it.
    let m1: Vec<&AlertEpisode> = e
        .iter()
        .filter(|e| e.member.as_deref() == Some("m1"))
        .collect();
    assert_eq!(m1.len(), 1, "{e:?}");
    assert_eq!(m1[0].first_fired_s, 240.0);
}

#[test]
fn builtin_no_leader() {
    let f = [family(
        "etcd_server_has_leader",
        MetricType::Gauge,
        &[
            (
                "m1",
                every15(
                    15,
                    600,
                    |t| if (120..=300).contains(&t) { 0.0 } else { 1.0 },
                ),
            ),
            ("m2", every15(15, 600, |_| 1.0)),
        ],
    )];
    let e = evaluate(&f, &builtin(), 600 * S, STEP);
    assert_eq!(e, vec![ep("EtcdNoLeader", "m1", 180.0, Some(315.0))]);
}

/// WAL fsync buckets: `slow(t)` decides whether the fsyncs of the 15 s before `t` took 20 ms
/// (else 0.5 ms); 100 fsyncs per scrape.
fn fsync_family(members: &[&str], end_s: u64, slow: impl Fn(&str, u64) -> bool) -> MetricFamily {
    let bounds = ["0.001", "0.002", "0.004", "0.008", "0.016", "0.032", "+Inf"];
    let mut samples = Vec::new();
    for m in members {
        let (mut fast, mut slow_n) = (0.0, 0.0);
        for t in (15..=end_s).step_by(15) {
            if slow(m, t) {
                slow_n += 100.0;
            } else {
                fast += 100.0;
            }
            for (i, le) in bounds.iter().enumerate() {
                let count = if i >= 5 { fast + slow_n } else { fast };
                samples.push(Sample {
                    suffix: "_bucket",
                    labels: vec![
                        ("member".into(), m.to_string()),
                        ("le".into(), le.to_string()),
                    ],
                    timestamp_ns: t * S,
                    value: count,
                });
            }
        }
    }
    MetricFamily {
        name: "etcd_disk_wal_fsync_duration_seconds".into(),
        help: String::new(),
        metric_type: MetricType::Histogram,
        samples,
    }
}

#[test]
fn builtin_disk_fsync_slow() {
    // m1's fsyncs are slow from 60 s to 600 s. p99 over 5m > 10 ms as soon as more than 1 % of
    // the window's fsyncs are slow: at 75 s (the window sees 15 slow-scrape increments).
    // for 5m: firing at 375 s. After 600 s, the slow ones leave the 5m window at ~900 s.
    let f = [fsync_family(&["m1", "m2"], 1200, |m, t| {
        m == "m1" && (75..=600).contains(&t)
    })];
    let e = evaluate(&f, &builtin(), 1200 * S, STEP);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].name, "EtcdDiskFsyncSlow");
    assert_eq!(e[0].member.as_deref(), Some("m1"));
    assert_eq!(e[0].first_fired_s, 375.0);
    // Last window holding a slow increment: [t - 300, t] must contain 585..600 increments:
    // the rate still includes the 600 s sample's increase while 585 is in the window (t <= 885).
    assert_eq!(e[0].resolved_s, Some(900.0));
}
