#!/usr/bin/env bash
# The main job on bundled data: explain the 48 bundled sample scenes (demo/scenes) with the bundled
# scenes model (demo/models/scenes-resnet.onnx): the predicted classes of each scene, their Grad-CAM
# maps, heatmaps and overlays (out/demo/explain), then a metrics summary of Grad-CAM, Grad-CAM++ and
# LayerCAM against the scenes' object masks (out/demo/eval: metrics.json, report.md/html, plots).
# Installs the native libraries first when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash eng/install-deps.sh
dotnet build src/Salient.Cli -c Release --nologo -v quiet -clp:ErrorsOnly
salient() { dotnet src/Salient.Cli/bin/Release/net10.0/salient.dll "$@"; }
model=demo/models/scenes-resnet.onnx
salient predict --model "$model" --out out/demo demo/scenes/images
salient explain --model "$model" --method gradcam --target topk:2 --format npy,png,overlay,mask,boxes \
  --out out/demo/explain demo/scenes/images "$@"
salient eval --model "$model" --methods gradcam,gradcam++,layercam --dataset demo/scenes/manifest.jsonl \
  --metrics deletion,insertion,pointing,energy,selectivity,miou --out out/demo/eval
echo "overlays: out/demo/explain  metrics: out/demo/eval/report.md"
sed -n '1,40p' out/demo/eval/report.md
