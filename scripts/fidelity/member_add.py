#!/usr/bin/env python3
"""When does a real etcd refuse `etcdctl member add`, with which text, and what does it print?

Usage: member_add.py ETCD ETCDCTL [REPEATS [extra etcd flags...]] > out.json
e.g.   member_add.py /usr/bin/etcd /usr/bin/etcdctl 3
       member_add.py /usr/bin/etcd /usr/bin/etcdctl 1 --strict-reconfig-check=false

Everything on 127.0.0.1 with the ports of loopcluster.py; every etcdctl call is
`ETCDCTL --endpoints=http://127.0.0.1:12379 member add NAME --peer-urls=http://127.0.0.1:N2380`
(so the member that checks the request is always the first one), and its exact stdout, stderr
and exit status are kept. Three experiments:

fresh  (REPEATS times, each with its own --initial-cluster-token so that member IDs differ)
       3 members named mike, zulu, alpha (slots 1-3; name order differs from slot order).
       As soon as all three answer a status request, `member add delta` every 100 ms until it
       succeeds (at most 30 s): every refusal's text and time, and the time of the success,
       both from the moment the members were launched and from the moment they answered.
       Then delta is started with the printed ETCD_INITIAL_CLUSTER (state existing) and
       `member add bravo` is retried every 100 ms the same way; then, with bravo left
       unstarted, `member add charlie` is retried for 8 s. Finally `member list -w json`,
       to compare the order of ETCD_INITIAL_CLUSTER with name order, member ID order and
       add order.
down   3 members; after 8 s of health the third is SIGKILLed (not restarted) and
       `member add delta` is tried right away and then every second for 12 s.

Prints one JSON document. Stops every etcd it started and removes their data dirs.
"""
import json
import re
import signal
import subprocess
import sys
import time

from loopcluster import Cluster, client_port, peer_url

NAMES = ["mike", "zulu", "alpha", "delta", "bravo", "charlie"]


def etcdctl(ctl, *args, timeout=15):
    cmd = [ctl, f"--endpoints=http://127.0.0.1:{client_port(1)}", *args]
    t = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       env={"PATH": "/usr/bin:/bin", "ETCDCTL_API": "3"})
    return {"cmd": " ".join(["etcdctl"] + cmd[1:]), "rc": r.returncode, "stdout": r.stdout,
            "stderr": r.stderr, "took_s": round(time.monotonic() - t, 3)}


def add_until_ok(ctl, name, slot, t_launch, t_answer, limit_s=30.0, every_s=0.1):
    """Retry `member add` every `every_s` until it succeeds or `limit_s` passes."""
    attempts = []
    t0 = time.monotonic()
    while True:
        t = time.monotonic()
        r = etcdctl(ctl, "member", "add", name, f"--peer-urls={peer_url(slot)}")
        r["at_s_from_launch"] = round(t - t_launch, 3)
        r["at_s_from_answer"] = round(t - t_answer, 3) if t_answer else None
        attempts.append(r)
        if r["rc"] == 0 or time.monotonic() - t0 > limit_s:
            break
        time.sleep(max(0.0, every_s - (time.monotonic() - t)))
    return summarize(attempts)


def summarize(attempts):
    """Group refusals by their text with timestamps blanked; keep the first raw example."""
    groups = {}
    for a in attempts:
        if a["rc"] == 0:
            continue
        key = re.sub(r"\d{4}-\d\d-\d\dT[0-9:.+\-Z]+", "<time>", a["stderr"])
        key = re.sub(r"client-[0-9a-f-]+", "client-<uuid>", key)
        key = re.sub(r"//0x[0-9a-f]+/", "//0x<ptr>/", key)
        g = groups.setdefault(key, {"count": 0, "example": a, "first_at_s_from_launch":
                                    a["at_s_from_launch"], "first_at_s_from_answer":
                                    a["at_s_from_answer"]})
        g["count"] += 1
        g["last_at_s_from_launch"] = a["at_s_from_launch"]
        g["last_at_s_from_answer"] = a["at_s_from_answer"]
    ok = [a for a in attempts if a["rc"] == 0]
    return {"attempts": len(attempts), "refusals": list(groups.values()),
            "success": ok[0] if ok else None}


def initial_cluster(stdout):
    m = re.search(r'^ETCD_INITIAL_CLUSTER="(.*)"$', stdout, re.M)
    return m.group(1) if m else None


def fresh(etcd, ctl, token, extra):
    c = Cluster(etcd, 3, extra, names=NAMES, prefix="memberadd-", token=token)
    out = {"token": token}
    try:
        t_launch = time.monotonic()
        c.start()
        while not c.answering():
            time.sleep(0.02)
        t_answer = time.monotonic()
        out["answered_after_s"] = round(t_answer - t_launch, 3)
        out["add_delta"] = add_until_ok(ctl, "delta", 4, t_launch, t_answer)
        ok = out["add_delta"]["success"]
        if not ok:
            return out
        c.launch(4, initial_cluster(ok["stdout"]), "existing")
        t4 = time.monotonic()
        while not c.answering([4]):
            time.sleep(0.02)
        out["delta_answered_after_s"] = round(time.monotonic() - t4, 3)
        out["add_bravo"] = add_until_ok(ctl, "bravo", 5, t4, None)
        out["add_charlie_with_bravo_unstarted"] = add_until_ok(ctl, "charlie", 6, t4, None,
                                                               limit_s=8.0)
        lst = etcdctl(ctl, "member", "list", "-w", "json")
        members = json.loads(lst["stdout"])["members"]
        out["member_list"] = [{"id": format(int(m["ID"]), "x"), "name": m.get("name", ""),
                               "peer": m["peerURLs"][0]} for m in members]
        out["member_list_simple"] = etcdctl(ctl, "member", "list")["stdout"]
    finally:
        c.stop()
    return out


def down(etcd, ctl, extra):
    c = Cluster(etcd, 3, extra, names=NAMES, prefix="memberadd-", token="down")
    out = {}
    try:
        c.start()
        while not c.answering():
            time.sleep(0.02)
        time.sleep(8.0)
        c.signal(3, signal.SIGKILL)
        c.procs[3].wait()
        t_kill = time.monotonic()
        tries = []
        for k in range(13):
            target = t_kill + (0.1 if k == 0 else k)
            time.sleep(max(0.0, target - time.monotonic()))
            r = etcdctl(ctl, "member", "add", "delta", f"--peer-urls={peer_url(4)}")
            r["at_s_after_kill"] = round(time.monotonic() - t_kill, 3)
            tries.append(r)
            if r["rc"] == 0:
                break
        out["tries"] = tries
    finally:
        c.stop()
    return out


def main():
    etcd, ctl = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so that `finally` cleans up
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    extra = sys.argv[4:]
    version = subprocess.run([etcd, "--version"], capture_output=True, text=True).stdout
    result = {"etcd": etcd, "etcdctl": ctl, "version": version.splitlines()[0],
              "flags": extra, "fresh": [fresh(etcd, ctl, f"tok{r}", extra) for r in range(repeats)],
              "down": down(etcd, ctl, extra)}
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
