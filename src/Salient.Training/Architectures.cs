using Salient.Engine.Onnx.Protos;

namespace Salient.Training;

/// <summary>The network designs <c>salient train --arch</c> builds, each ending in a GAP→Linear head.</summary>
public static class Architectures
{
    /// <summary>The names, with what each is for.</summary>
    public static IReadOnlyDictionary<string, string> Descriptions { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["small-cnn"] = "three 3x3 conv-BN-ReLU layers (32, 64, 64 filters) with two max-pools; the CSG spec's Fashion-MNIST net",
        ["scenes-cnn"] = "five conv-BN-ReLU layers (24..128 filters, stride-2 stem), last conv at 1/8 of the input",
        ["resnet-mini"] = "a stride-2 stem and three residual basic blocks (24, 48, 96 filters), last block at 1/8 of the input",
        ["block-head"] = "one residual basic block at its input's width: a last stage trained on a frozen backbone's features (--backbone)",
        ["conv-head"] = "a 1x1 conv-BN-ReLU to 128 filters, then two 3x3 conv-BN-ReLU layers (128 filters) at its input's resolution: a head about 3.5x cheaper than block-head on a 256-channel backbone (--backbone)",
        ["pointwise-head"] = "two 1x1 conv-BN-ReLU layers (256 filters): a classifier of each location of a backbone's features (whose receptive fields already span the objects), about 2.5x cheaper than conv-head on a 256-channel backbone (--backbone)",
    };

    /// <summary>Builds <paramref name="name"/> for [N, channels, height, width] inputs and <paramref name="classes"/> outputs.</summary>
    public static ModelProto Create(string name, int channels, int height, int width, int classes, int seed)
    {
        ArgumentNullException.ThrowIfNull(name);
        var b = new OnnxGraphBuilder(name, channels, height, width, seed);
        string last;
        switch (name)
        {
            case "small-cnn":
                last = b.MaxPool("pool1", b.Relu("layer1", b.ConvBn("layer1", b.Input, 32, 3, 1)), 2, 2);
                last = b.MaxPool("pool2", b.Relu("layer2", b.ConvBn("layer2", last, 64, 3, 1)), 2, 2);
                last = b.Relu("layer3", b.ConvBn("layer3", last, 64, 3, 1));
                break;
            case "scenes-cnn":
                last = b.Relu("layer1", b.ConvBn("layer1", b.Input, 24, 3, 2));
                last = b.MaxPool("pool2", b.Relu("layer2", b.ConvBn("layer2", last, 32, 3, 1)), 2, 2);
                last = b.MaxPool("pool3", b.Relu("layer3", b.ConvBn("layer3", last, 64, 3, 1)), 2, 2);
                last = b.Relu("layer4", b.ConvBn("layer4", last, 96, 3, 1));
                last = b.Relu("layer5", b.ConvBn("layer5", last, 128, 3, 1));
                break;
            case "resnet-mini":
                last = b.Relu("stem", b.ConvBn("stem", b.Input, 24, 3, 2));
                last = BasicBlock(b, "layer1", last, 24, 1);
                last = BasicBlock(b, "layer2", last, 48, 2);
                last = BasicBlock(b, "layer3", last, 96, 2);
                break;
            case "block-head":
                last = BasicBlock(b, "head", b.Input, channels, 1);
                break;
            case "conv-head":
                last = b.Relu("head.1", b.ConvBn("head.1", b.Input, 128, 1, 1));
                last = b.Relu("head.2", b.ConvBn("head.2", last, 128, 3, 1));
                last = b.Relu("head", b.ConvBn("head.3", last, 128, 3, 1));
                break;
            case "pointwise-head":
                last = b.Relu("head.1", b.ConvBn("head.1", b.Input, 256, 1, 1));
                last = b.Relu("head", b.ConvBn("head.2", last, 256, 1, 1));
                break;
            default:
                throw new ArgumentException($"Unknown architecture '{name}' (known: {string.Join(", ", Descriptions.Keys)}).", nameof(name));
        }

        b.Classifier(last, classes);
        return b.Build();
    }

    // torchvision's BasicBlock: two 3x3 conv-BN, a 1x1 conv-BN shortcut when the shape changes, ReLU after the sum.
    private static string BasicBlock(OnnxGraphBuilder b, string name, string input, int channels, int stride)
    {
        var body = b.Relu($"{name}.relu1", b.ConvBn($"{name}.1", input, channels, 3, stride));
        body = b.ConvBn($"{name}.2", body, channels, 3, 1);
        var shortcut = stride != 1 || b.Channels(input) != channels ? b.ConvBn($"{name}.shortcut", input, channels, 1, stride) : input;
        return b.Relu(name, b.Add($"{name}.add", body, shortcut));
    }
}
