#!/bin/sh
# Runs the etcdlab side of the issue-18 comparison (A, B, C, D) with the release binary and
# summarizes it. Usage: scripts/fidelity/lab/run_lab.sh [LAB_BINARY] [OUT_DIR]
# Run from the repository root. Each run is a few tenths of a second of CPU.
set -e
LAB=${1:-target/release/etcdlab}
OUT=${2:-/tmp/issue18-lab}
HERE=$(dirname "$0")
mkdir -p "$OUT"
for v in 3.4 3.5; do
  # A: member add right after start / with a member down / order of ETCD_INITIAL_CLUSTER
  for f in member-add-early member-add-one-down member-add-order; do
    nice -n 19 "$LAB" run "$HERE/$f.toml" --set cluster.etcd_version=$v --out "$OUT/A-$v-$f" >/dev/null 2>&1
  done
  # B: 5 members, pre-vote off, leader paused 3 s 15 times; seeds 1-9
  for s in 1 2 3 4 5 6 7 8 9; do
    nice -n 19 "$LAB" run scenarios/leader-stall-failover.toml --seed $s --set cluster.size=5 \
      --set cluster.etcd_version=$v --set cluster.pre_vote=false --out "$OUT/B-$v-s$s" >/dev/null 2>&1
  done
  # C: a follower isolated (or paused) 5 s, 12 times, pre-vote off and on
  for pv in false true; do
    for a in isolate pause; do
      nice -n 19 "$LAB" run "$HERE/follower-rejoin.toml" --set cluster.etcd_version=$v \
        --set cluster.pre_vote=$pv --set timeline.0.action=$a --out "$OUT/C-$v-$pv-$a" >/dev/null 2>&1
    done
  done
  # D: the rejoin catch-up on 3.5's defaults (pre-vote on), 48 isolations per seed, seeds 1-3
  for s in 1 2 3; do
    nice -n 19 "$LAB" run "$HERE/follower-rejoin.toml" --seed $s --set cluster.etcd_version=$v \
      --set cluster.pre_vote=true --set duration=17m \
      --set 'timeline.0.repeat={ count = 48, every = "20s" }' --out "$OUT/D-$v-s$s" >/dev/null 2>&1
  done
done
python3 "$HERE/lab_summary.py" "$OUT"/B-* "$OUT"/C-* "$OUT"/D-*
