#!/usr/bin/env python3
"""A follower of a real 3-member etcd cluster is cut off for a while, then rejoins.

Usage: partition_rejoin.py ETCD METHOD TRIALS [extra etcd flags...]
e.g.   partition_rejoin.py /usr/bin/etcd partition 12 --pre-vote=true
METHOD is `stop` or `partition`; OFF_S (env, default 5) is how long the follower is cut off,
WRITES (env, default 100) how many keys are written through the leader meanwhile.

stop       SIGSTOP of the follower, SIGCONT after OFF_S. The process is frozen: its election
           timer does not run, so its term cannot grow while it is away.
partition  the follower keeps running but loses all peer traffic (both ways), like a network
           partition, so it can time out and campaign. Needs root and `nft` (nftables): every
           member runs under its own uid (20001, 20002, 20003), and an nftables table on the
           output hook drops, for the chosen follower, packets to or from its peer port, packets
           its own sockets send (`meta skuid`), and, through a conntrack mark set by those, the
           packets that come back on the connections it dialled. Its client port stays open
           (its status stays readable). The table is deleted at the end of each trial.

Each trial: wait 2 s and for a stable leader; pick a follower (they take turns); cut it off;
write WRITES keys through the leader; rejoin; then poll all members every ~20 ms for up to
WATCH_S (env, default 10) seconds, stopping 3 s after the follower has caught up. (A partition
made by dropping packets leaves TCP connections in retransmission back-off, so the rejoin itself
can take seconds to show.)

Reports per trial: how often the follower campaigned while cut off and the highest term it
campaigned at (counted from the "became candidate" / "became pre-candidate" lines of its log:
the status API's raftTerm is the term of the last applied entry, which does not move while the
member is alone); whether the leader or the term changed after the rejoin, and when; and the
time from rejoin until the follower's applied index equals the leader's. Prints one JSON line
per trial and a JSON summary. The catch-up is timed to within one round of status requests
to the follower and the leader (a few ms). Stops every etcd it started and removes its data dirs.
"""
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

from loopcluster import Cluster, client_port, peer_port, put, status_full

UIDS = [20001, 20002, 20003]
TABLE = "etcdlab_h18_partition"


def nft(script):
    subprocess.run(["nft", "-f", "-"], input=script, text=True, check=True)


def cut(follower, mark):
    uid = UIDS[follower - 1]
    nft(f"""
table inet {TABLE} {{
  chain out {{
    type filter hook output priority 0; policy accept;
    tcp sport {client_port(follower)} accept
    tcp dport {client_port(follower)} accept
    meta skuid {uid} ct mark set {mark}
    ct mark {mark} drop
    tcp dport {peer_port(follower)} drop
    tcp sport {peer_port(follower)} drop
  }}
}}
""")


def heal():
    subprocess.run(["nft", "delete", "table", "inet", TABLE], check=False,
                   stderr=subprocess.DEVNULL)


def campaigns(log, offset):
    """(elections started, pre-elections started, highest candidate term) in log after offset."""
    with open(log, errors="replace") as f:
        f.seek(offset)
        text = f.read()
    cand = [int(t) for t in re.findall(r"became candidate at term (\d+)", text)]
    pre = re.findall(r"became pre-candidate at term (\d+)", text)
    return len(cand), len(pre), max(cand, default=None)


def statuses(ids):
    return {i: status_full(client_port(i), timeout=0.2) for i in ids}


def main():
    binary, method, trials, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    seconds = float(os.environ.get("OFF_S", "5"))
    writes = int(os.environ.get("WRITES", "100"))
    watch = float(os.environ.get("WATCH_S", "10"))
    assert method in ("stop", "partition")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so that `finally` cleans up
    uids = UIDS if method == "partition" else None
    cluster = Cluster(binary, 3, extra, uids=uids, prefix="rejoin-").start()
    ids = cluster.ids
    rows = []
    heal()
    try:
        for t in range(trials):
            time.sleep(2.0)
            leader, term = cluster.stable_leader()
            followers = [i for i in ids if i != leader]
            f = followers[t % 2]
            before = statuses(ids)
            log = f"{cluster.folder}/{cluster.names[f]}.log"
            offset = os.path.getsize(log)
            if method == "stop":
                cluster.signal(f, signal.SIGSTOP)
            else:
                cut(f, 0x1800 + t)
            t_cut = time.monotonic()
            written = 0
            for k in range(writes):
                written += put(client_port(leader), f"rejoin/{t}/{k}", "x" * 100)
                target = t_cut + (k + 1) * (seconds * 0.8) / writes
                time.sleep(max(0.0, target - time.monotonic()))
            time.sleep(max(0.0, t_cut + seconds - 0.3 - time.monotonic()))
            others_during = {i: status_full(client_port(i)) for i in ids if i != f}
            time.sleep(max(0.0, t_cut + seconds - time.monotonic()))
            if method == "stop":
                cluster.signal(f, signal.SIGCONT)
            else:
                heal()
            t0 = time.monotonic()
            n_cand, n_pre, cand_term = campaigns(log, offset)
            caught_up, change_at, leaders_seen, max_term = None, None, set(), term
            prev_round, ask_all = 0.0, False
            while time.monotonic() - t0 < watch and (
                    caught_up is None or time.monotonic() - t0 < caught_up + 3.0):
                # Until the follower has caught up, only it and the old leader are asked, as fast
                # as they answer; the catch-up is timed at the middle of the last round that
                # did not see it and the first that did (a resolution of one round, ~2-5 ms).
                round_at = time.monotonic() - t0
                if caught_up is None and not ask_all:
                    s = statuses([f, leader])
                    s.update({i: None for i in ids if i not in s})
                else:
                    s = statuses(ids)
                now = time.monotonic() - t0
                live = [v for v in s.values() if v]
                for v in live:
                    if v["leader"]:
                        leaders_seen.add(v["leader"])
                    max_term = max(max_term, v["term"])
                    if change_at is None and (v["term"] > term):
                        change_at = now
                lead = [v for v in live if v["id"] == v["leader"]]
                ask_all = not lead  # the old leader lost its place: ask everyone again
                if (caught_up is None and s[f] and lead
                        and s[f]["applied"] >= max(v["applied"] for v in lead)
                        and s[f]["leader"] == lead[0]["id"]):
                    caught_up = (prev_round + round_at) / 2
                prev_round = round_at
                time.sleep(0.02 if caught_up is not None else 0.0)
            after = statuses(ids)
            new_leader = next((i for i, v in after.items() if v and v["id"] == v["leader"]),
                              None)
            row = {
                "trial": t + 1, "leader": leader, "follower": f, "term_before": term,
                "writes_ok": written,
                "follower_elections_while_away": n_cand,
                "follower_pre_elections_while_away": n_pre,
                "follower_max_candidate_term": cand_term,
                "follower_applied_behind": (others_during[leader]["applied"] - before[f]["applied"]
                                            if others_during.get(leader) else None),
                "term_after": max_term, "term_changed_at_s": round(change_at, 3)
                if change_at is not None else None,
                "leader_after": new_leader, "leader_changed": new_leader != leader,
                "caught_up_s": round(caught_up, 3) if caught_up is not None else None,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        heal()
        cluster.stop()
    ups = [r["caught_up_s"] for r in rows if r["caught_up_s"] is not None]
    print(json.dumps({
        "binary": binary, "method": method, "flags": extra, "seconds_off": seconds,
        "trials": len(rows),
        "leader_changed": sum(r["leader_changed"] for r in rows),
        "term_changed": sum(r["term_after"] > r["term_before"] for r in rows),
        "follower_campaigned_while_away": sum(
            r["follower_elections_while_away"] + r["follower_pre_elections_while_away"] > 0
            for r in rows),
        "follower_term_grew_while_away": sum(r["follower_elections_while_away"] > 0
                                             for r in rows),
        "caught_up_median_s": round(statistics.median(ups), 3) if ups else None,
        "caught_up_max_s": round(max(ups), 3) if ups else None,
        "not_caught_up_in_watch": len(rows) - len(ups), "watch_s": watch,
    }))


if __name__ == "__main__":
    main()
