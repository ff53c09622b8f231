# Sourced by eng/demo.sh, eng/train-demo-models.sh and eng/results-study.sh: restores the NuGet package
# that holds the demo models' pretrained backbone (eng/backbone/Backbone.csproj) and sets
#   backbone         the package's ImageNet ResNet-18 (ONNX, CNTK export, trained on BGR images)
#   backbone_at      the value where the trained heads take over (layer3's output, 256 channels at 1/16)
#   backbone_layer1  layer1's and layer2's outputs (64 channels at 1/4, 128 at 1/8), for shallow-layer CAMs
#   backbone_layer2
# and defines `compose_demo_model NAME` (after the caller has defined `salient`): joins the committed
# demo/models/NAME.head.onnx to the backbone into demo/models/NAME.onnx, once (again when the head is newer).
dotnet restore eng/backbone/Backbone.csproj --nologo -v quiet >/dev/null
backbone="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx"
backbone_at=ReLU347_Output_0
backbone_layer1=ReLU283_Output_0
backbone_layer2=ReLU315_Output_0
[ -f "$backbone" ] || { echo "backbone: $backbone is missing after the restore" >&2; exit 1; }

compose_demo_model() {
  local model=demo/models/$1.onnx head=demo/models/$1.head.onnx
  if [ ! -f "$model" ] || [ "$model" -ot "$head" ]; then
    echo "joining the trained head $head to the pretrained ResNet-18: $model (once) ..."
    salient onnx join --backbone "$backbone" --at "$backbone_at" --bgr --head "$head" --out "$model"
  fi
}
