//! `metrics.om`: OpenMetrics text exposition of the recorded metric families, with timestamps,
//! laid out so that `promtool tsdb create-blocks-from openmetrics` imports every sample.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::format::seconds_3;
use crate::{MetricFamily, MetricType, Sample};

/// The families as OpenMetrics text, ending with `# EOF` and a newline.
///
/// Within a family, samples are regrouped per series (labels other than `le`, in order of first
/// appearance) and ordered by time, keeping the input order otherwise: OpenMetrics wants each
/// metric's points contiguous and ascending, and promtool silently drops out-of-order samples.
pub fn openmetrics(families: &[MetricFamily]) -> String {
    let mut out = String::new();
    for family in families {
        write_family(&mut out, family);
    }
    out.push_str("# EOF\n");
    out
}

fn write_family(out: &mut String, family: &MetricFamily) {
    let name = &family.name;
    let _ = writeln!(out, "# HELP {name} {}", escape(&family.help));
    let _ = writeln!(out, "# TYPE {name} {}", type_name(family.metric_type));
    for sample in series_ordered(&family.samples) {
        let _ = writeln!(
            out,
            "{name}{}{} {} {}",
            sample.suffix,
            labels(&sample.labels),
            value(sample.value),
            seconds_3(sample.timestamp_ns)
        );
    }
}

fn type_name(t: MetricType) -> &'static str {
    match t {
        MetricType::Gauge => "gauge",
        MetricType::Counter => "counter",
        MetricType::Histogram => "histogram",
    }
}

/// The samples sorted by (series in first-appearance order, timestamp), stable otherwise so a
/// histogram point keeps its bucket, count, sum order.
fn series_ordered(samples: &[Sample]) -> Vec<&Sample> {
    let mut first_seen: BTreeMap<Vec<&(String, String)>, usize> = BTreeMap::new();
    let mut keyed: Vec<(usize, u64, &Sample)> = samples
        .iter()
        .map(|s| {
            let key: Vec<_> = s.labels.iter().filter(|(k, _)| k != "le").collect();
            let next = first_seen.len();
            let series = *first_seen.entry(key).or_insert(next);
            (series, s.timestamp_ns, s)
        })
        .collect();
    keyed.sort_by_key(|&(series, ts, _)| (series, ts));
    keyed.into_iter().map(|(_, _, s)| s).collect()
}

/// `{k="v",...}`, or nothing without labels.
fn labels(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// OpenMetrics escaping for label values and help text: backslash, double quote, line feed.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A sample value: integers without a decimal point or exponent, `+Inf`/`-Inf`/`NaN`, other
/// floats in Rust's shortest round-trip decimal form (never an exponent).
fn value(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(suffix: &'static str, labels: &[(&str, &str)], t_s: u64, value: f64) -> Sample {
        Sample {
            suffix,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            timestamp_ns: t_s * 1_000_000_000,
            value,
        }
    }

    #[test]
    fn exact_text_for_a_tiny_input() {
        let m1 = [("member", "m1")];
        let m2 = [("member", "m2")];
        let families = vec![
            MetricFamily {
                name: "etcd_server_has_leader".into(),
                help: "Whether or not a leader exists. 1 is existence, 0 is not.".into(),
                metric_type: MetricType::Gauge,
                samples: vec![
                    sample("", &m1, 15, 1.0),
                    sample("", &m2, 15, 0.0),
                    sample("", &m1, 30, 1.0),
                ],
            },
            MetricFamily {
                name: "etcd_server_leader_changes_seen".into(),
                help: "The number of leader changes seen.".into(),
                metric_type: MetricType::Counter,
                samples: vec![sample("_total", &m1, 15, 2.0)],
            },
            MetricFamily {
                name: "etcd_disk_wal_fsync_duration_seconds".into(),
                help: "The latency distributions of fsync called by WAL.".into(),
                metric_type: MetricType::Histogram,
                samples: vec![
                    sample("_bucket", &[("member", "m1"), ("le", "0.001")], 15, 3.0),
                    sample("_bucket", &[("member", "m1"), ("le", "+Inf")], 15, 4.0),
                    sample("_count", &m1, 15, 4.0),
                    sample("_sum", &m1, 15, 0.0125),
                ],
            },
        ];
        let expected = r#"# HELP etcd_server_has_leader Whether or not a leader exists. 1 is existence, 0 is not.
# TYPE etcd_server_has_leader gauge
etcd_server_has_leader{member="m1"} 1 15.000
etcd_server_has_leader{member="m1"} 1 30.000
etcd_server_has_leader{member="m2"} 0 15.000
# HELP etcd_server_leader_changes_seen The number of leader changes seen.
# TYPE etcd_server_leader_changes_seen counter
etcd_server_leader_changes_seen_total{member="m1"} 2 15.000
# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL.
# TYPE etcd_disk_wal_fsync_duration_seconds histogram
etcd_disk_wal_fsync_duration_seconds_bucket{member="m1",le="0.001"} 3 15.000
etcd_disk_wal_fsync_duration_seconds_bucket{member="m1",le="+Inf"} 4 15.000
etcd_disk_wal_fsync_duration_seconds_count{member="m1"} 4 15.000
etcd_disk_wal_fsync_duration_seconds_sum{member="m1"} 0.0125 15.000
# EOF
"#;
        assert_eq!(openmetrics(&families), expected);
    }

    #[test]
    fn empty_input_is_just_eof() {
        assert_eq!(openmetrics(&[]), "# EOF\n");
    }

    #[test]
    fn escapes_and_values() {
        assert_eq!(escape("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(labels(&[]), "");
        assert_eq!(value(1e6), "1000000");
        assert_eq!(value(-0.0), "0");
        assert_eq!(value(1e-7), "0.0000001");
        assert_eq!(value(f64::INFINITY), "+Inf");
        assert_eq!(value(f64::NAN), "NaN");
    }
}
