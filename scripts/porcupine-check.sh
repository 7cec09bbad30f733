#!/usr/bin/env bash
# Cross-checks etcdlab histories with porcupine, the linearizability checker etcd's robustness
# tests use (see docs/checkers.md, "Cross-check with porcupine").
#
#   scripts/porcupine-check.sh PORCUPINE_SRC [-timeout 60s] [-visualize DIR] HISTORY.jsonl...
#
# PORCUPINE_SRC: a clone of https://github.com/anishathalye/porcupine. The Go program in
# scripts/porcupine/ is built offline against it (a go.mod `replace`; no module proxy), then
# run on the histories, one verdict a line. Its flags come before the histories: -timeout
# (default 60s; a history not decided by then is `undecided`), -visualize DIR (porcupine's
# HTML picture of a failing history).
# Exit codes: those of the program (0 all pass, 3 a history fails, 4 one is undecided, 2 a
# history cannot be read); 2 also when go or the porcupine source is missing or the build
# fails.
set -euo pipefail

usage() {
  echo "usage: $0 PORCUPINE_SRC [-timeout DURATION] [-visualize DIR] HISTORY.jsonl..." >&2
  exit 2
}

[ $# -ge 2 ] || usage
src=$1
shift

if ! command -v go >/dev/null 2>&1; then
  echo "error: go is not installed (Debian: apt-get install golang-go; Go 1.19 or later)" >&2
  exit 2
fi
if [ ! -d "$src" ]; then
  echo "error: no porcupine source folder at $src;" >&2
  echo "       get it with: git clone https://github.com/anishathalye/porcupine" >&2
  exit 2
fi
if [ ! -f "$src/go.mod" ] || ! grep -q '^module github.com/anishathalye/porcupine' "$src/go.mod"; then
  echo "error: $src is not porcupine's source (no go.mod of module github.com/anishathalye/porcupine);" >&2
  echo "       get it with: git clone https://github.com/anishathalye/porcupine" >&2
  exit 2
fi
src=$(cd "$src" && pwd)
here=$(cd "$(dirname "$0")/porcupine" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/porcupine-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$here"/*.go "$here/go.mod" "$work/"
echo "replace github.com/anishathalye/porcupine => $src" >>"$work/go.mod"

# Offline: porcupine has no dependencies of its own, so nothing is downloaded.
export GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off GOTOOLCHAIN=local
export GOCACHE=${GOCACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/etcdlab-porcupine-gocache}
if ! (cd "$work" && go build -o "$work/porcupinecheck" . 2>"$work/build.log"); then
  echo "error: building the porcupine cross-check against $src failed:" >&2
  cat "$work/build.log" >&2
  exit 2
fi

status=0
"$work/porcupinecheck" "$@" || status=$?
exit $status
