using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;
using Salient.Engine.IO;
using Salient.Engine.Kernels;
using Salient.Engine.Kernels.Cpu;
using Salient.Tests.Devices;

namespace Salient.Engine.Tests.Graph;

/// <summary>
/// The forward-mode pass (<see cref="Model.Tangent"/>) agrees with central finite differences of the
/// logits, (f(A + εV) − f(A − εV)) / 2ε, from the input and from an inner value, on models with
/// piecewise-linear and with smooth operators; a step without a rule is refused by name.
/// </summary>
public sealed class TangentTests
{
    // Piecewise linear (convolutions, batch norm, ReLU, Clip, max and average pools, residual sums,
    // Concat, Pad) and smooth (ops_mix: Sigmoid gate times its input, HardSwish, a Softmax head;
    // the operator fixtures: Erf-GELU, MatMul of two moving operands, Einsum, Where, Gather, Split,
    // Tile, reductions with ReduceMax, Resize, Pow, Sqrt, Exp, Log, Tanh, layer and instance norms, decomposed
    // and whole, a vision transformer's attention, LogSoftmax).
    // The tolerance is relative to the largest tangent (at least 1). Deep ReLU networks moved at the
    // input cross kinks within ±ε on both sides (their one-sided differences disagree by ~1e-2), which
    // breaks the difference, not J·V: for them the backward test's 2e-2; the adjoint test below is exact.
    public static TheoryData<string, string, double> Models => new()
    {
        { "models", "resnet_bottleneck", 2e-2 },
        { "models", "vgg_bn", 2e-2 },
        { "models", "mobilenetv2", 2e-2 },
        { "models", "densenet", 2e-2 },
        { "models", "ops_mix", 5e-3 },
        { "operators", "gelu_op13", 5e-3 },
        { "operators", "dataops_op13", 5e-3 },
        { "operators", "reduce_op13", 5e-3 },
        { "operators", "unary_op13", 5e-3 },
        { "operators", "where_op13", 5e-3 },
        { "operators", "poolresize_op13", 5e-3 },
        { "operators", "convnext_op13", 5e-3 },
        { "operators", "convnext_op17", 5e-3 },
        { "operators", "norms_op13", 5e-3 },
        { "operators", "norms_op17", 5e-3 },
        { "operators", "vit_op17", 5e-3 },
        { "operators", "attention_op13", 5e-3 },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void The_tangent_of_the_logits_from_the_input_matches_a_central_difference(string folder, string name, double tolerance)
    {
        var model = Model.Load(Fixtures.Path(folder, name + ".onnx"));
        using var batch = Npy.Read(Fixtures.Path(folder, name + ".input.npy"));
        AssertMatchesDifference(model, batch, model.InputName, tolerance);
    }

    [Theory]
    [InlineData("resnet_bottleneck", "GlobalAveragePool")]
    [InlineData("ops_mix", "Sigmoid")]
    public void The_tangent_from_an_inner_value_matches_a_central_difference(string name, string opAfter)
    {
        var model = Model.Load(Fixtures.Path("models", name + ".onnx"));
        using var batch = Npy.Read(Fixtures.Path("models", name + ".input.npy"));
        // The value read by that operator: for ops_mix the gate convolution's input, so HardSwish's
        // output moves both factors of x·sigmoid(gate(x)).
        var node = model.Graph.Nodes.First(n => n.OpType == opAfter);
        var layer = opAfter == "Sigmoid" ? model.Graph.Nodes.First(n => n.Outputs[0] == node.Inputs[0]).Inputs[0] : node.Inputs[0];
        AssertMatchesDifference(model, batch, layer, 5e-3);
    }

    [Theory]
    [InlineData("resnet_bottleneck")]
    [InlineData("mobilenetv2")]
    [InlineData("ops_mix")]
    public void The_tangent_is_the_adjoint_of_the_backward_pass(string name)
    {
        // uᵀ(J·V) = (Jᵀu)ᵀV exactly (up to rounding), kinks or not: forward and reverse mode take the same branches.
        var model = Model.Load(Fixtures.Path("models", name + ".onnx"));
        using var batch = Npy.Read(Fixtures.Path("models", name + ".input.npy"));
        using var record = model.RecordForward(batch, [model.InputName], [], fuseInRegion: true);
        using var direction = Direction(batch.Shape, 11);
        using var tangent = model.Tangent(record, model.InputName, direction)[model.OutputNames[0]];
        using var seed = Direction(tangent.Shape, 13);
        var forward = Dot(seed, tangent);
        using var gradient = model.Backward(record, seed.Clone(), [model.InputName])[model.InputName];
        var reverse = Dot(gradient, direction);
        Assert.True(Math.Abs(forward - reverse) <= 1e-4 * Math.Max(1, Math.Abs(reverse)), $"uᵀ(J·V) {forward}, (Jᵀu)ᵀV {reverse}");
    }

    private static double Dot(Tensor x, Tensor y)
    {
        var sum = 0.0;
        for (var i = 0; i < x.Length; i++)
        {
            sum += (double)x.Span[i] * y.Span[i];
        }

        return sum;
    }

    [Fact]
    public void A_step_without_a_rule_is_refused_by_name()
    {
        // An operator registered from outside the engine with a backward pass and no forward-mode rule.
        var model = TinyModels.Load("no-tangent", [1, 4], [TinyModels.Node(NoTangentOp, ["x"], "y")], [], "y");
        using var batch = Tensor.FromSpan([-1f, 0.5f, 2f, 0.1f], 1, 4);
        using var record = model.RecordForward(batch, [model.InputName], []);
        var error = Assert.Throws<ModelException>(() => model.Tangent(record, model.InputName, batch));
        Assert.Contains($"{NoTangentOp} node 'y'", error.Message, StringComparison.Ordinal);
        Assert.Contains("no forward-mode", error.Message, StringComparison.Ordinal);
    }

    private const string NoTangentOp = "SalientTestNoTangent";

    static TangentTests() => TinyModels.RegisterShapePreserving(NoTangentOp, (node, shape) => new CopyStep(node, shape));

    /// <summary>y = x, with a backward pass only.</summary>
    private sealed class CopyStep(GraphNode node, int[] shape) : Step(node, [node.Inputs[0]], [node.Outputs[0]])
    {
        public override void Run(StepContext context) => context.Input(0).Span.CopyTo(context.Output(0, shape).Span);

        public override void Backward(BackwardContext context)
        {
            if (context.NeedsGradient(0) && context.OutputGradient(0) is { } gradient)
            {
                context.AddGradient(0, gradient.Clone());
            }
        }
    }

    [Fact]
    public void A_tangent_of_the_wrong_shape_or_of_a_value_outside_the_record_is_refused()
    {
        var model = Model.Load(Fixtures.Path("models", "resnet_basic.onnx"));
        using var batch = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var layer = model.Graph.Nodes.First(n => n.OpType == "GlobalAveragePool").Inputs[0];
        using var record = model.RecordForward(batch, [layer], []);
        using var wrong = Tensor.Zeros(1, 2, 3);
        Assert.Contains("must be [", Assert.Throws<ArgumentException>(() => model.Tangent(record, layer, wrong)).Message, StringComparison.Ordinal);
        Assert.Contains("not a gradient source", Assert.Throws<ArgumentException>(() => model.Tangent(record, model.InputName, batch)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("models", "resnet_bottleneck")]
    [InlineData("models", "ops_mix")]
    [InlineData("operators", "dataops_op13")]
    public void The_tangent_on_another_device_is_the_hosts(string folder, string name)
    {
        var path = Fixtures.Path(folder, name + ".onnx");
        using var batch = Npy.Read(Fixtures.Path(folder, name + ".input.npy"));
        using var direction = Direction(batch.Shape, 5);
        using var expected = LogitsTangent(Model.Load(path, new CpuBackend(GemmProvider.Managed)), batch, direction);
        using var tangent = LogitsTangent(Model.Load(path, SimulatedDeviceBackend.Device0), batch, direction);
        Assert.Equal(SimulatedDeviceBackend.Device0, tangent.Device);
        using var onHost = tangent.ToHost();
        Assert.Equal(expected.Span.ToArray(), onHost.Span.ToArray());
    }

    private static Tensor LogitsTangent(Model model, Tensor batch, Tensor direction)
    {
        using var record = model.RecordForward(batch, [model.InputName], [], fuseInRegion: true);
        return model.Tangent(record, model.InputName, direction)[model.OutputNames[0]];
    }

    /// <summary>J·V from <paramref name="layer"/> along a random V against the central difference of the logits (ε = 1e-3), both in float32.</summary>
    private static void AssertMatchesDifference(Model model, Tensor batch, string layer, double tolerance)
    {
        using var record = model.RecordForward(batch, [layer], [layer]);
        using var direction = Direction(record.Value(layer).Shape, 11);
        using var tangent = model.Tangent(record, layer, direction)[model.OutputNames[0]];

        // float32 logits differenced over 2ε carry about 1e-4 of rounding per unit of logit.
        const float step = 1e-3f;
        using var plus = Moved(model, batch, layer, direction, step);
        using var minus = Moved(model, batch, layer, direction, -step);
        var scale = 1.0;
        var worst = 0.0;
        for (var i = 0; i < tangent.Length; i++)
        {
            var numeric = (plus.Span[i] - (double)minus.Span[i]) / (2 * step);
            scale = Math.Max(scale, Math.Abs(numeric));
            worst = Math.Max(worst, Math.Abs(tangent.Span[i] - numeric));
        }

        Assert.True(worst <= tolerance * scale, $"{model.Name} from '{layer}': max |J·V − difference| {worst:g3} against a scale of {scale:g3}");
    }

    /// <summary>The logits with <paramref name="layer"/> moved by <paramref name="step"/>·<paramref name="direction"/> as it is computed.</summary>
    private static Tensor Moved(Model model, Tensor batch, string layer, Tensor direction, float step)
    {
        void Move(Tensor value)
        {
            for (var i = 0; i < value.Length; i++)
            {
                value.Span[i] += step * direction.Span[i];
            }
        }

        if (layer == model.InputName)
        {
            using var moved = batch.Clone();
            Move(moved);
            return model.Forward(moved);
        }

        return model.Forward(batch, [layer], (name, value) =>
        {
            if (name == layer)
            {
                Move(value);
            }
        });
    }

    private static Tensor Direction(ReadOnlySpan<int> shape, int seed)
    {
        var random = new Random(seed);
        var direction = Tensor.Zeros(shape);
        for (var i = 0; i < direction.Length; i++)
        {
            direction.Span[i] = random.NextSingle() - 0.5f;
        }

        return direction;
    }
}
