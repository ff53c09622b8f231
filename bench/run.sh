#!/usr/bin/env bash
# bench/run.sh - CPU benchmark: Salient beside PyTorch 1.13, ONNX Runtime 1.31.1 and
# libtorch 2.10 (TorchSharp-cpu 0.107).
#
# Usage (from the repository root):
#     bash bench/run.sh [--iterations N] [--models "resnet18 resnet50 mobilenet_v2"]
#                       [--batches "1 8 64"]
#                       [--skip-torch] [--skip-salient] [--skip-ort] [--skip-torchsharp]
#                       [--explain [--explain-iterations N] [--scorecam-channels K] [--explain-model M]]
#                       [--train [--train-iterations N]] [--rounds N]
#
# Steps
#   1. Export torchvision resnet18/resnet50/mobilenet_v2 (weights=None, seeded,
#      eval, 224x224, opset 13, dynamic batch) to bench/work/<model>.onnx.
#      Skipped when the file exists: delete it to force a re-export.
#   2. Forward passes, 224x224, for every model at every batch of --batches
#      (default 1, 8 and 64), each engine in its own process, THREADS intra-op
#      threads, 2 warm-up + N timed batches -> bench/work/<engine>_<model>_b<batch>.json:
#        torch       PyTorch (bench/torch_forward.py), torch.set_num_threads, no_grad
#        salient     `dotnet build -c Release src/Salient.Cli` once, then the built
#                    salient.dll `bench forward ... --json`; `bench gemm --size
#                    1024 --json` -> gemm.json
#        ort         ONNX Runtime 1.31.1 CPU (bench/OrtBench) on the same ONNX file
#        torchsharp  libtorch 2.10 CPU through TorchSharp-cpu 0.107 (bench/TorchSharpBench):
#                    the same torchvision networks rebuilt in TorchSharp, random weights
#      The two harnesses are built (and TorchSharp's native library patched) by
#      bench/build-harnesses.sh, from NuGet; see there. A failing step is reported
#      (with its stderr) and shows as n/a in the table; the others still run.
#   3. Only with --explain: explanation timings on resnet50, batch 8, 224x224
#      (exported in step 1 even when --models leaves it out).
#      PyTorch (bench/torch_explain.py, same threads/conventions as step 2):
#        gradcam-full     the usual pytorch-grad-cam loop (forward hooks, full
#                         backward with parameter gradients)
#        gradcam          backward only to layer4's output (autograd.grad)
#        guided-backprop, tsgb
#        scorecam         only the first K layer4 channels (--scorecam-channels,
#                         default 32 of 2048; the JSON and the table carry the
#                         all-channel estimate): the full 16,384 masked forwards
#                         per batch would take hours on 2 cores
#        shapleycam-full  the pytorch-grad-cam loop: create_graph backward from the
#                         ReST score to the input, then the Hessian-vector product
#        shapleycam       ReST score, Hessian-vector product by create_graph, the
#                         graph started at layer4's output
#        dff-full         pytorch-grad-cam's DFF: one NMF of the batch's activations
#                         (scikit-learn's coordinate descent, written out in NumPy)
#        dff              5 concepts, 200 updates (the fixtures' factorisation)
#      -> bench/work/torch_explain_<variant>.json
#      Salient: `salient bench explain --model bench/work/resnet50.onnx
#      --method M --batch 8 --size 224 --warmup 1 --iterations N --json` for
#      gradcam, guided-backprop, tsgb, scorecam, shapleycam, dff (extra Score-CAM arguments,
#      e.g. a channel subset once the CLI has one, via SALIENT_SCORECAM_ARGS)
#      -> bench/work/salient_explain_<method>.json. --explain-model convnext_tiny
#      explains ConvNeXt-T's last stage (features[-1], Salient's default layer there)
#      instead: gradcam-full, gradcam, shapleycam-full, shapleycam (EXPLAIN_VARIANTS).
#      libtorch (TorchSharp harness): gradcam (backward only to layer4) and
#      guided-backprop -> bench/work/torchsharp_explain_<method>.json. ONNX Runtime
#      has no backward pass: n/a. Each explain command is stopped after
#      EXPLAIN_TIMEOUT seconds (default 1800) and shows as n/a.
#   With --train: training steps of the built resnet-mini (random 96x96 images,
#      batch 32, Adam) - bench/torch_train.py (the same network in torch.nn) and
#      `salient bench train --json` -> bench/work/{torch,salient}_train.json.
#   Steps 2-3 and --train run in rounds (--rounds N, default 1): each round measures every
#   engine on one model and batch back to back -> bench/work/<name>.r<K>.json,
#   so every side of a ratio sees the same machine; the GEMMs run in round 1 only.
#   4. Markdown tables (printed and saved to bench/work/results.md), built by
#      bench/report.py: the engines side by side, with several rounds the median
#      round's figures and the median of the paired per-round ratios (Salient /
#      each other engine), with their range.
#
# Every engine runs in its own process so each peak RSS is that process's own
# high-water mark (getrusage ru_maxrss; /usr/bin/time -f %M is recorded too
# as an outside cross-check).
#
# Environment
#   PYTHON       interpreter with torch + torchvision (default /usr/bin/python3;
#                the pyenv python3 on PATH has no torch)
#   THREADS      intra-op threads of PyTorch, ONNX Runtime and libtorch (default:
#                nproc; Salient uses every core)
#   SALIENT_DLL  use this salient.dll instead of building src/Salient.Cli
#   RUN_ORT, RUN_TORCHSHARP  0 = as --skip-ort / --skip-torchsharp (bench/compare.sh
#                sets both: it compares Salient builds only)
#   BUILD_HARNESSES  0 = use the harnesses already built by bench/build-harnesses.sh
#   EXPLAIN_TIMEOUT          seconds per explain command (default 1800)
#   EXPLAIN_VARIANTS         the PyTorch variants to time (default all five; each
#                            Salient method runs with its PyTorch twin)
#   SALIENT_SCORECAM_ARGS    extra arguments for Salient's Score-CAM run
#
# Exit status: 0 if every step worked, 1 if any step failed (the table is
# still written), 2 on bad usage. bench/work/ is git-ignored.
#
# Timings on a small shared machine are noisy (a neighbour's compile stalls
# every OpenMP barrier), so report.py also shows the best batch; prefer an
# otherwise idle machine for numbers you quote.

set -u -o pipefail

ITERATIONS=5
MODELS="resnet18 resnet50 mobilenet_v2"
BATCHES="1 8 64"
EXPLAIN_BATCH=8
SIZE=224
WARMUP=2
GEMM_SIZE=1024
RUN_TORCH=1
RUN_SALIENT=1
RUN_ORT="${RUN_ORT:-1}"
RUN_TORCHSHARP="${RUN_TORCHSHARP:-1}"
RUN_EXPLAIN=0
EXPLAIN_ITERATIONS=2
EXPLAIN_WARMUP=1
EXPLAIN_MODEL=resnet50
SCORECAM_CHANNELS=32
ROUNDS=1
RUN_TRAIN=0
TRAIN_ITERATIONS=10
TRAIN_ARCH=resnet-mini
TRAIN_SIZE=96
TRAIN_BATCH=32
TORCH_EXPLAIN_VARIANTS="${EXPLAIN_VARIANTS:-gradcam-full gradcam guided-backprop tsgb scorecam shapleycam-full shapleycam dff-full dff}"
SALIENT_EXPLAIN_METHODS="gradcam guided-backprop tsgb scorecam shapleycam dff"
TORCHSHARP_EXPLAIN_METHODS="gradcam guided-backprop"

while [ $# -gt 0 ]; do
  case "$1" in
    --iterations) ITERATIONS="${2:?--iterations needs a value}"; shift 2 ;;
    --iterations=*) ITERATIONS="${1#*=}"; shift ;;
    --models) [ $# -ge 2 ] || { echo "bench/run.sh: --models needs a value (\"\" for none)" >&2; exit 2; }; MODELS="$2"; shift 2 ;;
    --skip-torch) RUN_TORCH=0; shift ;;
    --batches) BATCHES="${2:?--batches needs a value}"; shift 2 ;;
    --batches=*) BATCHES="${1#*=}"; shift ;;
    --skip-salient) RUN_SALIENT=0; shift ;;
    --skip-ort) RUN_ORT=0; shift ;;
    --skip-torchsharp) RUN_TORCHSHARP=0; shift ;;
    --explain) RUN_EXPLAIN=1; shift ;;
    --explain-iterations) EXPLAIN_ITERATIONS="${2:?--explain-iterations needs a value}"; shift 2 ;;
    --explain-iterations=*) EXPLAIN_ITERATIONS="${1#*=}"; shift ;;
    --explain-model) EXPLAIN_MODEL="${2:?--explain-model needs a value}"; shift 2 ;;
    --scorecam-channels) SCORECAM_CHANNELS="${2:?--scorecam-channels needs a value}"; shift 2 ;;
    --scorecam-channels=*) SCORECAM_CHANNELS="${1#*=}"; shift ;;
    --train) RUN_TRAIN=1; shift ;;
    --train-iterations) TRAIN_ITERATIONS="${2:?--train-iterations needs a value}"; shift 2 ;;
    --rounds) ROUNDS="${2:?--rounds needs a value}"; shift 2 ;;
    --rounds=*) ROUNDS="${1#*=}"; shift ;;
    -h|--help) sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
case "$ITERATIONS" in ''|*[!0-9]*|0) echo "bench/run.sh: --iterations must be a positive integer" >&2; exit 2 ;; esac
case "$EXPLAIN_ITERATIONS" in ''|*[!0-9]*|0) echo "bench/run.sh: --explain-iterations must be a positive integer" >&2; exit 2 ;; esac
case "$ROUNDS" in ''|*[!0-9]*|0) echo "bench/run.sh: --rounds must be a positive integer" >&2; exit 2 ;; esac
for b in $BATCHES; do
  case "$b" in *[!0-9]*|0) echo "bench/run.sh: --batches must list positive integers, got '$b'" >&2; exit 2 ;; esac
done
[ -n "${BATCHES// /}" ] || { echo "bench/run.sh: --batches needs at least one batch size" >&2; exit 2; }
case "$TRAIN_ITERATIONS" in ''|*[!0-9]*|0) echo "bench/run.sh: --train-iterations must be a positive integer" >&2; exit 2 ;; esac
case "$SCORECAM_CHANNELS" in ''|*[!0-9]*) echo "bench/run.sh: --scorecam-channels must be an integer (0 = all)" >&2; exit 2 ;; esac
EXPLAIN_TIMEOUT="${EXPLAIN_TIMEOUT:-1800}"

# Work from the repository root whatever the caller's directory.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2
WORK=bench/work
mkdir -p "$WORK"

PYTHON="${PYTHON:-/usr/bin/python3}"
THREADS="${THREADS:-$(nproc)}"
FAILED=0
TIME_BIN=/usr/bin/time
[ -x "$TIME_BIN" ] || TIME_BIN=""

log()  { echo "[bench] $*" >&2; }
fail() { echo "[bench] ERROR: $*" >&2; FAILED=1; }

# Runs "$@" with stdout -> $1.out, stderr -> $1.err, max RSS (KiB) -> $1.maxrss.
# Prints the exit status.
measure() {
  local base="$1"; shift
  local rc
  if [ -n "$TIME_BIN" ]; then
    "$TIME_BIN" -f "%M" -o "$base.maxrss" "$@" >"$base.out" 2>"$base.err"; rc=$?
  else
    "$@" >"$base.out" 2>"$base.err"; rc=$?
  fi
  echo "$rc"
}

# The one JSON object a --json command printed (last line starting with '{').
json_line() { grep -E '^[[:space:]]*\{' "$1" 2>/dev/null | tail -n 1; }

# Merge the outside maxrss into the JSON so report.py has it as a fallback.
save_json() {  # save_json <base> <dest.json>
  local line kib
  line="$(json_line "$1.out")"
  [ -n "$line" ] || return 1
  kib="$(tail -n 1 "$1.maxrss" 2>/dev/null || true)"
  "$PYTHON" - "$line" "${kib:-}" "$2" <<'EOF' || return 1
import json, sys
d = json.loads(sys.argv[1])
if sys.argv[2].isdigit():
    d["time_maxrss_mb"] = round(int(sys.argv[2]) / 1024.0, 1)
with open(sys.argv[3], "w") as f:
    json.dump(d, f)
EOF
}

# A busy neighbour on a 2-core box makes the timings meaningless; say so up front.
LOAD1="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)"
if awk -v l="$LOAD1" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  log "WARNING: 1-min load average is $LOAD1 on $(nproc) CPUs; timings will be noisy (see the best-batch notes)"
fi

# ---------------------------------------------------------------- 1. export
if ! "$PYTHON" -c "import torch, torchvision" 2>/dev/null; then
  echo "[bench] ERROR: $PYTHON cannot import torch/torchvision (use Debian's /usr/bin/python3 or set PYTHON)" >&2
  exit 1
fi
# PyTorch's explanation timings reuse the method fixtures' rules (tests/fixtures/methods), whose
# module imports onnx (Debian: python3-onnx).
if [ "$RUN_EXPLAIN" = 1 ] && [ "$RUN_TORCH" = 1 ] && ! "$PYTHON" -c "import onnx" 2>/dev/null; then
  echo "[bench] ERROR: --explain needs onnx in $PYTHON for PyTorch's side (apt-get install python3-onnx, or --skip-torch)" >&2
  exit 1
fi
EXPORT_MODELS="$MODELS"
if [ "$RUN_EXPLAIN" = 1 ]; then
  case " $MODELS " in *" $EXPLAIN_MODEL "*) ;; *) EXPORT_MODELS="$MODELS $EXPLAIN_MODEL" ;; esac
fi
for m in $EXPORT_MODELS; do
  if [ -s "$WORK/$m.onnx" ]; then
    log "$WORK/$m.onnx exists, not re-exporting"
  else
    log "exporting $m -> $WORK/$m.onnx"
    "$PYTHON" bench/torch_forward.py export --model "$m" --size "$SIZE" --out "$WORK/$m.onnx" \
      || fail "export of $m failed"
  fi
done

# ------------------------------------------------- 2-3. measurements, by round
# Each round measures every engine on one model and batch back to back, so every side of a ratio
# sees the same machine; with --rounds N each figure is the median round's and each ratio the
# median of the N paired ratios (report.py), which a neighbour's burst moves far less than one
# long run.
torch_step() {  # torch_step <name> <args...>: PyTorch's measurement -> $WORK/<name>.r$ROUND.json
  local name="$1"; shift
  local base="$WORK/$name.r$ROUND"
  rm -f "$base.json"
  local rc
  rc=$(measure "$base" timeout "$EXPLAIN_TIMEOUT" "$PYTHON" "$@")
  if [ "$rc" = 0 ] && save_json "$base" "$base.json"; then
    cat "$base.json"; echo
  else
    fail "PyTorch $name failed (exit $rc; 124 = timed out after ${EXPLAIN_TIMEOUT}s):"; tail -n 20 "$base.err" >&2
  fi
}

dotnet_step() {  # dotnet_step <engine> <dll> <name> <args...>: a .NET engine's measurement -> $WORK/<name>.r$ROUND.json
  local engine="$1" dll="$2" name="$3"; shift 3
  local base="$WORK/$name.r$ROUND"
  rm -f "$base.json"
  local rc
  rc=$(measure "$base" timeout "$EXPLAIN_TIMEOUT" dotnet "$dll" "$@")
  if [ "$rc" = 0 ] && save_json "$base" "$base.json"; then
    cat "$base.json"; echo
    return 0
  fi
  if [ "$rc" = 0 ]; then
    fail "$engine '$*' exited 0 but printed no JSON line; stdout was:"
    tail -n 10 "$base.out" >&2
  else
    fail "$engine '$*' failed (exit $rc; 124 = timed out after ${EXPLAIN_TIMEOUT}s). Is the command implemented in this build? stderr:"
    head -n 8 "$base.err" >&2   # System.CommandLine puts the useful line first
    tail -n 5 "$base.out" >&2
  fi
  return 1
}

salient_step() {  # salient_step <name> <args...>: Salient's measurement -> $WORK/<name>.r$ROUND.json
  dotnet_step Salient "$DLL" "$@"
}

if [ "$RUN_SALIENT" = 1 ]; then
  DLL="${SALIENT_DLL:-src/Salient.Cli/bin/Release/net10.0/salient.dll}"
  if [ -z "${SALIENT_DLL:-}" ]; then
    log "building Salient (dotnet build -c Release src/Salient.Cli) -> $WORK/dotnet-build.log"
    if ! dotnet build -c Release src/Salient.Cli >"$WORK/dotnet-build.log" 2>&1; then
      fail "dotnet build failed; last lines of $WORK/dotnet-build.log:"
      grep -E 'error|Error' "$WORK/dotnet-build.log" | tail -n 15 >&2
    fi
  fi
  if [ ! -f "$DLL" ]; then
    fail "Salient CLI not found at $DLL; skipping the Salient measurements"
    RUN_SALIENT=0
  fi
fi

ORT_DLL=bench/OrtBench/bin/Release/net10.0/linux-x64/ortbench.dll
TORCHSHARP_DLL=bench/TorchSharpBench/bin/Release/net10.0/linux-x64/torchsharpbench.dll
HARNESSES=""
[ "$RUN_ORT" = 1 ] && HARNESSES="ort"
[ "$RUN_TORCHSHARP" = 1 ] && HARNESSES="$HARNESSES torchsharp"
if [ -n "$HARNESSES" ] && [ "${BUILD_HARNESSES:-1}" != 0 ]; then
  log "building the ONNX Runtime / TorchSharp harnesses (bench/build-harnesses.sh $HARNESSES)"
  # shellcheck disable=SC2086  # a word list on purpose
  PYTHON="$PYTHON" bash bench/build-harnesses.sh $HARNESSES || fail "bench/build-harnesses.sh failed (see above)"
fi
if [ "$RUN_ORT" = 1 ] && [ ! -f "$ORT_DLL" ]; then
  fail "ONNX Runtime harness not found at $ORT_DLL; skipping its measurements"
  RUN_ORT=0
fi
if [ "$RUN_TORCHSHARP" = 1 ] && [ ! -f "$TORCHSHARP_DLL" ]; then
  fail "TorchSharp harness not found at $TORCHSHARP_DLL; skipping its measurements"
  RUN_TORCHSHARP=0
fi

rm -f "$WORK"/*.r[0-9]*.json
for ROUND in $(seq 1 "$ROUNDS"); do
  log "round $ROUND of $ROUNDS"
  for m in $MODELS; do
    for b in $BATCHES; do
      run="${m}_b$b"
      if [ "$RUN_TORCH" = 1 ]; then
        log "PyTorch forward $m: batch $b, ${SIZE}x$SIZE, $THREADS threads, $WARMUP warm-up + $ITERATIONS iterations"
        torch_step "torch_$run" bench/torch_forward.py forward --model "$m" \
          --batch "$b" --size "$SIZE" --warmup "$WARMUP" --iterations "$ITERATIONS" --threads "$THREADS"
      fi
      if [ ! -s "$WORK/$m.onnx" ]; then
        { [ "$RUN_SALIENT" = 1 ] || [ "$RUN_ORT" = 1 ]; } && fail "no $WORK/$m.onnx for Salient / ONNX Runtime"
      else
        if [ "$RUN_SALIENT" = 1 ]; then
          log "Salient forward $m, batch $b"
          salient_step "salient_$run" bench forward --model "$WORK/$m.onnx" --batch "$b" --size "$SIZE" \
            --warmup "$WARMUP" --iterations "$ITERATIONS" --json
        fi
        if [ "$RUN_ORT" = 1 ]; then
          log "ONNX Runtime forward $m, batch $b"
          dotnet_step "ONNX Runtime" "$ORT_DLL" "ort_$run" forward --model "$m" --onnx "$WORK/$m.onnx" \
            --batch "$b" --size "$SIZE" --warmup "$WARMUP" --iterations "$ITERATIONS" --threads "$THREADS"
        fi
      fi
      if [ "$RUN_TORCHSHARP" = 1 ]; then
        log "libtorch (TorchSharp) forward $m, batch $b"
        dotnet_step libtorch "$TORCHSHARP_DLL" "torchsharp_$run" forward --model "$m" \
          --batch "$b" --size "$SIZE" --warmup "$WARMUP" --iterations "$ITERATIONS" --threads "$THREADS"
      fi
    done
  done
  if [ "$ROUND" = 1 ]; then
    if [ "$RUN_TORCH" = 1 ]; then
      log "PyTorch GEMM ${GEMM_SIZE}x$GEMM_SIZE (float32, $THREADS threads)"
      torch_step torch_gemm bench/torch_forward.py gemm --size "$GEMM_SIZE" --threads "$THREADS"
    fi
    if [ "$RUN_SALIENT" = 1 ]; then
      log "Salient GEMM $GEMM_SIZE"
      salient_step gemm bench gemm --size "$GEMM_SIZE" --json
    fi
  fi
  if [ "$RUN_TRAIN" = 1 ]; then
    if [ "$RUN_TORCH" = 1 ]; then
      log "PyTorch training steps, $TRAIN_ARCH: batch $TRAIN_BATCH, ${TRAIN_SIZE}x$TRAIN_SIZE, Adam, 2 warm-up + $TRAIN_ITERATIONS steps"
      torch_step torch_train bench/torch_train.py --arch "$TRAIN_ARCH" --size "$TRAIN_SIZE" --batch "$TRAIN_BATCH" \
        --warmup 2 --iterations "$TRAIN_ITERATIONS" --threads "$THREADS"
    fi
    if [ "$RUN_SALIENT" = 1 ]; then
      log "Salient training steps, $TRAIN_ARCH"
      salient_step salient_train bench train --arch "$TRAIN_ARCH" --size "$TRAIN_SIZE" --batch "$TRAIN_BATCH" \
        --warmup 2 --iterations "$TRAIN_ITERATIONS" --json
    fi
  fi
  if [ "$RUN_EXPLAIN" = 1 ]; then
    for v in $TORCH_EXPLAIN_VARIANTS; do
      if [ "$RUN_TORCH" = 1 ]; then
        log "PyTorch explain $v on $EXPLAIN_MODEL: batch $EXPLAIN_BATCH, ${SIZE}x$SIZE, $THREADS threads, $EXPLAIN_WARMUP warm-up + $EXPLAIN_ITERATIONS iterations"
        torch_step "torch_explain_$v" bench/torch_explain.py \
          --model "$EXPLAIN_MODEL" --method "$v" --batch "$EXPLAIN_BATCH" --size "$SIZE" --warmup "$EXPLAIN_WARMUP" \
          --iterations "$EXPLAIN_ITERATIONS" --threads "$THREADS" --scorecam-channels "$SCORECAM_CHANNELS"
      fi
      # The pytorch-grad-cam loops (*-full) have no Salient twin: Salient's method is measured once,
      # after PyTorch's variant of the same name.
      meth="$v"
      case "$v" in *-full) continue ;; esac
      # libtorch's twins of PyTorch's gradcam (backward only to layer4) and guided backprop.
      case " $TORCHSHARP_EXPLAIN_METHODS " in
        *" $meth "*)
          if [ "$RUN_TORCHSHARP" = 1 ]; then
            log "libtorch (TorchSharp) explain $meth on $EXPLAIN_MODEL"
            dotnet_step libtorch "$TORCHSHARP_DLL" "torchsharp_explain_$meth" explain --model "$EXPLAIN_MODEL" \
              --method "$meth" --batch "$EXPLAIN_BATCH" --size "$SIZE" --warmup "$EXPLAIN_WARMUP" \
              --iterations "$EXPLAIN_ITERATIONS" --threads "$THREADS"
          fi ;;
      esac
      case " $SALIENT_EXPLAIN_METHODS " in *" $meth "*) ;; *) continue ;; esac
      [ "$RUN_SALIENT" = 1 ] || continue
      if [ ! -s "$WORK/$EXPLAIN_MODEL.onnx" ]; then
        fail "no $WORK/$EXPLAIN_MODEL.onnx for Salient explain"
        continue
      fi
      extra=""
      # Time the same channel subset as PyTorch's side (report.py compares them unscaled).
      [ "$meth" = scorecam ] && extra="${SALIENT_SCORECAM_ARGS-$([ "$SCORECAM_CHANNELS" -gt 0 ] && echo "--channels $SCORECAM_CHANNELS")}"
      log "Salient explain $meth on $EXPLAIN_MODEL${extra:+ ($extra)}"
      # shellcheck disable=SC2086  # extra is a word list on purpose
      salient_step "salient_explain_$meth" bench explain --model "$WORK/$EXPLAIN_MODEL.onnx" \
        --method "$meth" --batch "$EXPLAIN_BATCH" --size "$SIZE" --warmup "$EXPLAIN_WARMUP" \
        --iterations "$EXPLAIN_ITERATIONS" --json $extra
    done
  fi
done

# ---------------------------------------------------------------- 5. report
EXPLAIN_ARGS=()
[ "$RUN_EXPLAIN" = 1 ] && EXPLAIN_ARGS=(--explain --explain-model "$EXPLAIN_MODEL" --explain-iterations "$EXPLAIN_ITERATIONS")
[ "$RUN_TRAIN" = 1 ] && EXPLAIN_ARGS+=(--train)
# shellcheck disable=SC2086  # word lists on purpose
"$PYTHON" bench/report.py --work "$WORK" --models $MODELS --batches $BATCHES --iterations "$ITERATIONS" \
  --rounds "$ROUNDS" --threads "$THREADS" --out "$WORK/results.md" "${EXPLAIN_ARGS[@]}" || fail "report generation failed"

exit "$FAILED"
