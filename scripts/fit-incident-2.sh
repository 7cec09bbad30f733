#!/usr/bin/env bash
# The calibration of incident 2, in the open: fit the one fitted storage input (the median
# outstanding I/Os of a tenant VM's burst) so that etcd's WAL fsync figure lands in the
# documented 250-400 ms. Leader changes, API and write latency are outputs and play no part
# here (the backup VM's bursts, chosen for the leader changes, are stated in the scenario).
#
# Usage: scripts/fit-incident-2.sh [READING] [VALUES] [SEEDS]
#   READING  dashboard (default): scenarios/incident-2-election-storm.toml, the figure is the
#            median over the run of the 5-minute p99 (wal_fsync_p99_5m_ms_median);
#            fsync-median: scenarios/incident-2-election-storm-fsync-median.toml, the figure is
#            the median of every fsync (wal_fsync_ms_p50), the first reading.
#   VALUES   defaults 40..70:5 (dashboard), 100..300:20 (fsync-median); SEEDS default 4.
# Prints, per candidate value, the figure on each seed and their median, and the value whose
# median is closest to 325 ms (the middle of 250-400). Runs with `etcdlab sweep`, all cores.
set -euo pipefail
cd "$(dirname "$0")/.."
reading="${1:-dashboard}"
case "$reading" in
  dashboard) scenario=scenarios/incident-2-election-storm.toml; metric=wal_fsync_p99_5m_ms_median
             default_values=40..70:5 ;;
  fsync-median) scenario=scenarios/incident-2-election-storm-fsync-median.toml; metric=wal_fsync_ms_p50
             default_values=100..300:20 ;;
  *) echo "usage: $0 [dashboard|fsync-median] [VALUES] [SEEDS]" >&2; exit 2 ;;
esac
values="${2:-$default_values}"
seeds="${3:-4}"
param="disk.array.neighbours.0.burst_outstanding_ios"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# ETCDLAB_BIN: a binary built elsewhere (e.g. with another CARGO_TARGET_DIR); else build here.
bin="${ETCDLAB_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release --bin etcdlab >/dev/null
  bin=target/release/etcdlab
fi
# Exit 1 (expectations failing at some values) is expected here: only the figures matter.
"$bin" sweep "$scenario" \
  --param "$param=$values" --seeds "$seeds" --out "$out" >/dev/null 2>&1 || true

awk -F, -v target=325 -v param="$param" -v metric="$metric" '
  NR == 1 { for (i = 1; i <= NF; i++) { if ($i == param) p = i; if ($i == metric) f = i; if ($i == "seed") s = i } next }
  { n[$p]++; v[$p, n[$p]] = $f; order[$p] = NR; seen[$p] = 1 }
  END {
    printf "%-10s %-40s %s\n", "value", metric " per seed (ms)", "median"
    best = ""; bestd = 1e18
    for (k in seen) keys[++m] = k
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (keys[j] + 0 < keys[i] + 0) { t = keys[i]; keys[i] = keys[j]; keys[j] = t }
    for (i = 1; i <= m; i++) {
      k = keys[i]; c = n[k]; list = ""
      for (a = 1; a <= c; a++) { x[a] = v[k, a] + 0; list = list sprintf("%.0f ", x[a]) }
      for (a = 1; a <= c; a++) for (b = a + 1; b <= c; b++) if (x[b] < x[a]) { t = x[a]; x[a] = x[b]; x[b] = t }
      med = (c % 2) ? x[(c + 1) / 2] : (x[c / 2] + x[c / 2 + 1]) / 2
      d = med - target; if (d < 0) d = -d
      if (d < bestd) { bestd = d; best = k }
      printf "%-10s %-40s %.1f\n", k, list, med
    }
    printf "\nclosest to %d ms: %s = %s\n", target, param, best
  }' "$out/sweep.csv"
