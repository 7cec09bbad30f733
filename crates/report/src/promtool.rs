//! Acceptance check for `metrics.om`: import it with promtool and count what the TSDB kept.
//! promtool silently drops out-of-order or duplicate samples, so a clean exit is not enough.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What [`promtool_check`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromtoolCheck {
    /// No promtool binary (neither `$PROMTOOL` nor `promtool` on PATH): nothing was checked.
    NotInstalled,
    /// promtool imported the file; compare the two counts.
    Imported {
        /// Sample lines in the file.
        in_file: u64,
        /// Samples in the blocks promtool wrote (sum of `stats.numSamples` of every block).
        imported: u64,
    },
}

impl PromtoolCheck {
    /// True when promtool ran and kept every sample of the file.
    pub fn all_imported(&self) -> bool {
        matches!(self, Self::Imported { in_file, imported } if in_file == imported)
    }
}

/// Runs `promtool tsdb create-blocks-from openmetrics <om_path> <tmp>` and counts the imported
/// samples. Err when promtool fails or its output cannot be read.
pub fn promtool_check(om_path: &Path) -> Result<PromtoolCheck, String> {
    let promtool = std::env::var_os("PROMTOOL").unwrap_or_else(|| "promtool".into());
    let text = fs::read_to_string(om_path).map_err(|e| format!("{}: {e}", om_path.display()))?;
    let in_file = count_samples(&text);
    let dir = scratch_dir();
    let _ = fs::remove_dir_all(&dir); // left over by an earlier process with the same id
    let output = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(om_path)
        .arg(&dir)
        .output();
    let result = match output {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PromtoolCheck::NotInstalled),
        Err(e) => Err(format!("running promtool: {e}")),
        Ok(out) if !out.status.success() => Err(format!(
            "promtool failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
        Ok(_) => {
            imported_samples(&dir).map(|imported| PromtoolCheck::Imported { in_file, imported })
        }
    };
    let _ = fs::remove_dir_all(&dir);
    result
}

/// Sample lines: everything that is neither a comment nor blank.
fn count_samples(text: &str) -> u64 {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count() as u64
}

/// Sum of `stats.numSamples` over the `meta.json` of every block in `dir`. (`promtool tsdb
/// dump` would do too, but promtool 2.42 insists on a WAL directory that backfill never makes.)
fn imported_samples(dir: &Path) -> Result<u64, String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut total = 0;
    for entry in entries {
        let meta = entry.map_err(|e| e.to_string())?.path().join("meta.json");
        let Ok(text) = fs::read_to_string(&meta) else {
            continue; // not a block (e.g. chunks_head)
        };
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", meta.display()))?;
        total += json["stats"]["numSamples"]
            .as_u64()
            .ok_or_else(|| format!("{}: no stats.numSamples", meta.display()))?;
    }
    Ok(total)
}

/// A fresh directory path under the system temp dir, unique per process and call.
fn scratch_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("etcdlab-promtool-{}-{n}", std::process::id()))
}
