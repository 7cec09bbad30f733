//! Small text formatters shared by the report, the charts and the metrics. All of them are pure
//! integer or fixed-precision formatting, so their output never depends on the platform.

use crate::Nanos;

const NS_PER_MS: u64 = 1_000_000;
const NS_PER_S: u64 = 1_000_000_000;

/// Simulated time as `h:mm:ss.mmm` (truncated to the millisecond).
pub fn hms_millis(ns: Nanos) -> String {
    let ms = ns / NS_PER_MS;
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    format!("{h}:{m:02}:{:02}.{:03}", rest / 1000, rest % 1000)
}

/// Runs longer than this show times as days + h:mm ([`run_time`]).
pub const LONG_RUN_NS: Nanos = 2 * 86_400 * NS_PER_S;

/// A moment of a run of `run_ns`: `h:mm:ss.mmm`, or `3d 4:05` (truncated to the minute) when the
/// run is longer than two days, where milliseconds are noise and hours overflow.
pub fn run_time(ns: Nanos, run_ns: Nanos) -> String {
    if run_ns <= LONG_RUN_NS {
        return hms_millis(ns);
    }
    let minutes = ns / (60 * NS_PER_S);
    let (d, rest) = (minutes / 1440, minutes % 1440);
    format!("{d}d {}:{:02}", rest / 60, rest % 60)
}

/// A duration for a table: `0.012 s`, `95.5 s`, `1h 02m`, `2d 3h` (coarser as it grows).
pub fn duration(ns: Nanos) -> String {
    let s = ns / NS_PER_S;
    if s < 600 {
        format!("{} s", num(ns as f64 / NS_PER_S as f64, 3))
    } else if s < 86_400 {
        format!("{}h {:02}m", s / 3600, s / 60 % 60)
    } else {
        format!("{}d {}h", s / 86_400, s / 3600 % 24)
    }
}

/// Bytes with a binary unit for reading at a glance: `16.0 MiB`, `6.12 GiB`, `812 B`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    // Three significant digits: 1.23, 12.3, 123.
    let decimals = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    format!("{value:.decimals$} {}", UNITS[unit])
}

/// Seconds with exactly three decimals and no exponent, e.g. `15.000` (truncated to the ms).
pub fn seconds_3(ns: Nanos) -> String {
    format!("{}.{:03}", ns / NS_PER_S, (ns / NS_PER_MS) % 1000)
}

/// Nanoseconds as seconds in floating point (for chart coordinates).
pub fn ns_to_s(ns: Nanos) -> f64 {
    ns as f64 / NS_PER_S as f64
}

/// A number with at most `decimals` decimals, trailing zeros dropped: `1.5`, `12`, `0.004`.
pub fn num(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let s = format!("{x:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    // "-0" reads oddly in a table.
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// An optional figure with a unit, or an en dash when there is none.
pub fn opt_num(x: Option<f64>, decimals: usize, unit: &str) -> String {
    match x {
        Some(x) => format!("{}{unit}", num(x, decimals)),
        None => "–".into(),
    }
}

/// The display name of member `i` (falls back to etcd-style `m<i+1>` if the record has none).
pub fn member_name(names: &[String], i: usize) -> String {
    names
        .get(i)
        .cloned()
        .unwrap_or_else(|| format!("m{}", i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(hms_millis(0), "0:00:00.000");
        assert_eq!(hms_millis(3_723_456_789_000), "1:02:03.456");
        assert_eq!(seconds_3(15 * NS_PER_S), "15.000");
        assert_eq!(seconds_3(1_234_999_999), "1.234");
    }

    #[test]
    fn long_runs_show_days() {
        let day = 86_400 * NS_PER_S;
        let t = 3 * day + 4 * 3600 * NS_PER_S + 5 * 60 * NS_PER_S + 59 * NS_PER_S;
        assert_eq!(run_time(t, 10 * day), "3d 4:05");
        assert_eq!(run_time(0, 10 * day), "0d 0:00");
        // Up to two days the usual clock with milliseconds.
        assert_eq!(run_time(t, 2 * day), "76:05:59.000");
        assert_eq!(run_time(1_500_000_000, 60 * NS_PER_S), "0:00:01.500");
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(duration(12_345_678), "0.012 s");
        assert_eq!(duration(95_500_000_000), "95.5 s");
        assert_eq!(duration(3_720 * NS_PER_S), "1h 02m");
        assert_eq!(
            duration(2 * 86_400 * NS_PER_S + 3 * 3600 * NS_PER_S),
            "2d 3h"
        );
        assert_eq!(bytes(812), "812 B");
        assert_eq!(bytes(24_576), "24.0 KiB");
        assert_eq!(bytes(16_777_216), "16.0 MiB");
        assert_eq!(bytes(16_990_208), "16.2 MiB");
        assert_eq!(
            bytes(6 * 1024 * 1024 * 1024 + 130 * 1024 * 1024),
            "6.13 GiB"
        );
        assert_eq!(bytes(8 * 1024 * 1024 * 1024), "8.00 GiB");
    }

    #[test]
    fn numbers() {
        assert_eq!(num(1.5, 3), "1.5");
        assert_eq!(num(12.0, 3), "12");
        assert_eq!(num(0.0041, 3), "0.004");
        assert_eq!(num(-0.0001, 3), "0");
        assert_eq!(opt_num(None, 3, " ms"), "–");
        assert_eq!(opt_num(Some(2.26), 1, " s"), "2.3 s");
    }
}
