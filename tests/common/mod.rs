//! Helpers shared by the end-to-end tests: run the `etcdlab` binary, list the shipped
//! scenarios, read output folders, run jobs on a few threads.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The files every run writes.
pub const REPORT_FILES: [&str; 9] = [
    "db-size.png",
    "history.jsonl",
    "leader-timeline.png",
    "metrics.om",
    "report.html",
    "report.md",
    "summary.json",
    "wal-fsync.png",
    "write-latency.png",
];

/// The repository root (the root package's manifest folder).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A command for the `etcdlab` binary, run from the repository root, with no injected
/// invariant violation inherited from the environment.
pub fn etcdlab() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_etcdlab"));
    cmd.current_dir(repo_root())
        .env_remove("ETCDLAB_INJECT_VIOLATION");
    cmd
}

/// What a finished process left behind.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The command line, for failure messages.
    pub command: String,
}

impl Outcome {
    /// A one-paragraph description for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "`{}` exited with {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }

    /// Panics unless the exit code is `code`; never accepts a panic of the binary.
    pub fn assert_code(&self, code: i32) {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit code {code}\n{}",
            self.describe()
        );
        self.assert_no_panic();
    }

    pub fn assert_no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked") && !self.stdout.contains("panicked"),
            "the binary panicked\n{}",
            self.describe()
        );
    }
}

/// Runs `cmd` to completion.
pub fn run(cmd: &mut Command) -> Outcome {
    let command = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        command,
    }
}

/// `etcdlab ARGS...` from the repository root.
pub fn etcdlab_run<I, S>(args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(etcdlab().args(args))
}

/// The shipped scenarios, `scenarios/*.toml` relative to the repository root, sorted; files
/// whose name starts with `sweep-` are not single scenarios and are left out.
pub fn shipped_scenarios() -> Vec<PathBuf> {
    let dir = repo_root().join("scenarios");
    let mut found: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("reading scenarios/").path())
        .filter(|p| p.extension() == Some(OsStr::new("toml")))
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("sweep-")
        })
        .map(|p| Path::new("scenarios").join(p.file_name().unwrap()))
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no scenarios in {}", dir.display());
    found
}

/// Every regular file of `dir` (not recursive), by file name.
pub fn read_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return files,
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    for entry in entries {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            let bytes = fs::read(entry.path()).unwrap();
            files.insert(entry.file_name().to_string_lossy().into_owned(), bytes);
        }
    }
    files
}

/// Where two versions of a file first differ, for failure messages: the first differing line
/// of a text file, or the first differing byte offset otherwise.
pub fn first_difference(a: &[u8], b: &[u8]) -> String {
    match (std::str::from_utf8(a), std::str::from_utf8(b)) {
        (Ok(ta), Ok(tb)) => {
            let (mut la, mut lb) = (ta.lines(), tb.lines());
            for n in 1.. {
                match (la.next(), lb.next()) {
                    (None, None) => break,
                    (x, y) if x == y => continue,
                    (x, y) => {
                        return format!(
                            "first difference at line {n}:\n  - {}\n  + {}",
                            x.unwrap_or("<end of file>"),
                            y.unwrap_or("<end of file>")
                        )
                    }
                }
            }
            "the texts differ only in line endings".to_string()
        }
        _ => {
            let at = a
                .iter()
                .zip(b)
                .position(|(x, y)| x != y)
                .unwrap_or(a.len().min(b.len()));
            format!(
                "binary files differ from byte {at} ({} vs {} bytes)",
                a.len(),
                b.len()
            )
        }
    }
}

/// Runs `f` on every item with up to `available_parallelism` threads (the simulations are
/// single-threaded); results keep the items' order.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(items.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                results.lock().unwrap()[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

/// Parses a summary.json.
pub fn summary(dir: &Path) -> serde_json::Value {
    let path = dir.join("summary.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
