//! What the operator-terminal tests share: running a scenario and reading its terminal.

use etcdlab_lab::{run, RunResult};
use etcdlab_scenario::parse_str;

const MS: u64 = 1_000_000;

/// Run the scenario `text` (`file` names it in errors; `overrides` as `--set` gives them).
pub fn run_text(text: &str, file: &str, overrides: &[&str]) -> RunResult {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let sc = parse_str(text, file, &overrides).unwrap_or_else(|e| panic!("{e}"));
    run(&sc).unwrap_or_else(|v| panic!("{v:?}"))
}

/// `[[timeline]]` entries typing each `(at, command)` at the terminal.
#[allow(dead_code)] // not every test file types commands
pub fn timeline<'a>(steps: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    steps
        .into_iter()
        .map(|(at, command)| {
            format!(
                "\n[[timeline]]\nat = \"{at}\"\naction = \"etcdctl\"\ncommand = \"{command}\"\n"
            )
        })
        .collect()
}

/// The terminal as the operator saw it: each command with its start (whole seconds), how
/// long it took, its output and, when it failed, etcdctl's exit status.
#[allow(dead_code)] // not every test file prints whole transcripts
pub fn transcript(result: &RunResult) -> String {
    let mut out = String::new();
    for s in &result.record.operator_steps {
        out.push_str(&format!(
            "[{} s, {} ms] $ {}\n{}{}",
            s.started_ns / (1000 * MS),
            (s.finished_ns - s.started_ns) / MS,
            s.command,
            s.output,
            if s.ok { "" } else { "(exit 1)\n" }
        ));
    }
    out
}

/// `text` with the random part of each warn line's target (3.4: the client's UUID, 3.5: the
/// Go pointer; drawn from the seed) as `<uuid>` / `<ptr>`.
#[allow(dead_code)]
pub fn hidden(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut line = line.to_string();
        for (mark, len, shown) in [
            ("client-", 36, "<uuid>"),
            ("etcd-endpoints://", 12, "<ptr>"),
        ] {
            if let Some(i) = line.find(mark) {
                let at = i + mark.len();
                line.replace_range(at..at + len, shown);
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}
