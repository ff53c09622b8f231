#!/usr/bin/env bash
# The main job on bundled data: classify the demo images with the bundled model, then explain the
# top class of each with Grad-CAM (maps, heatmaps, overlays). Writes out/demo/predictions.jsonl and
# out/demo/explain/manifest.jsonl. Installs the native libraries first when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash eng/install-deps.sh
dotnet build src/Salient.Cli -c Release --nologo -v quiet -clp:ErrorsOnly
salient() { dotnet src/Salient.Cli/bin/Release/net10.0/salient.dll "$@"; }
model=tests/fixtures/models/resnet_basic.onnx
salient predict --model "$model" --out out/demo tests/fixtures/images
salient explain --model "$model" --method gradcam --format npy,png,overlay,mask,boxes \
  --out out/demo/explain tests/fixtures/images "$@"
head -n 2 out/demo/explain/manifest.jsonl
