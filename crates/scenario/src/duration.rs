//! Human durations ("1h30m", "1.5s", "250ms") to and from nanoseconds.

use crate::Nanos;

const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

/// Parses a duration such as "250ms", "1.5s", "10m", "1h30m", "500us" or "0s".
///
/// Each part is a non-negative decimal number followed by a unit (ns, us, ms, s, m, h, d); parts
/// add up. A bare "0" is accepted. Integer arithmetic keeps "0.1s" exact.
pub fn parse_duration(s: &str) -> Result<Nanos, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err("empty duration; write e.g. \"10s\", \"250ms\" or \"1h30m\"".into());
    }
    if text == "0" {
        return Ok(0);
    }
    let mut rest = text;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (ns, tail) = parse_part(rest).map_err(|why| format!("bad duration {s:?}: {why}"))?;
        total = total.saturating_add(ns);
        rest = tail;
    }
    Nanos::try_from(total).map_err(|_| format!("duration {s:?} is too long"))
}

/// One `<number><unit>` part; returns its nanoseconds and the unparsed tail.
fn parse_part(s: &str) -> Result<(u128, &str), String> {
    let num_len = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, tail) = s.split_at(num_len);
    if number.is_empty() {
        return Err(format!(
            "expected a number at {tail:?} (durations are never negative)"
        ));
    }
    let unit_len = tail
        .find(|c: char| c.is_ascii_digit() || c == '.')
        .unwrap_or(tail.len());
    let (unit, tail) = tail.split_at(unit_len);
    let scale = unit_scale(unit)?;
    Ok((scaled(number, scale)?, tail))
}

fn unit_scale(unit: &str) -> Result<u128, String> {
    if unit.is_empty() {
        return Err("missing unit (use ns, us, ms, s, m, h or d)".into());
    }
    UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, scale)| *scale)
        .ok_or_else(|| format!("unknown unit {unit:?} (use ns, us, ms, s, m, h or d)"))
}

/// `number` (digits with an optional fraction) times `scale`, rounded to whole nanoseconds.
fn scaled(number: &str, scale: u128) -> Result<u128, String> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return Err(format!("{number:?} is not a number"));
    }
    let int_value: u128 = if int.is_empty() { 0 } else { digits(int)? };
    // Digits past the 18th cannot matter at nanosecond resolution for units up to an hour.
    let frac = &frac[..frac.len().min(18)];
    let frac_value: u128 = if frac.is_empty() { 0 } else { digits(frac)? };
    let denom = 10u128.pow(frac.len() as u32);
    let frac_ns = (frac_value * scale + denom / 2) / denom;
    Ok(int_value.saturating_mul(scale).saturating_add(frac_ns))
}

fn digits(s: &str) -> Result<u128, String> {
    // More than 30 digits overflows any sensible duration; saturate rather than fail oddly.
    if s.len() > 30 {
        return Ok(u128::MAX / 4);
    }
    s.parse().map_err(|_| format!("{s:?} is not a number"))
}

/// Formats nanoseconds the way scenarios write them: "1h30m", "1.5s", "250ms", "0s".
pub fn format_duration(ns: Nanos) -> String {
    const S: u64 = 1_000_000_000;
    if ns == 0 {
        return "0s".into();
    }
    if ns < S {
        return sub_second(ns);
    }
    let (d, h) = (ns / (86_400 * S), ns / (3600 * S) % 24);
    let (m, rest) = (ns / (60 * S) % 60, ns % (60 * S));
    let mut out = String::new();
    if d > 0 {
        out.push_str(&format!("{d}d"));
    }
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if rest > 0 {
        let secs = format!("{:.9}", rest as f64 / S as f64);
        out.push_str(secs.trim_end_matches('0').trim_end_matches('.'));
        out.push('s');
    }
    out
}

fn sub_second(ns: u64) -> String {
    if ns.is_multiple_of(1_000_000) {
        format!("{}ms", ns / 1_000_000)
    } else if ns.is_multiple_of(1_000) {
        format!("{}us", ns / 1_000)
    } else {
        format!("{ns}ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("10m"), Ok(600 * S));
        assert_eq!(parse_duration("1h30m"), Ok(5400 * S));
        assert_eq!(parse_duration("2h"), Ok(7200 * S));
        assert_eq!(parse_duration("90s"), Ok(90 * S));
        assert_eq!(parse_duration("500us"), Ok(500_000));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("0.1s"), Ok(100_000_000));
        assert_eq!(parse_duration(".5s"), Ok(500_000_000));
        assert_eq!(parse_duration("7ns"), Ok(7));
        assert_eq!(parse_duration(" 3s "), Ok(3 * S));
    }

    #[test]
    fn rejects_bad_forms() {
        for bad in [
            "", "10", "-1s", "1x", "s", "1.2.3s", "1h 30m", "abc", "1e3s", ".",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn rejects_overflow_without_panicking() {
        assert!(parse_duration("999999999999999999999999h").is_err());
        assert!(parse_duration(&"9".repeat(100)).is_err());
        assert!(parse_duration(&format!("{}h", "9".repeat(100))).is_err());
    }

    #[test]
    fn formats_round_trip() {
        for s in [
            "1h30m", "1.5s", "250ms", "0s", "2h", "90s", "500us", "1m0.5s", "7ns",
        ] {
            let ns = parse_duration(s).unwrap();
            assert_eq!(parse_duration(&format_duration(ns)), Ok(ns), "{s}");
        }
        assert_eq!(format_duration(5400 * S), "1h30m");
        assert_eq!(format_duration(1_500_000_000), "1.5s");
        assert_eq!(format_duration(250_000_000), "250ms");
    }
}
