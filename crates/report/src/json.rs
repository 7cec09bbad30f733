//! `summary.json`: the summary as pretty JSON, with floats rounded so that last-bit noise in a
//! derived figure (a mean, a rate) cannot change the file.

use serde_json::{Number, Value};

use crate::Summary;

/// Decimal places kept in every float of `summary.json` (µs for seconds, ns for milliseconds).
const DECIMALS: u32 = 6;

/// The summary as pretty JSON (2-space indent, fields in declaration order, trailing newline).
pub fn summary_json(summary: &Summary) -> String {
    let mut value = serde_json::to_value(summary).expect("Summary always serialises");
    round_floats(&mut value);
    let mut text = serde_json::to_string_pretty(&value).expect("a Value always serialises");
    text.push('\n');
    text
}

/// Rounds every non-integer number in `value` to [`DECIMALS`] decimal places.
fn round_floats(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or_default();
            *value = Number::from_f64(round(x)).map_or(Value::Null, Value::Number);
        }
        Value::Array(items) => items.iter_mut().for_each(round_floats),
        Value::Object(map) => map.values_mut().for_each(round_floats),
        _ => {}
    }
}

/// `x` rounded to [`DECIMALS`] places. Dividing the rounded integer by an exact power of ten
/// yields the double nearest to the short decimal, so serde_json prints that short decimal.
fn round(x: f64) -> f64 {
    let scale = 10u64.pow(DECIMALS) as f64;
    let scaled = x * scale;
    // Beyond 2^52 there are no fractional digits left to round.
    if scaled.abs() >= 4.5e15 {
        x
    } else {
        scaled.round() / scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_to_six_decimals() {
        assert_eq!(round(0.1 + 0.2), 0.3);
        assert_eq!(round(1.23456789), 1.234568);
        assert_eq!(round(1e20), 1e20);
    }

    #[test]
    fn summary_is_stable_and_pretty() {
        let mut summary = crate::fixtures::synthetic_record(3, 600).summary;
        summary.leader_changes_per_hour = 2.0 / 3.0 * 18.0 + 1e-13;
        let a = summary_json(&summary);
        assert_eq!(a, summary_json(&summary.clone()));
        assert!(a.ends_with("}\n"));
        assert!(a.starts_with("{\n  \"scenario\": "), "{a}");
        assert!(a.contains("\"leader_changes_per_hour\": 12.0,"), "{a}");
        // Field order follows the struct, not the alphabet.
        assert!(a.find("\"seed\"").unwrap() < a.find("\"events\"").unwrap());
    }
}
