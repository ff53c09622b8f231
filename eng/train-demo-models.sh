#!/usr/bin/env bash
# Trains the bundled demo models and writes the bundled sample scenes (committed under demo/).
#   demo/models/scenes-resnet.onnx      resnet-mini on 96x96 scenes, multi-label (sigmoid + BCE)
#   demo/models/scenes-resnet-csg.onnx  the same with a class-specific gate (CSG) on its last block
#   demo/scenes/                        48 held-out scenes (test-split items) with masks and a manifest
# Each model trains in about 15 minutes on 2 cores; CI never runs this. The training log of each
# model is kept beside it (.log); its ONNX metadata records options and per-epoch scores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash eng/install-deps.sh --fashion-mnist

source eng/private-cli.sh
mkdir -p demo/models

common=(--dataset scenes --arch resnet-mini --seed 0 --train-count 8000 --val-count 1000 --epochs 10 --batch 32 --lr 3e-3 --warmup 0.5)
salient train "${common[@]}" --out demo/models/scenes-resnet.onnx 2>&1 | tee demo/models/scenes-resnet.log
salient train "${common[@]}" --csg --out demo/models/scenes-resnet-csg.onnx 2>&1 | tee demo/models/scenes-resnet-csg.log
rm -f demo/models/*.ckpt

rm -rf demo/scenes
salient scenes --count 48 --seed 7 --split test --out demo/scenes
