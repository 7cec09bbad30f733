//! End-to-end checks of `write_run` on synthetic records: the files, their determinism, and the
//! promtool import of `metrics.om`.

use std::fs;
use std::path::{Path, PathBuf};

use etcdlab_report::fixtures::{
    empty_record, nospace_record, nospace_record_sized, synthetic_record,
};
use etcdlab_report::{promtool_check, write_run, PromtoolCheck, RunRecord};

/// A fresh scratch directory under target/ (relative to this crate, removed first).
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("report-tests")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn write(record: &RunRecord, name: &str) -> (PathBuf, Vec<PathBuf>) {
    let dir = scratch(name);
    let files = write_run(record, &dir).expect("write_run");
    (dir, files)
}

#[test]
fn writes_the_seven_files_sorted() {
    let (dir, files) = write(&synthetic_record(3, 600), "seven");
    let names: Vec<_> = files.iter().map(|p| p.to_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "leader-timeline.png",
            "metrics.om",
            "report.html",
            "report.md",
            "summary.json",
            "wal-fsync.png",
            "write-latency.png"
        ]
    );
    for f in &files {
        assert!(
            fs::metadata(dir.join(f)).unwrap().len() > 0,
            "{f:?} is empty"
        );
    }
    for png in ["leader-timeline.png", "write-latency.png", "wal-fsync.png"] {
        let (w, h) = png_size(&fs::read(dir.join(png)).unwrap());
        assert!(w == 1200 && h >= 500, "{png} is {w}x{h}");
    }
}

/// Width and height from a PNG's IHDR chunk (after the signature check).
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn same_record_same_bytes() {
    let record = synthetic_record(3, 3600);
    let (a, files) = write(&record, "det-a");
    let (b, _) = write(&record, "det-b");
    for f in files {
        let (x, y) = (fs::read(a.join(&f)).unwrap(), fs::read(b.join(&f)).unwrap());
        assert!(x == y, "{f:?} differs between two renders");
    }
}

#[test]
fn nospace_runs_add_the_db_size_chart() {
    let (dir, files) = write(&nospace_record(), "nospace");
    assert_eq!(files.len(), 8);
    assert!(files.contains(&PathBuf::from("db-size.png")), "{files:?}");
    let (w, h) = png_size(&fs::read(dir.join("db-size.png")).unwrap());
    assert_eq!((w, h), (1200, 500));
    let md = fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("![database size](db-size.png)"));
    // Same record, same pixels.
    let (again, _) = write(&nospace_record(), "nospace-again");
    assert!(
        fs::read(dir.join("db-size.png")).unwrap() == fs::read(again.join("db-size.png")).unwrap()
    );
}

#[test]
fn db_size_chart_of_a_long_run_is_fast() {
    // 10,001 scrapes per member over 41 hours (x axis in hours), and again over 35 days.
    for (name, scrape_s) in [("hours", 15), ("days", 300)] {
        let record = nospace_record_sized(10_000 * scrape_s, scrape_s);
        assert_eq!(record.db_size.len(), 3 * 10_001);
        let start = std::time::Instant::now();
        let (dir, files) = write(&record, &format!("long-{name}"));
        // Generous, for debug builds too; drawing every sample is what this guards against.
        assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
        assert!(files.contains(&PathBuf::from("db-size.png")));
        let md = fs::read_to_string(dir.join("report.md")).unwrap();
        if name == "days" {
            assert!(
                md.contains("| 1 | 23d 3:33 | `etcdctl alarm list` |"),
                "{md}"
            );
        }
    }
}

#[test]
fn edge_cases_render() {
    // Nothing at all; a single member; no role changes but writes.
    let mut no_roles = synthetic_record(3, 600);
    no_roles.role_changes.clear();
    no_roles.leader_timeline.clear();
    for (i, record) in [empty_record(), synthetic_record(1, 600), no_roles]
        .iter()
        .enumerate()
    {
        let (dir, files) = write(record, &format!("edge-{i}"));
        assert_eq!(files.len(), 7);
        assert!(fs::read_to_string(dir.join("metrics.om"))
            .unwrap()
            .ends_with("# EOF\n"));
    }
}

#[test]
fn promtool_imports_every_sample() {
    let (dir, _) = write(&synthetic_record(2, 300), "promtool");
    match promtool_check(&dir.join("metrics.om")) {
        Ok(PromtoolCheck::NotInstalled) => {
            eprintln!("WARNING: promtool not found; metrics.om import NOT checked");
        }
        Ok(check @ PromtoolCheck::Imported { in_file, imported }) => {
            eprintln!("promtool imported {imported} of {in_file} samples");
            assert!(in_file > 100, "the fixture should have plenty of samples");
            assert!(check.all_imported(), "promtool dropped samples: {check:?}");
        }
        Err(e) => panic!("promtool rejected metrics.om: {e}"),
    }
}

#[test]
fn promtool_check_notices_dropped_samples() {
    let dir = scratch("promtool-ooo");
    fs::create_dir_all(&dir).unwrap();
    let om = dir.join("bad.om");
    // The second sample goes back in time; promtool drops it without complaint.
    fs::write(&om, "# TYPE g gauge\ng 1 30.000\ng 2 15.000\n# EOF\n").unwrap();
    match promtool_check(&om) {
        Ok(PromtoolCheck::NotInstalled) => {
            eprintln!("WARNING: promtool not found; metrics.om import NOT checked");
        }
        Ok(check) => assert_eq!(
            check,
            PromtoolCheck::Imported {
                in_file: 2,
                imported: 1
            }
        ),
        Err(e) => panic!("promtool failed: {e}"),
    }
}
