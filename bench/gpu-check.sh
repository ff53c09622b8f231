#!/usr/bin/env bash
# bench/gpu-check.sh - the GPU check of Salient's ILGPU kernels, for a machine with an NVIDIA GPU.
#
# Usage (from anywhere):
#     bash bench/gpu-check.sh [--no-build] [--device cuda[:N]] [--sizes 1024,2048,4096,8192] [--seconds 2]
#                             [--model bench/work/resnet50.onnx]
#
# Steps (about 3-5 minutes on a 16-core machine with a warm NuGet cache; --no-build saves the build):
#   1. Build tests/Salient.Engine.Cuda.Tests and bench/GpuBench once, Release. With --no-build
#      the outputs already under their bin/Release/net10.0 are used (build them on a machine
#      with the NuGet packages and copy the two bin folders along when the GPU machine is offline).
#   2. Opens the device (GpuBench fails at once, naming the device, without driver or GPU).
#   3. Runs every kernel parity test and the end-to-end test (resnet_basic's logits, Grad-CAM and
#      guided-backprop maps against the CPU backend) on the device (SALIENT_TEST_CUDA; the
#      CPU-accelerator cases are left to CI) and fails if any failed or was skipped.
#   4. GpuBench: GEMM TFLOPS at --sizes against the device's FP32 peak, and ResNet-50's 3x3
#      convolutions at batch 64.
#   5. With --model (an ONNX image classifier such as bench/run.sh's resnet50.onnx, copied along):
#      `salient bench forward` and `bench explain` (gradcam, guided-backprop) at batch 64, 224x224,
#      on the device (builds src/Salient.Cli too; with --no-build its bin/Release/net10.0 is used).
# Everything is written to bench/work/gpu/: tests.log, bench.log, bench.json, device.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
device=cuda
sizes=1024,2048,4096,8192
seconds=2
model=
while [[ $# -gt 0 ]]; do
    case "$1" in
        --no-build) build=0 ;;
        --device) device="$2"; shift ;;
        --sizes) sizes="$2"; shift ;;
        --seconds) seconds="$2"; shift ;;
        --model) model="$2"; shift ;;
        *) echo "gpu-check.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done

out=bench/work/gpu
mkdir -p "$out"
tests_dll=tests/Salient.Engine.Cuda.Tests/bin/Release/net10.0/Salient.Engine.Cuda.Tests.dll
bench_dll=bench/GpuBench/bin/Release/net10.0/GpuBench.dll
cli_dll=src/Salient.Cli/bin/Release/net10.0/salient.dll
start=$SECONDS

{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 || echo "nvidia-smi not available"; } | tee "$out/device.txt"

if [[ $build == 1 ]]; then
    echo "== build ($(date -u +%T))"
    dotnet build tests/Salient.Engine.Cuda.Tests -c Release -v q -nologo
    dotnet build bench/GpuBench -c Release -v q -nologo
    if [[ -n $model ]]; then dotnet build src/Salient.Cli -c Release -v q -nologo; fi
fi
for dll in "$tests_dll" "$bench_dll"; do
    [[ -f $dll ]] || { echo "gpu-check.sh: $dll is missing: build first (drop --no-build)" >&2; exit 1; }
done

echo "== device check"
dotnet "$bench_dll" --device "$device" --sizes 256 --conv-batch 0 --seconds 0.2

echo "== kernel parity tests on $device ($(date -u +%T))"
# SALIENT_TEST_CUDA leaves out the CPU-accelerator cases and runs the device cases on $device;
# the device-independent tests (device names, PTX compilation) run too.
set +e
SALIENT_TEST_CUDA="$device" timeout 300 dotnet test "$tests_dll" --logger "console;verbosity=normal" 2>&1 | tee "$out/tests.log"
status=${PIPESTATUS[0]}
set -e
summary=$(grep -E "^(Passed|Failed)!" "$out/tests.log" | tail -1 || true)
echo "$summary"
if [[ $status != 0 ]] || ! grep -qE "Skipped: +0," <<<"$summary"; then
    echo "gpu-check.sh: the CUDA tests failed or were skipped (exit $status); see $out/tests.log" >&2
    exit 1
fi

echo "== benchmark ($(date -u +%T))"
dotnet "$bench_dll" --device "$device" --sizes "$sizes" --seconds "$seconds" --json "$out/bench.json" | tee "$out/bench.log"
if [[ -n $model ]]; then
    [[ -f $cli_dll ]] || { echo "gpu-check.sh: $cli_dll is missing: build first (drop --no-build)" >&2; exit 1; }
    echo "== model throughput on $device: $model, batch 64 ($(date -u +%T))"
    dotnet "$cli_dll" bench forward --model "$model" --device "$device" --batch 64 --size 224 --warmup 2 --iterations 5 --json | tee "$out/forward.jsonl"
    for method in gradcam guided-backprop; do
        dotnet "$cli_dll" bench explain --model "$model" --device "$device" --method "$method" --batch 64 --size 224 --warmup 1 --iterations 3 --json | tee -a "$out/explain.jsonl"
    done
fi

echo "== done in $((SECONDS - start)) s; results in $out/"
