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
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

MEMBERS = int(os.environ.get("MEMBERS", "3"))
CLIENT = {i: i * 10000 + 2379 for i in range(1, MEMBERS + 1)}
PEER = {i: i * 10000 + 2380 for i in range(1, MEMBERS + 1)}


def status(i, timeout=0.3):
    """(member id, leader id, term) as member i reports them, or None."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", CLIENT[i], timeout=timeout)
        c.request("POST", "/v3/maintenance/status", body="{}")
        d = json.loads(c.getresponse().read())
        c.close()
        return int(d["header"]["member_id"]), int(d.get("leader", 0)), int(d.get("raftTerm", 0))
    except Exception:
        return None


def stable_leader():
    """The index of the member every member follows, and its term."""
    for _ in range(400):
        s = {i: status(i) for i in CLIENT}
        if all(s.values()):
            leaders = {v[1] for v in s.values()}
            for i, v in s.items():
                if len(leaders) == 1 and v[0] == v[1]:
                    return i, v[2]
        time.sleep(0.05)
    raise SystemExit("no stable leader within 20 s")


def start(binary, folder, extra):
    cluster = ",".join(f"m{i}=http://127.0.0.1:{PEER[i]}" for i in CLIENT)
    procs = {}
    for i in CLIENT:
        flags = [
            f"--name=m{i}", f"--data-dir={folder}/m{i}.etcd",
            f"--listen-client-urls=http://127.0.0.1:{CLIENT[i]}",
            f"--advertise-client-urls=http://127.0.0.1:{CLIENT[i]}",
            f"--listen-peer-urls=http://127.0.0.1:{PEER[i]}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{PEER[i]}",
            f"--initial-cluster={cluster}", "--initial-cluster-token=fidelity",
            "--initial-cluster-state=new", "--heartbeat-interval=100", "--election-timeout=1000",
        ] + extra
        log = open(f"{folder}/m{i}.log", "w")
        procs[i] = subprocess.Popen([binary] + flags, stdout=log, stderr=log)
    return procs


def main():
    binary, trials, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    folder = tempfile.mkdtemp(prefix="failover-")
    procs = start(binary, folder, extra)
    results = []
    try:
        for t in range(trials):
            time.sleep(2.0)
            leader, term = stable_leader()
            others = [i for i in CLIENT if i != leader]
            os.kill(procs[leader].pid, signal.SIGSTOP)
            t0 = time.monotonic()
            elapsed, new_term = None, None
            while time.monotonic() - t0 < 15 and elapsed is None:
                for i in others:
                    s = status(i)
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
        for p in procs.values():
            p.send_signal(signal.SIGCONT)
            p.terminate()
        for p in procs.values():
            p.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    done = [r for r in results if r is not None]
    print(json.dumps({"binary": binary, "members": MEMBERS, "flags": extra, "trials": trials,
                      "median_s": round(statistics.median(done), 3),
                      "max_s": round(max(done), 3), "min_s": round(min(done), 3)}))


if __name__ == "__main__":
    main()
