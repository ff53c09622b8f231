#!/usr/bin/env bash
# Trains the bundled demo model and writes the bundled sample scenes (committed under demo/).
#   demo/models/scenes-resnet18.head.onnx  the trained part: one residual block and a GAP→Linear head
#                                          (10 classes, multi-label: sigmoid + BCE) on layer2 of an
#                                          ImageNet ResNet-18 (NuGet: Microsoft.ML.DnnImageFeaturizer.ResNet18)
#   demo/models/scenes-resnet18.json       the full model's card (160×160 input, the backbone's normalization)
#   demo/models/scenes-resnet18.log        the command and its training log
#   demo/scenes/                           48 held-out 160×160 scenes (test-split items) with masks and a manifest
# The backbone stays fixed: its layer2 features of every scene are computed once and cached, and only the
# head trains (about 35 minutes on this 2-core machine under its usual load: 13 for the features, 20 for
# six epochs). `salient train --backbone` writes the full model
# (demo/models/scenes-resnet18.onnx, not committed: eng/demo.sh joins the head to the package's backbone
# again, with the same logits); `salient onnx head` cuts the trained part off it. CI never runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash eng/install-deps.sh --fashion-mnist

source eng/private-cli.sh
source eng/backbone.sh
mkdir -p demo/models

# The package's ResNet-18 takes BGR pixels in 0–255 minus a mean image: --bgr reverses its stem's input
# channels, and --mean/--std (the mean image's per-channel means in RGB order over 255, and 1/255) give
# x·255 − mean from Salient's [0, 1] RGB pixels.
args=(--dataset scenes --size 160 --backbone "$backbone" --at "$backbone_at" --bgr
  --mean 0.482947,0.454521,0.404167 --std 0.003921569,0.003921569,0.003921569
  --arch block-head --seed 0 --train-count 6000 --val-count 1000 --epochs 6 --batch 64 --lr 2e-3 --warmup 0.3)
model=demo/models/scenes-resnet18
{
  echo "salient train ${args[*]/#$backbone/ResNet18.onnx} --out $model.onnx"
  salient train "${args[@]}" --out "$model.onnx" 2>&1
} | tee "$model.log"
salient onnx head --model "$model.onnx" --at "$backbone_at" --out "$model.head.onnx"
rm -f demo/models/*.ckpt

rm -rf demo/scenes
salient scenes --count 48 --seed 7 --split test --size 160 --out demo/scenes
