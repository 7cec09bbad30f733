#!/usr/bin/env python3
"""The member ID etcd gives a member added with `etcdctl member add`, against a formula.

Usage: member_id.py ETCD ETCDCTL   (e.g. /usr/bin/etcd /usr/bin/etcdctl)

Starts one member on loopback (ports from loopcluster.py; FIDELITY_PORT_OFFSET moves them) with
--strict-reconfig-check=false, adds a member with the peer URL of slot 2, and reads the new
ID from etcdctl's "Member <id> added to cluster <id>" line. Then it tries, for every Unix
second from one before the request to one after its answer, SHA-1 over the peer URL followed
by the cluster token or by nothing, followed by the second as decimal text (first 8 bytes,
big-endian), and prints which of them gives the ID. Only one add is tried: the added member
is never started, so a second add would find the cluster without a quorum.
"""
import hashlib
import json
import subprocess
import sys
import time

from loopcluster import Cluster, client_port, peer_url

TOKEN = "fidelity"


def sha1_id(text):
    return "%x" % int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], "big")


def main():
    etcd, ctl = sys.argv[1], sys.argv[2]
    cluster = Cluster(etcd, 1, ["--strict-reconfig-check=false"], prefix="member-id-",
                      token=TOKEN).start()
    try:
        for _ in range(100):
            if cluster.answering():
                break
            time.sleep(0.1)
        time.sleep(1.0)
        url = peer_url(2)
        t0 = time.time()
        r = subprocess.run([ctl, f"--endpoints=http://127.0.0.1:{client_port(1)}", "member",
                            "add", "added", f"--peer-urls={url}"], capture_output=True,
                           text=True, env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"})
        t1 = time.time()
        line = next((x for x in r.stdout.splitlines() if "added to cluster" in x), "")
        got = line.split()[1] if line else None
        tried = {}
        for second in range(int(t0) - 1, int(t1) + 2):
            for what, token in (("no token", ""), ("token", TOKEN)):
                tried[f"{what}, second {second}"] = sha1_id(url + token + str(second))
        print(json.dumps({
            "binary": etcd, "peer_url": url, "id": got, "rc": r.returncode,
            "requested_at_unix_s": round(t0, 3), "answered_at_unix_s": round(t1, 3),
            "formula_that_matches": [k for k, v in tried.items() if v == got],
        }))
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
