"""Shared helpers for the fidelity scripts: a real etcd cluster on 127.0.0.1.

Not run by itself; imported by failover.py, member_add.py and partition_rejoin.py.

Member i (1-based) has client port i2379 and peer port i2380 (12379/12380, 22379/22380, ...),
plus FIDELITY_PORT_OFFSET from the environment when set (so that two measurements can run on
one machine at once: an offset of 1150 gives 13529/13530, 23529/23530, ...),
heartbeat 100 ms and election timeout 1000 ms unless later flags override them, and keeps its
data dir and log under one temporary folder that `stop()` removes. Members can be given other
names than m1..mN, and can each run under their own numeric uid (so that packet filters can
tell their sockets apart: see partition_rejoin.py).
"""
import base64
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time


PORT_OFFSET = int(os.environ.get("FIDELITY_PORT_OFFSET", "0"))


def client_port(i):
    return i * 10000 + 2379 + PORT_OFFSET


def peer_port(i):
    return i * 10000 + 2380 + PORT_OFFSET


def peer_url(i):
    return f"http://127.0.0.1:{peer_port(i)}"


def client_url(i):
    return f"http://127.0.0.1:{client_port(i)}"


def post(port, path, body, timeout=0.3):
    """POST a JSON body to the gRPC gateway of the member on `port`; the decoded reply or None."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request("POST", path, body=json.dumps(body))
        reply = c.getresponse().read()
        c.close()
        return json.loads(reply)
    except Exception:
        return None


def status_full(port, timeout=0.3):
    """/v3/maintenance/status of the member on `port` as a dict of ints, or None.

    Keys: id, leader, term, index (raft index), applied (raft applied index)."""
    d = post(port, "/v3/maintenance/status", {}, timeout)
    if not d or "header" not in d:
        return None
    return {
        "id": int(d["header"]["member_id"]),
        "leader": int(d.get("leader", 0)),
        "term": int(d.get("raftTerm", 0)),
        "index": int(d.get("raftIndex", 0)),
        "applied": int(d.get("raftAppliedIndex", 0)),
    }


def status(port, timeout=0.3):
    """(member id, leader id, term) as the member on `port` reports them, or None."""
    s = status_full(port, timeout)
    return None if s is None else (s["id"], s["leader"], s["term"])


def put(port, key, value, timeout=1.0):
    b64 = lambda s: base64.b64encode(s.encode()).decode()
    return post(port, "/v3/kv/put", {"key": b64(key), "value": b64(value)}, timeout) is not None


class Cluster:
    """`members` etcd processes of `binary` with `extra` flags appended (later flags win)."""

    def __init__(self, binary, members=3, extra=(), names=None, uids=None, prefix="fidelity-",
                 token="fidelity"):
        self.binary = binary
        self.token = token
        self.ids = list(range(1, members + 1))
        self.extra = list(extra)
        self.names = {i: (names[i - 1] if names else f"m{i}") for i in self.ids}
        if names:  # members that may be added later keep the remaining names
            self.names.update({i + 1: n for i, n in enumerate(names) if i + 1 > members})
        self.uids = {i: uids[i - 1] for i in self.ids} if uids else {}
        self.folder = tempfile.mkdtemp(prefix=prefix)
        self.procs = {}

    def flags(self, i, cluster, state):
        return [
            f"--name={self.names[i]}", f"--data-dir={self.folder}/{self.names[i]}.etcd",
            f"--listen-client-urls={client_url(i)}",
            f"--advertise-client-urls={client_url(i)}",
            f"--listen-peer-urls={peer_url(i)}",
            f"--initial-advertise-peer-urls={peer_url(i)}",
            f"--initial-cluster={cluster}", f"--initial-cluster-token={self.token}",
            f"--initial-cluster-state={state}", "--heartbeat-interval=100",
            "--election-timeout=1000",
        ] + self.extra

    def launch(self, i, cluster, state):
        """Start member i (which may be one added later) with the given --initial-cluster."""
        kwargs = {}
        if i in self.uids:
            uid = self.uids[i]
            os.chmod(self.folder, 0o755)
            data = f"{self.folder}/{self.names[i]}.etcd"
            os.makedirs(data, mode=0o700, exist_ok=True)
            os.chown(data, uid, uid)

            def drop():
                os.setgid(uid)
                os.setuid(uid)
            kwargs["preexec_fn"] = drop
        log = open(f"{self.folder}/{self.names[i]}.log", "a")
        self.procs[i] = subprocess.Popen([self.binary] + self.flags(i, cluster, state),
                                         stdout=log, stderr=log, **kwargs)
        log.close()

    def start(self):
        cluster = ",".join(f"{self.names[i]}={peer_url(i)}" for i in self.ids)
        for i in self.ids:
            self.launch(i, cluster, "new")
        return self

    def answering(self, members=None):
        """Whether every listed member (default: all) answers a status request."""
        return all(status_full(client_port(i)) for i in (members or self.ids))

    def stable_leader(self, members=None, tries=400):
        """(index of the member every listed member follows, its term); exits after ~20 s."""
        members = members or self.ids
        for _ in range(tries):
            s = {i: status(client_port(i)) for i in members}
            if all(s.values()):
                leaders = {v[1] for v in s.values()}
                for i, v in s.items():
                    if len(leaders) == 1 and v[0] == v[1]:
                        return i, v[2]
            time.sleep(0.05)
        raise SystemExit("no stable leader within 20 s")

    def signal(self, i, sig):
        self.procs[i].send_signal(sig)

    def stop(self):
        """Stop every member this object started and remove the folder."""
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
