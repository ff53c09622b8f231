#!/usr/bin/env bash
# bench/build-harnesses.sh - builds the two other engines' harnesses of bench/run.sh:
#   bench/OrtBench         ONNX Runtime 1.31.1 (NuGet Microsoft.ML.OnnxRuntime, CPU)
#   bench/TorchSharpBench  libtorch 2.10 CPU through TorchSharp-cpu 0.107.0
# restored from NuGet like any dependency (dotnet build -c Release of each project, nothing else:
# neither is in Cluster.sln and nothing of the product references them).
#
# Usage (from anywhere): bash bench/build-harnesses.sh [ort] [torchsharp]   (default: both)
#
# The TorchSharp harness then needs one patch, applied to the copies of libLibTorchSharp.so in its
# own output folder (bench/TorchSharpBench/bin/...; the NuGet cache and libtorch's libraries are
# untouched): TorchSharp-cpu 0.107's libLibTorchSharp.so asks for GLIBCXX_3.4.32, which Debian 12's
# libstdc++ (GLIBCXX_3.4.30) lacks, so the loader refuses it - yet the only symbol of that version
# is std::ios_base_library_init(), which no relocation uses and the loader never binds.
# bench/weaken_version_need.py checks exactly that and marks the requirement weak (VER_FLG_WEAK in
# .gnu.version_r, two bytes); see its docstring. Every build re-copies the library, so the patch
# runs after every build (a second run is a no-op).
#
# Exit status: 0 if every harness asked for was built (and patched), 1 otherwise.

set -u -o pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
PYTHON="${PYTHON:-/usr/bin/python3}"
TARGETS="${*:-ort torchsharp}"
STATUS=0
mkdir -p bench/work

build() {  # build <project dir>: quiet Release build, the log in bench/work/build-<name>.log
  local log="bench/work/build-$(basename "$1").log"
  echo "[harness] dotnet build -c Release $1 -> $log" >&2
  if ! dotnet build -c Release "$1" --nologo >"$log" 2>&1; then
    echo "[harness] ERROR: build of $1 failed:" >&2
    grep -E ' error ' "$log" | sort -u | tail -n 15 >&2
    return 1
  fi
}

for target in $TARGETS; do
  case "$target" in
    ort) build bench/OrtBench || STATUS=1 ;;
    torchsharp)
      if build bench/TorchSharpBench; then
        # TorchSharp's build targets put the native libraries in the output folder and again in its
        # cpu/ subfolder: patch every copy there, so whichever the loader picks loads.
        libs="$(find bench/TorchSharpBench/bin/Release -name libLibTorchSharp.so)"
        [ -n "$libs" ] || { echo "[harness] ERROR: no libLibTorchSharp.so in bench/TorchSharpBench/bin/Release" >&2; STATUS=1; }
        for lib in $libs; do
          if ! "$PYTHON" bench/weaken_version_need.py "$lib" GLIBCXX_3.4.32 >&2; then
            echo "[harness] ERROR: could not patch $lib" >&2
            STATUS=1
          fi
        done
      else
        STATUS=1
      fi ;;
    *) echo "bench/build-harnesses.sh: unknown harness '$target' (ort, torchsharp)" >&2; exit 1 ;;
  esac
done
exit "$STATUS"
