#!/usr/bin/env bash
# bench/compare.sh - Salient before and after a change, measured side by side.
#
# Usage (from anywhere):
#     bash bench/compare.sh --base REV [--rounds N] [bench/run.sh options...]
#
# Builds the CLI of commit REV and of HEAD (each a git archive under bench/work/compare/, so
# no worktree is touched and later edits do not change what is measured), then runs bench/run.sh --rounds 1 with the given options for
# each build in turn, N times (default 3), alternating which build goes first (ABBA), so both see
# the same machine in the same time window. The ONNX exports are made once and shared.
# Each run's JSON files go to bench/work/compare/<base|head>/r<K>/; bench/compare.py writes the
# median images/s of each measurement per build and the median of the paired per-round ratios
# (head / base) to bench/work/compare/results.md.
#
# Example: bash bench/compare.sh --base main --explain --skip-torch --models ""

set -u -o pipefail

BASE=""
ROUNDS=3
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --base) BASE="${2:?--base needs a revision}"; shift 2 ;;
    --rounds) ROUNDS="${2:?--rounds needs a value}"; shift 2 ;;
    -h|--help) sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
[ -n "$BASE" ] || { echo "bench/compare.sh: --base REV is required" >&2; exit 2; }
case "$ROUNDS" in ''|*[!0-9]*|0) echo "bench/compare.sh: --rounds must be a positive integer" >&2; exit 2 ;; esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2
OUT=bench/work/compare
BASE_TREE="$OUT/base"
HEAD_TREE="$OUT/head"
log() { echo "[compare] $*" >&2; }

rm -rf "$BASE_TREE" "$HEAD_TREE" "$OUT/base-runs" "$OUT/head-runs"
mkdir -p "$BASE_TREE" "$HEAD_TREE"
git archive "$BASE" | tar -x -C "$BASE_TREE" || { log "cannot export $BASE"; exit 1; }
git archive HEAD | tar -x -C "$HEAD_TREE" || { log "cannot export HEAD"; exit 1; }
log "base $(git rev-parse --short "$BASE"), head $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (uncommitted changes are not measured)')"
for tree in "$BASE_TREE" "$HEAD_TREE"; do
  log "building $tree/src/Salient.Cli"
  dotnet build -c Release "$tree/src/Salient.Cli" >"$OUT/build-$(basename "$(cd "$tree" && pwd)").log" 2>&1 \
    || { log "build of $tree failed (see $OUT)"; exit 1; }
done

mkdir -p bench/work "$BASE_TREE/bench/work" "$HEAD_TREE/bench/work"
run_side() {  # run_side <base|head> <round>
  local side="$1" round="$2" tree="$HEAD_TREE" dest="$OUT/$1-runs/r$2"
  [ "$side" = base ] && tree="$BASE_TREE"
  cp -n bench/work/*.onnx "$tree/bench/work/" 2>/dev/null || true
  log "round $round: $side"
  # Salient against itself: no ONNX Runtime or libtorch harness (a run.sh older than them ignores these).
  RUN_ORT=0 RUN_TORCHSHARP=0 \
  SALIENT_DLL="$(cd "$tree" && pwd)/src/Salient.Cli/bin/Release/net10.0/salient.dll" bash "$tree/bench/run.sh" --rounds 1 "${ARGS[@]}" \
    >"$OUT/$side.r$round.log" 2>&1 || log "$side round $round reported a failure (see $OUT/$side.r$round.log)"
  cp -n "$tree"/bench/work/*.onnx bench/work/ 2>/dev/null || true
  mkdir -p "$dest"
  cp "$tree"/bench/work/*.r1.json "$dest/" 2>/dev/null || true
}

for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then run_side base "$round"; run_side head "$round"
  else run_side head "$round"; run_side base "$round"; fi
done

PYTHON="${PYTHON:-/usr/bin/python3}"
"$PYTHON" bench/compare.py --dir "$OUT" --rounds "$ROUNDS" --base "$(git rev-parse --short "$BASE")" --head "$(git rev-parse --short HEAD)" | tee "$OUT/results.md"
