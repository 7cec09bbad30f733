#!/usr/bin/env python3
"""Summarize etcdlab report folders for the issue-18 comparison with real etcd.

Usage: lab_summary.py REPORT_DIR [REPORT_DIR...]   (folders written by `etcdlab run --out`)

For each folder prints the leader changes, elections, highest term, failed writes and the
failover and rejoin catch-up figures of summary.json, and, from report.md's "Why each election happened" table:
how many leader changes took more than one campaign; how many came more than one term after the
previous leader's (a second election round, like failover.py's "terms +2"); and, for a
follower-rejoin.toml run (heals at 25 s, 45 s, ..., every 20 s), how long after each heal the new
leader was in place (first campaign time plus "First campaign to new leader").
"""
import json
import re
import statistics
import sys

ROW = re.compile(r"^\| \d+ \| (\d+):(\d\d):(\d\d\.\d+) \|(?: [^|]+\|){4} (m\d+) \((\d+)\) \| "
                 r"([\d.]+) s \| (\d+) \|$", re.M)


def main():
    for folder in sys.argv[1:]:
        d = json.load(open(f"{folder}/summary.json"))
        report = open(f"{folder}/report.md").read()
        heals = [25 + 20 * k for k in range(48)]
        after, rows = [], ROW.findall(report)
        for h, m, s, _leader, _term, first, _campaigns in rows:
            if d["scenario"] != "follower-rejoin":
                break
            elected = int(h) * 3600 + int(m) * 60 + float(s) + float(first)
            before = [x for x in heals if x - 5 <= elected]
            if before:
                after.append(round(elected - max(before), 2))
        print(json.dumps({
            "folder": folder, "overrides": d.get("overrides"),
            "leader_changes": d["leader_changes"], "elections": d["elections"],
            "max_term": d["max_term"], "writes_failed": d["writes"]["failed"],
            "failover_s": d.get("failover_s"),
            "rejoin_catch_up_s": d.get("rejoin_catch_up_s"),
            "changes_with_more_than_one_campaign": sum(int(r[6]) > 1 for r in rows),
            "changes_with_term_jump": sum(int(b[4]) - a > 1 for a, b in
                                          zip([1] + [int(r[4]) for r in rows], rows)),
            "new_leader_s_after_heal": after,
            "new_leader_s_after_heal_median": statistics.median(after) if after else None,
        }))


if __name__ == "__main__":
    main()
