//! Mutated and truncated scenarios must give an error or a scenario, never a panic.

use etcdlab_scenario::{parse_str, Scenario, ScenarioError};

const VALID: &str = include_str!("data/full.toml");

/// A tiny deterministic generator (xorshift), so failures reproduce.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Replacements likely to reach deep validation paths, not just syntax errors.
const TOKENS: &[&str] = &[
    "0",
    "-1",
    "1e400",
    "nan",
    "inf",
    "\"\"",
    "\"m9\"",
    "\"0s\"",
    "true",
    "[]",
    "{}",
    "[[]]",
    "9999999999999999999",
    "\"99999999h\"",
    "\"leader\"",
    "=",
    "[",
    "]",
    "\n",
    "\"",
    ".",
    "m0",
    "{ dist = \"pareto_tail\" }",
    "1979-05-27",
    "0.0",
];

fn parse(src: &str) -> Result<Scenario, ScenarioError> {
    parse_str(src, "fuzz.toml", &[])
}

#[test]
fn valid_input_parses() {
    parse(VALID).unwrap();
}

#[test]
fn truncations_never_panic() {
    let cuts: Vec<usize> = VALID.char_indices().map(|(i, _)| i).step_by(7).collect();
    for cut in cuts {
        let _ = parse(&VALID[..cut]);
    }
}

/// `SCENARIO_FUZZ_ITERS=100000 cargo test -p etcdlab-scenario --test fuzz` for a longer run.
#[test]
fn mutations_never_panic() {
    let iters = std::env::var("SCENARIO_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok());
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let words: Vec<&str> = VALID.split_inclusive([' ', '\n', ',']).collect();
    for _ in 0..iters.unwrap_or(400) {
        let mut w = words.clone();
        for _ in 0..1 + g.below(3) {
            let at = g.below(w.len());
            match g.below(3) {
                0 => w[at] = TOKENS[g.below(TOKENS.len())],
                1 => {
                    w.remove(at);
                }
                _ => {
                    let other = g.below(w.len());
                    w.swap(at, other);
                }
            }
        }
        let src: String = w.concat();
        let _ = parse(&src);
    }
}

#[test]
fn line_deletions_never_panic() {
    let lines: Vec<&str> = VALID.lines().collect();
    for skip in 0..lines.len() {
        let src: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, l)| *l)
            .collect();
        let _ = parse(&src.join("\n"));
    }
}

#[test]
fn odd_overrides_never_panic() {
    let sets = [
        "=",
        "a=",
        ".=1",
        "timeline.99999999999999999999.at=1s",
        "timeline.0=3",
        "timeline=3",
        "expect.0.max_term=inf",
        "cluster.size=-9223372036854775808",
        "disk.members.m1.profile={",
        "network.links.0.from=[\"m1\",\"m1\"]",
        "timeline.0.repeat.count=4294967296",
    ];
    for set in sets {
        let _ = parse_str(VALID, "fuzz.toml", &[set.to_string()]);
    }
    let paths = [
        "seed",
        "duration",
        "cluster.size",
        "cluster",
        "timeline.0.at",
        "timeline.0",
        "timeline.0.repeat",
        "timeline.1.groups.0",
        "disk.members.m3",
        "expect.1.max_term",
        "network.links.0.from",
        "disk.fsync_latency_ms",
        "workload.target",
    ];
    for path in paths {
        for token in TOKENS {
            let _ = parse_str(VALID, "fuzz.toml", &[format!("{path}={token}")]);
        }
    }
}

#[test]
fn deep_nesting_is_refused_not_crashed() {
    let deep = format!(
        "duration = \"1h\"\nx = {}1{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert!(parse(&deep).is_err());
    let dotted = format!("duration = \"1h\"\n{} = 1\n", vec!["a"; 5000].join("."));
    assert!(parse(&dotted).is_err());
}
