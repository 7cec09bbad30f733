#!/usr/bin/env bash
# Regenerates the committed reports (reports/<name>/ for every shipped scenario) and the insta
# snapshots of their summary.json (tests/snapshots/shipped_scenarios__<name>.snap). This script
# is the one source of truth for both: tests/shipped_scenarios.rs compares fresh runs with them.
#
# Run it from anywhere; it works in the repository root. Review `git diff reports tests/snapshots`
# afterwards and commit.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --bin etcdlab
bin=target/release/etcdlab

# Start from nothing, so that files and folders a run no longer writes do not linger.
mkdir -p reports
# reports/sweep-*/ are the shipped sweeps' outputs (etcdlab sweep), not regenerated here.
find reports -mindepth 1 -maxdepth 1 ! -name 'sweep-*' -exec rm -rf {} +

shopt -s nullglob
status=0
for sc in scenarios/*.toml; do
  case "$(basename "$sc")" in sweep-*) continue ;; esac
  # Exactly what the test runs (relative path, default seed); the default output folder is
  # reports/<scenario name>/.
  set +e
  "$bin" run "$sc"
  code=$?
  set -e
  case $code in
    0) ;;
    1) echo "warning: $sc: an [[expect]] failed (report written anyway; the tests will fail)" >&2
       status=1 ;;
    *) echo "error: $sc: etcdlab exited with $code; no report" >&2
       exit $code ;;
  esac
done

# Snapshots: drop the old ones (a renamed or removed scenario leaves none behind), write the
# new ones (this run may still fail for other reasons), then check that the test passes as is.
rm -f tests/snapshots/shipped_scenarios__*.snap tests/snapshots/shipped_scenarios__*.snap.new
INSTA_UPDATE=always cargo test --release --test shipped_scenarios >/dev/null 2>&1 || true
cargo test --release --test shipped_scenarios

echo "regenerated reports/ and tests/snapshots/; review with: git status reports tests/snapshots" >&2
exit $status
