using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Salient.Bench.TorchSharp;

/// <summary>
/// A torchvision classification network rebuilt in TorchSharp, split where Grad-CAM needs it:
/// <see cref="Features"/> ends at the last convolutional activation (ResNet's layer4, MobileNetV2's
/// last 1×1 convolution block), <see cref="Classify"/> is global pooling and the classifier.
/// Weights are random (torchvision's initialisation, seeded): speed does not depend on their values.
/// </summary>
internal abstract class VisionModel : Module<Tensor, Tensor>
{
    private static readonly Dictionary<string, Func<Rectifier, VisionModel>> s_models = new(StringComparer.Ordinal)
    {
        ["resnet18"] = r => new ResNet("resnet18", r, bottleneck: false, [2, 2, 2, 2]),
        ["resnet50"] = r => new ResNet("resnet50", r, bottleneck: true, [3, 4, 6, 3]),
        ["mobilenet_v2"] = r => new MobileNetV2(r),
    };

    protected VisionModel(string name, Rectifier rectifier) : base(name) => Rectifier = rectifier;

    /// <summary>The rectifiers of this network: plain, or guided backprop's.</summary>
    public Rectifier Rectifier { get; }

    public static IEnumerable<string> Names => s_models.Keys;

    /// <summary>The network named as torchvision names it, in eval mode, parameters frozen.</summary>
    public static VisionModel Create(string name)
    {
        if (!s_models.TryGetValue(name, out var make))
        {
            throw new ArgumentException($"unknown model '{name}' (known: {string.Join(", ", Names)})");
        }
        manual_seed(0);
        var model = make(new Rectifier());
        model.eval();
        foreach (var p in model.parameters())
        {
            p.requires_grad = false;
        }
        return model;
    }

    /// <summary>Input to the last convolutional activation (N, C, h, w).</summary>
    public abstract Tensor Features(Tensor x);

    /// <summary>Last convolutional activation to logits.</summary>
    public abstract Tensor Classify(Tensor features);

    public override Tensor forward(Tensor input) => Classify(Features(input));

    /// <summary>torchvision's initialisation of convolutions and batch norms.</summary>
    protected void InitialiseLikeTorchvision()
    {
        foreach (var m in modules())
        {
            switch (m)
            {
                case Conv2d conv:
                    init.kaiming_normal_(conv.weight, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU);
                    break;
                case BatchNorm2d bn:
                    init.ones_(bn.weight);
                    init.zeros_(bn.bias);
                    break;
            }
        }
    }

    /// <summary>A bias-free convolution with "same" padding, as torchvision's conv3x3 / conv1x1.</summary>
    internal static Conv2d Conv(long input, long output, long kernel, long stride = 1, long groups = 1) =>
        Conv2d(input, output, kernel, stride: stride, padding: (kernel - 1) / 2, groups: groups, bias: false);
}

/// <summary>
/// The ReLU and ReLU6 of a network. With <see cref="Guided"/> set their backward is guided
/// backprop's (the gradient passes where the input is inside the linear range and the gradient is
/// positive), as the PyTorch side's GuidedReLU override.
/// </summary>
internal sealed class Rectifier
{
    public bool Guided { get; set; }

    public Tensor Relu(Tensor x) => Guided ? GuidedRectifier.apply(x, double.PositiveInfinity) : x.relu_();

    public Tensor Relu6(Tensor x) => Guided ? GuidedRectifier.apply(x, 6.0) : x.clamp_(0, 6);
}

/// <summary>max(0, x) (or clamp(x, 0, upper)) whose backward keeps only positive gradients.</summary>
internal sealed class GuidedRectifier : autograd.SingleTensorFunction<GuidedRectifier>
{
    public override string Name => nameof(GuidedRectifier);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var upper = (double)vars[1];
        ctx.save_for_backward([x]);
        ctx.save_data("upper", upper);
        return double.IsPositiveInfinity(upper) ? x.clamp_min(0) : x.clamp(0, upper);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        var x = ctx.get_saved_variables()[0];
        var upper = (double)ctx.get_data("upper");
        var keep = x.gt(0).logical_and_(grad_output.gt(0));
        if (!double.IsPositiveInfinity(upper))
        {
            keep.logical_and_(x.lt(upper));
        }
        return [grad_output.mul(keep), null!];
    }
}

/// <summary>torchvision's ResNet (v1.5: the stride in the bottleneck's 3×3 convolution).</summary>
internal sealed class ResNet : VisionModel
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly MaxPool2d maxpool;
    private readonly Sequential layer1, layer2, layer3, layer4;
    private readonly Linear fc;

    public ResNet(string name, Rectifier rectifier, bool bottleneck, int[] blocks) : base(name, rectifier)
    {
        var expansion = bottleneck ? 4 : 1;
        long inputs = 64;
        Sequential Layer(long planes, int count, long stride)
        {
            var layer = Sequential();
            for (var i = 0; i < count; i++)
            {
                layer.append(new ResidualBlock(rectifier, inputs, planes, i == 0 ? stride : 1, bottleneck, expansion));
                inputs = planes * expansion;
            }
            return layer;
        }
        conv1 = Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = BatchNorm2d(64);
        maxpool = MaxPool2d(3, stride: 2, padding: 1);
        layer1 = Layer(64, blocks[0], 1);
        layer2 = Layer(128, blocks[1], 2);
        layer3 = Layer(256, blocks[2], 2);
        layer4 = Layer(512, blocks[3], 2);
        fc = Linear(512 * expansion, 1000);
        RegisterComponents();
        InitialiseLikeTorchvision();
    }

    public override Tensor Features(Tensor x)
    {
        x = maxpool.forward(Rectifier.Relu(bn1.forward(conv1.forward(x))));
        return layer4.forward(layer3.forward(layer2.forward(layer1.forward(x))));
    }

    public override Tensor Classify(Tensor features) =>
        fc.forward(functional.adaptive_avg_pool2d(features, 1).flatten(1));
}

/// <summary>ResNet's BasicBlock (two 3×3) or Bottleneck (1×1, 3×3, 1×1), with the projection shortcut.</summary>
internal sealed class ResidualBlock : Module<Tensor, Tensor>
{
    private readonly Rectifier rectifier;
    private readonly Sequential branch;
    private readonly Sequential? downsample;
    private readonly long stride;

    public ResidualBlock(Rectifier rectifier, long inputs, long planes, long stride, bool bottleneck, int expansion)
        : base(bottleneck ? "Bottleneck" : "BasicBlock")
    {
        this.rectifier = rectifier;
        this.stride = stride;
        var outputs = planes * expansion;
        branch = bottleneck
            ? Sequential(
                VisionModel.Conv(inputs, planes, 1), BatchNorm2d(planes), new Rectify(rectifier),
                VisionModel.Conv(planes, planes, 3, stride), BatchNorm2d(planes), new Rectify(rectifier),
                VisionModel.Conv(planes, outputs, 1), BatchNorm2d(outputs))
            : Sequential(
                VisionModel.Conv(inputs, planes, 3, stride), BatchNorm2d(planes), new Rectify(rectifier),
                VisionModel.Conv(planes, planes, 3), BatchNorm2d(planes));
        if (stride != 1 || inputs != outputs)
        {
            downsample = Sequential(VisionModel.Conv(inputs, outputs, 1, stride), BatchNorm2d(outputs));
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var identity = downsample is null ? input : Downsample(downsample, input);
        return rectifier.Relu(branch.forward(input).add_(identity));
    }

    /// <summary>
    /// The projection shortcut. When the gradient must reach the input (guided backprop), libtorch
    /// 2.10's oneDNN dies with SIGFPE on this machine while planning the input gradient of a strided
    /// 1×1 convolution (an integer division by zero in brgemm_convolution_bwd_strided's blocking
    /// heuristic, est_eff_1x1); PyTorch 1.13's older oneDNN does not. A 1×1 convolution with stride s
    /// is exactly the same convolution with stride 1 on every s-th row and column, so in that case
    /// the harness subsamples first: the same values and gradients (up to float rounding), a plan
    /// oneDNN can make.
    /// </summary>
    private Tensor Downsample(Sequential shortcut, Tensor input)
    {
        if (stride == 1 || !input.requires_grad)
        {
            return shortcut.forward(input);
        }
        var conv = (Conv2d)shortcut[0];
        var every = TensorIndex.Slice(null, null, stride);
        var subsampled = input[TensorIndex.Ellipsis, every, every];
        var projected = functional.conv2d(subsampled, conv.weight!, null, strides: [1]);
        return ((BatchNorm2d)shortcut[1]).forward(projected);
    }
}

/// <summary>A network's ReLU (or ReLU6) as a module, so it sits inside a Sequential.</summary>
internal sealed class Rectify(Rectifier rectifier, bool six = false) : Module<Tensor, Tensor>(six ? "ReLU6" : "ReLU")
{
    public override Tensor forward(Tensor input)
    {
        var output = six ? rectifier.Relu6(input) : rectifier.Relu(input);
        // Sequential disposes each module's input once the next module has run; the in-place
        // rectifier returns its input object, so hand back a second handle to the same storage.
        return ReferenceEquals(output, input) ? output.alias() : output;
    }
}

/// <summary>torchvision's MobileNetV2 (width 1.0): inverted residuals with ReLU6, linear bottlenecks.</summary>
internal sealed class MobileNetV2 : VisionModel
{
    // (expansion t, output channels c, repeats n, first stride s), torchvision's table.
    private static readonly (int T, int C, int N, int S)[] s_settings =
        [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    private readonly Sequential features;
    private readonly Sequential classifier;

    public MobileNetV2(Rectifier rectifier) : base("mobilenet_v2", rectifier)
    {
        features = Sequential(ConvBlock(rectifier, 3, 32, 3, 2));
        long inputs = 32;
        foreach (var (t, c, n, s) in s_settings)
        {
            for (var i = 0; i < n; i++)
            {
                features.append(new InvertedResidual(rectifier, inputs, c, i == 0 ? s : 1, t));
                inputs = c;
            }
        }
        features.append(ConvBlock(rectifier, inputs, 1280, 1, 1));
        classifier = Sequential(Dropout(0.2), Linear(1280, 1000));
        RegisterComponents();
        InitialiseLikeTorchvision();
        foreach (var m in modules().OfType<Linear>())
        {
            init.normal_(m.weight, 0, 0.01);
            init.zeros_(m.bias);
        }
    }

    /// <summary>Convolution, batch norm, ReLU6 (torchvision's Conv2dNormActivation).</summary>
    internal static Sequential ConvBlock(Rectifier rectifier, long inputs, long outputs, long kernel, long stride, long groups = 1) =>
        Sequential(Conv(inputs, outputs, kernel, stride, groups), BatchNorm2d(outputs), new Rectify(rectifier, six: true));

    public override Tensor Features(Tensor x) => features.forward(x);

    public override Tensor Classify(Tensor features) =>
        classifier.forward(functional.adaptive_avg_pool2d(features, 1).flatten(1));
}

/// <summary>MobileNetV2's block: 1×1 expansion (unless t = 1), 3×3 depthwise, linear 1×1 projection.</summary>
internal sealed class InvertedResidual : Module<Tensor, Tensor>
{
    private readonly Sequential conv;
    private readonly bool residual;

    public InvertedResidual(Rectifier rectifier, long inputs, long outputs, long stride, int expansion) : base("InvertedResidual")
    {
        var hidden = inputs * expansion;
        residual = stride == 1 && inputs == outputs;
        conv = Sequential();
        if (expansion != 1)
        {
            conv.append(MobileNetV2.ConvBlock(rectifier, inputs, hidden, 1, 1));
        }
        conv.append(MobileNetV2.ConvBlock(rectifier, hidden, hidden, 3, stride, groups: hidden));
        conv.append(VisionModel.Conv(hidden, outputs, 1));
        conv.append(BatchNorm2d(outputs));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => residual ? input + conv.forward(input) : conv.forward(input);
}
