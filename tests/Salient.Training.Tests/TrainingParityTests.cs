using Salient.Engine;
using Salient.Engine.IO;
using Salient.Engine.Training;

namespace Salient.Training.Tests;

/// <summary>One training step on a small CNN agrees with PyTorch 1.13 (tests/fixtures/training/make_training.py).</summary>
public sealed class TrainingParityTests
{
    private static string FixturePath(string name) => Fixtures.Path("training", name);

    [Fact]
    public void Loss_parameter_gradients_and_running_statistics_match_pytorch()
    {
        using var model = TrainableModel.Load(FixturePath("net.onnx"));
        var gradients = Step(model, out var loss);

        Assert.Equal(Npy.Read(FixturePath("loss.npy")).Span[0], loss, 5);
        Assert.Equal(12, model.Parameters.Count);
        foreach (var parameter in model.Parameters)
        {
            using var expected = Npy.Read(FixturePath($"grad.{parameter.Name}.npy"));
            AssertClose(expected.Span, gradients[parameter.Name].Span, 1e-4, parameter.Name);
        }

        foreach (var name in model.State.Keys.Where(k => k.Contains("running", StringComparison.Ordinal)))
        {
            using var expected = Npy.Read(FixturePath($"running.{name}.npy"));
            AssertClose(expected.Span, model.State[name].Span, 1e-5, name);
        }

        Dispose(gradients);
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("sgd")]
    public void One_optimizer_step_matches_pytorch(string kind)
    {
        using var model = TrainableModel.Load(FixturePath("net.onnx"));
        var gradients = Step(model, out _);
        Optimizer optimizer = kind == "adam" ? new AdamOptimizer(weightDecay: 1e-3f) : new SgdOptimizer(0.9f, nesterov: true, weightDecay: 1e-3f);
        optimizer.BeginStep();
        foreach (var parameter in model.Parameters)
        {
            optimizer.Update(parameter.Name, parameter.Value.Span, gradients[parameter.Name].Span, kind == "adam" ? 0.01f : 0.1f);
        }

        foreach (var parameter in model.Parameters)
        {
            using var expected = Npy.Read(FixturePath($"{kind}.{parameter.Name}.npy"));
            AssertClose(expected.Span, parameter.Value.Span, 1e-4, parameter.Name);
        }

        Dispose(gradients);
    }

    private static Dictionary<string, Tensor> Step(TrainableModel model, out float loss)
    {
        using var input = Npy.Read(FixturePath("input.npy"));
        using var labelTensor = Npy.Read(FixturePath("labels.npy"));
        var labels = labelTensor.Span.ToArray().Select(l => (int)l).ToArray();
        using var record = model.Forward(input);
        var logits = model.Logits(record);
        var seed = Tensor.Uninitialized(logits.Shape);
        loss = Losses.SoftmaxCrossEntropy(logits.Span, logits.Dim(1), labels, seed.Span);
        return model.Backward(record, seed);
    }

    internal static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var scale = 0.0;
        foreach (var e in expected)
        {
            scale = Math.Max(scale, Math.Abs(e));
        }

        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1e-3, scale), $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
        }
    }

    private static void Dispose(Dictionary<string, Tensor> tensors)
    {
        foreach (var tensor in tensors.Values)
        {
            tensor.Dispose();
        }
    }
}
