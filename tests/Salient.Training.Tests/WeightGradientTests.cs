using Salient.Engine;
using Salient.Engine.Training;

namespace Salient.Training.Tests;

/// <summary>Every parameter gradient of each built architecture agrees with central differences of the training loss.</summary>
public sealed class WeightGradientTests
{
    [Theory]
    [InlineData("small-cnn", 1)]
    [InlineData("scenes-cnn", 3)]
    [InlineData("resnet-mini", 3)]
    [InlineData("pointwise-head", 8)]
    public void Parameter_gradients_of_built_architectures_match_central_differences(string architecture, int channels) =>
        Check(TrainableModel.FromProto(Architectures.Create(architecture, channels, 16, 16, 4, seed: 1), architecture), [3, channels, 16, 16], [0, 2, 3]);

    /// <summary>Imported graphs: grouped and depthwise convs with biases (MobileNetV2), MatMul + Add bias and fixed constants (ops_mix).</summary>
    [Theory]
    [InlineData("mobilenetv2", 32)]
    [InlineData("ops_mix", 32)]
    [InlineData("resnet_basic", 32)]
    public void Parameter_gradients_of_imported_models_match_central_differences(string name, int side) =>
        Check(TrainableModel.Load(Fixtures.Path("models", name + ".onnx")), [3, 3, side, side], [0, 2, 7], step: 5e-4f);

    [Fact]
    public void Only_weights_biases_and_batch_norm_affine_terms_are_trained()
    {
        using var model = TrainableModel.Load(Fixtures.Path("models", "ops_mix.onnx"));
        var names = model.Parameters.Select(p => p.Name).ToList();
        var graph = model.Graph;
        var matmul = graph.Nodes.Single(n => n.OpType == "MatMul");
        var bias = graph.Nodes.Single(n => n.OpType == "Add" && n.Inputs.Contains(matmul.Outputs[0]));
        Assert.Contains(matmul.Inputs[1], names);
        Assert.Contains(bias.Inputs.Single(i => i != matmul.Outputs[0]), names);
        Assert.DoesNotContain(graph.Nodes.Where(n => n.OpType is "Mul" or "Sub" or "Div").SelectMany(n => n.Inputs), names.Contains);
        Assert.DoesNotContain(names, n => n.Contains("running", StringComparison.Ordinal));
    }

    private static void Check(TrainableModel trained, int[] shape, int[] labels, float step = 2e-3f)
    {
        using var model = trained;
        var architecture = model.Name;
        var random = new Random(3);
        using var input = Tensor.Uninitialized(shape);
        foreach (ref var v in input.Span)
        {
            v = random.NextSingle() - 0.5f;
        }

        var gradients = Gradients(model, input, labels);
        foreach (var parameter in model.Parameters)
        {
            // Along a random unit direction: the whole tensor is checked at the price of two forwards, and
            // the small step per entry keeps ReLU kinks and max-pool switches out of the difference.
            var direction = new float[parameter.Value.Length];
            for (var i = 0; i < direction.Length; i++)
            {
                direction[i] = random.NextSingle() - 0.5f;
            }

            var norm = MathF.Sqrt(direction.Sum(d => d * d));
            for (var i = 0; i < direction.Length; i++)
            {
                direction[i] /= norm;
            }

            var analytic = 0.0;
            for (var i = 0; i < direction.Length; i++)
            {
                analytic += gradients[parameter.Name].Span[i] * direction[i];
            }

            var plus = Loss(model, input, labels, parameter, direction, step);
            var minus = Loss(model, input, labels, parameter, direction, -step);
            var numeric = (plus - minus) / (2 * step);
            Assert.True(Math.Abs(analytic - numeric) <= (2e-2 * Math.Abs(numeric)) + 1e-3, $"{architecture} {parameter.Name}: analytic {analytic}, numeric {numeric}");
        }

        foreach (var g in gradients.Values)
        {
            g.Dispose();
        }
    }

    private static Dictionary<string, Tensor> Gradients(TrainableModel model, Tensor input, int[] labels)
    {
        using var record = model.Forward(input);
        var logits = model.Logits(record);
        var seed = Tensor.Uninitialized(logits.Shape);
        Losses.SoftmaxCrossEntropy(logits.Span, logits.Dim(1), labels, seed.Span);
        return model.Backward(record, seed);
    }

    private static double Loss(TrainableModel model, Tensor input, int[] labels, Parameter parameter, float[] direction, float step)
    {
        var values = parameter.Value.Span;
        var saved = values.ToArray();
        for (var i = 0; i < values.Length; i++)
        {
            values[i] += step * direction[i];
        }

        using var record = model.Forward(input);
        var logits = model.Logits(record);
        using var scratch = Tensor.Uninitialized(logits.Shape);
        var loss = Losses.SoftmaxCrossEntropy(logits.Span, logits.Dim(1), labels, scratch.Span);
        saved.CopyTo(values);
        return loss;
    }
}
