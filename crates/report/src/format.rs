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
    fn numbers() {
        assert_eq!(num(1.5, 3), "1.5");
        assert_eq!(num(12.0, 3), "12");
        assert_eq!(num(0.0041, 3), "0.004");
        assert_eq!(num(-0.0001, 3), "0");
        assert_eq!(opt_num(None, 3, " ms"), "–");
        assert_eq!(opt_num(Some(2.26), 1, " s"), "2.3 s");
    }
}
