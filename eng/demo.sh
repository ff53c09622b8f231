#!/usr/bin/env bash
# The main job on bundled data: explain the 48 bundled sample scenes (demo/scenes) with the bundled
# scenes model (demo/models/scenes-resnet18: a head trained by eng/train-demo-models.sh on an ImageNet
# ResNet-18): the predicted classes of each scene (out/demo/predictions.jsonl), their Grad-CAM maps,
# heatmaps and overlays (out/demo/explain), then a metrics summary of Grad-CAM, Grad-CAM++ and
# LayerCAM against the scenes' object masks (out/demo/eval: metrics.json, report.md/html, plots; the
# report lists example scenes with their true and predicted classes).
# Installs the native libraries first when they are missing. The first run also restores the backbone's
# NuGet package (63 MB) and joins the committed head to it into demo/models/scenes-resnet18.onnx.
set -euo pipefail
cd "$(dirname "$0")/.."

bash eng/install-deps.sh
dotnet build src/Salient.Cli -c Release --nologo -v quiet -clp:ErrorsOnly
salient() { dotnet src/Salient.Cli/bin/Release/net10.0/salient.dll "$@"; }
model=demo/models/scenes-resnet18.onnx
echo "demo: the pretrained ResNet-18 from NuGet (Microsoft.ML.DnnImageFeaturizer.ResNet18, 63 MB, downloaded on the first run) ..."
source eng/backbone.sh
compose_demo_model scenes-resnet18
salient predict --model "$model" --out out/demo demo/scenes/images
salient explain --model "$model" --method gradcam --target topk:2 --format npy,png,overlay,mask,boxes \
  --out out/demo/explain demo/scenes/images "$@"
salient eval --model "$model" --methods gradcam,gradcam++,layercam --dataset demo/scenes/manifest.jsonl \
  --metrics deletion,insertion,pointing,energy,selectivity,miou --steps 8 --examples 8 --out out/demo/eval
echo "overlays: out/demo/explain  metrics: out/demo/eval/report.md"
sed -n '1,60p' out/demo/eval/report.md
