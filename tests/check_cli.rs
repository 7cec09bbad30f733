//! `etcdlab check` on a run's history gives the run's verdict; a tampered history fails with
//! the failing window; a malformed one is named by line.

mod common;

use common::*;
use std::fs;

#[test]
fn check_agrees_with_the_run_and_catches_a_tampered_read() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    // Reads and writes across a leader stall, shortened.
    let o = etcdlab_run([
        "run".as_ref(),
        repo_root()
            .join("scenarios/reads-during-leader-stall.toml")
            .as_os_str(),
        "--set".as_ref(),
        "duration=60s".as_ref(),
        "--set".as_ref(),
        "timeline.0.repeat.count=1".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(matches!(o.code, Some(0 | 1)), "{}", o.describe());
    let summary = summary(&out);
    let check = &summary["checks"][0];
    assert_eq!(check["checker"], "linearizability");
    assert_eq!(check["verdict"], "pass", "{}", o.describe());
    let history = out.join("history.jsonl");
    let text = fs::read_to_string(&history).unwrap();
    assert_eq!(
        text.lines().count() as u64,
        summary["writes"]["ok"].as_u64().unwrap()
            + summary["writes"]["failed"].as_u64().unwrap()
            + summary["reads"]["ok"].as_u64().unwrap()
            + summary["reads"]["failed"].as_u64().unwrap(),
        "one line per client operation"
    );

    let o = etcdlab_run(["check".as_ref(), history.as_os_str()]);
    o.assert_code(0);
    let ops = check["operations"].as_u64().unwrap();
    assert!(
        o.stdout
            .contains(&format!("linearizability: {ops} operations")),
        "{}",
        o.describe()
    );

    // A read that found a key late in the run now claims the value the key had before: stale.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let stale = stale_read(&lines).expect("a read of a key written twice before it");
    lines[stale.0] = stale.1;
    let tampered = tmp.path().join("tampered.jsonl");
    fs::write(&tampered, lines.join("\n")).unwrap();
    let o = etcdlab_run(["check".as_ref(), tampered.as_os_str()]);
    o.assert_code(3);
    assert!(o.stdout.contains("=> "), "{}", o.describe());
    assert!(o.stdout.contains(": fail"), "{}", o.describe());
}

/// A successful get whose key was written at least twice before the read was called: the
/// line index and the line with the value replaced by the older write's.
fn stale_read(lines: &[String]) -> Option<(usize, String)> {
    let ops: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (i, get) in ops.iter().enumerate() {
        if get["op"] != "get" || get["value"].is_null() || !get["error"].is_null() {
            continue;
        }
        let called = get["call_ns"].as_u64().unwrap();
        let mut puts: Vec<&serde_json::Value> = ops
            .iter()
            .filter(|p| p["op"] == "put" && p["key"] == get["key"] && p["error"].is_null())
            .filter(|p| p["return_ns"].as_u64().is_some_and(|r| r < called))
            .collect();
        puts.sort_by_key(|p| p["revision"].as_i64());
        if puts.len() >= 2 && puts[puts.len() - 1]["value"] == get["value"] {
            let mut stale = get.clone();
            stale["value"] = puts[puts.len() - 2]["value"].clone();
            return Some((i, serde_json::to_string(&stale).unwrap()));
        }
    }
    None
}

#[test]
fn a_malformed_history_is_named_by_line() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.jsonl");
    fs::write(
        &bad,
        "{\"id\":1,\"client\":\"c\",\"call_ns\":0,\"return_ns\":5,\"op\":\"put\",\"key\":\"k\",\"value\":\"v\",\"revision\":2}\n{\"id\":2,\"op\":\"get\"}\n",
    )
    .unwrap();
    let o = etcdlab_run(["check".as_ref(), bad.as_os_str()]);
    o.assert_code(2);
    assert!(o.stderr.contains("line 2"), "{}", o.describe());
}

#[test]
fn check_judges_watches_and_names_the_broken_guarantee() {
    let tmp = tempfile::tempdir().unwrap();
    let put = |rev: i64, value: &str| {
        format!(
            r#"{{"type":"put","key":"/k/a","revision":{rev},"value":"{value}","create_revision":2,"version":{}}}"#,
            rev - 1
        )
    };
    let watch = |responses: &[(u64, &[String])]| {
        let rs: Vec<String> = responses
            .iter()
            .map(|(at, events)| {
                format!(
                    r#"{{"at_ns":{at},"revision":9,"events":[{}]}}"#,
                    events.join(",")
                )
            })
            .collect();
        format!(
            r#"{{"id":7,"client":"w","call_ns":0,"op":"watch","key":"/k/","prefix":true,"start_revision":2,"responses":[{}]}}"#,
            rs.join(",")
        )
    };
    let good = tmp.path().join("good.jsonl");
    fs::write(&good, watch(&[(10, &[put(2, "a"), put(3, "b")])])).unwrap();
    let o = etcdlab_run(["check".as_ref(), good.as_os_str()]);
    o.assert_code(0);
    assert!(
        o.stdout.contains("watch: 1 watches, 2 events: pass"),
        "{}",
        o.describe()
    );

    // The event at revision 3 comes again in the next response.
    let twice = tmp.path().join("twice.jsonl");
    let svg = tmp.path().join("twice.svg");
    fs::write(
        &twice,
        watch(&[(10, &[put(2, "a"), put(3, "b")]), (20, &[put(3, "b")])]),
    )
    .unwrap();
    let o = etcdlab_run([
        "check".as_ref(),
        twice.as_os_str(),
        "--picture".as_ref(),
        svg.as_os_str(),
    ]);
    o.assert_code(3);
    assert!(
        o.stdout
            .contains("watch guarantee `unique` broken in operation 7"),
        "{}",
        o.describe()
    );
    assert!(fs::read_to_string(&svg).unwrap().contains("#f4a6a6"));
}

#[test]
fn check_judges_serializable_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let put = |id: u64, value: &str, rev: i64| {
        format!(
            r#"{{"id":{id},"client":"w","call_ns":{id}000,"return_ns":{id}500,"op":"put","key":"/k","value":"{value}","revision":{rev}}}"#
        )
    };
    let read = |value: &str, rev: i64| {
        format!(
            r#"{{"id":9,"client":"r","call_ns":9000,"return_ns":9500,"op":"get","key":"/k","value":"{value}","serializable":true,"revision":{rev}}}"#
        )
    };
    let write = |name: &str, read_value: &str, read_rev: i64| {
        let file = tmp.path().join(name);
        let lines = [put(1, "a", 2), put(2, "b", 3), read(read_value, read_rev)];
        fs::write(&file, lines.join("\n")).unwrap();
        file
    };
    // Stale (revision 2 held a) but a state the cluster had.
    let o = etcdlab_run(["check".as_ref(), write("stale.jsonl", "a", 2).as_os_str()]);
    o.assert_code(0);
    assert!(
        o.stdout.contains("serializable: 1 reads: pass"),
        "{}",
        o.describe()
    );
    // At revision 3 the key held b.
    let o = etcdlab_run(["check".as_ref(), write("wrong.jsonl", "a", 3).as_os_str()]);
    o.assert_code(3);
    assert!(
        o.stdout.contains("serializable: 1 reads: fail")
            && o.stdout.contains("the key held value b then"),
        "{}",
        o.describe()
    );
}
