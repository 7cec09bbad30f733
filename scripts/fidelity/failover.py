#!/usr/bin/env python3
"""Leader failover of a real etcd cluster on loopback, for docs/fidelity.md.

Usage: failover.py ETCD_BINARY TRIALS [extra etcd flags...]
e.g.   MEMBERS=5 failover.py /usr/bin/etcd 12 --pre-vote=false

Starts MEMBERS members (default 3; member i has client port i2379 and peer port i2380,
heartbeat 100 ms, election timeout 1000 ms: later flags win) in a temporary folder.
Each trial waits 2 s, finds the leader, SIGSTOPs it and polls the other members'
/v3/maintenance/status every ~20 ms until one of them reports itself leader at a higher term:
that time is the failover. Then SIGCONT, and the next trial. Prints each trial and the
median and max, and stops the members. Talks to 127.0.0.1 only.
"""
import json
import os
import signal
import statistics
import sys
import time

from loopcluster import Cluster, client_port, status

MEMBERS = int(os.environ.get("MEMBERS", "3"))


def main():
    binary, trials, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    cluster = Cluster(binary, MEMBERS, extra, prefix="failover-").start()
    procs = cluster.procs
    results = []
    try:
        for t in range(trials):
            time.sleep(2.0)
            leader, term = cluster.stable_leader()
            others = [i for i in cluster.ids if i != leader]
            os.kill(procs[leader].pid, signal.SIGSTOP)
            t0 = time.monotonic()
            elapsed, new_term = None, None
            while time.monotonic() - t0 < 15 and elapsed is None:
                for i in others:
                    s = status(client_port(i))
                    if s and s[0] == s[1] and s[2] > term:
                        elapsed, new_term = time.monotonic() - t0, s[2]
                        break
                time.sleep(0.02)
            os.kill(procs[leader].pid, signal.SIGCONT)
            results.append(elapsed)
            print(f"trial {t + 1}: leader m{leader} stopped; "
                  f"new leader after {elapsed:.3f} s, terms +{new_term - term}" if elapsed
                  else f"trial {t + 1}: no new leader within 15 s", flush=True)
    finally:
        cluster.stop()
    done = [r for r in results if r is not None]
    print(json.dumps({"binary": binary, "members": MEMBERS, "flags": extra, "trials": trials,
                      "median_s": round(statistics.median(done), 3),
                      "max_s": round(max(done), 3), "min_s": round(min(done), 3)}))


if __name__ == "__main__":
    main()
