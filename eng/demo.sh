#!/usr/bin/env bash
# The main job on bundled data: classify the demo images with the bundled model and write
# out/demo/predictions.jsonl. Installs the native libraries first when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash eng/install-deps.sh
dotnet build src/Salient.Cli -c Release --nologo -v quiet -clp:ErrorsOnly
dotnet src/Salient.Cli/bin/Release/net10.0/salient.dll predict \
  --model tests/fixtures/models/resnet_basic.onnx \
  --out out/demo \
  tests/fixtures/images "$@"
head -n 3 out/demo/predictions.jsonl
