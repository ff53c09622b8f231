using Salient.Engine;
using Salient.Engine.Training;
using Salient.Training.Csg;
using Salient.Training;

namespace Salient.Training.Tests;

public sealed class CsgGateTests
{
    [Fact]
    public void Projection_keeps_each_filter_row_in_the_unit_interval_with_a_maximum_of_one()
    {
        var gate = NewGate(out _);
        var random = new Random(2);
        for (var i = 0; i < gate.Gate.Length; i++)
        {
            gate.Gate[i] = (random.NextSingle() * 3) - 1;
        }

        gate.Gate.AsSpan(0, gate.Classes).Fill(-0.5f); // a row with no positive entry must not produce NaN
        gate.Project();
        for (var k = 0; k < gate.Filters; k++)
        {
            var row = gate.Gate.AsSpan(k * gate.Classes, gate.Classes);
            Assert.All(row.ToArray(), g => Assert.InRange(g, 0f, 1f));
            if (k > 0)
            {
                Assert.Equal(1f, row.ToArray().Max());
            }
        }
    }

    [Fact]
    public void Gate_gradient_matches_central_differences_of_the_gated_loss()
    {
        var gate = NewGate(out var model);
        var random = new Random(4);
        for (var i = 0; i < gate.Gate.Length; i++)
        {
            gate.Gate[i] = 0.2f + (0.6f * random.NextSingle());
        }

        var set = new SyntheticImages(6, multiLabel: true);
        using var batch = Tensor.Uninitialized(6, 1, SyntheticImages.Side, SyntheticImages.Side);
        var labels = ImageBatches.Fill(set, [0, 1, 2, 3, 4, 5], batch, [0.3f], [0.25f]);
        gate.Active = true;

        double Loss()
        {
            gate.Begin(labels);
            using var record = model.Forward(batch, onValue: gate.OnValue);
            var logits = model.Logits(record);
            using var scratch = Tensor.Uninitialized(logits.Shape);
            return Losses.SigmoidBinaryCrossEntropy(logits.Span, 4, Targets(labels), scratch.Span);
        }

        gate.Begin(labels);
        using (var record = model.Forward(batch, onValue: gate.OnValue))
        {
            var logits = model.Logits(record);
            var seed = Tensor.Uninitialized(logits.Shape);
            Losses.SigmoidBinaryCrossEntropy(logits.Span, 4, Targets(labels), seed.Span);
            foreach (var g in model.Backward(record, seed, gate).Values)
            {
                g.Dispose();
            }
        }

        var analytic = (float[])gate.Gradient.Clone();
        foreach (var index in new[] { 0, 5, 17, 42, 100 })
        {
            var saved = gate.Gate[index];
            gate.Gate[index] = saved + 1e-2f;
            var plus = Loss();
            gate.Gate[index] = saved - 1e-2f;
            var minus = Loss();
            gate.Gate[index] = saved;
            var numeric = (plus - minus) / 2e-2;
            Assert.True(Math.Abs(numeric - analytic[index]) <= 1e-4 + (2e-2 * Math.Abs(numeric)), $"G[{index}]: analytic {analytic[index]}, numeric {numeric}");
        }
    }

    [Fact]
    public void Hinge_adds_lambda_to_every_gate_gradient_only_above_the_target_density()
    {
        var gate = NewGate(out _);
        Array.Fill(gate.Gate, 1f);
        gate.Begin([]);
        var term = gate.AddHinge(1e-3f, 0.2f);
        Assert.Equal(1e-3f * 0.8f * gate.Gate.Length, term, 4);
        Assert.All(gate.Gradient, g => Assert.Equal(1e-3f, g));

        Array.Fill(gate.Gate, 0.1f);
        gate.Begin([]);
        Assert.Equal(0f, gate.AddHinge(1e-3f, 0.2f));
        Assert.All(gate.Gradient, g => Assert.Equal(0f, g));
        Assert.Equal(0.1f, gate.Density, 5);
    }

    [Fact]
    public void The_gate_round_trips_through_model_metadata()
    {
        var gate = NewGate(out _);
        gate.Gate[3] = 0.25f;
        var copy = CsgGate.FromJson(gate.ToJson(), "test")!;
        Assert.Equal(gate.Value, copy.Value);
        Assert.Equal(gate.Gate, copy.Gate);
        Assert.Throws<InvalidDataException>(() => CsgGate.FromJson("{\"filters\": 2}", "bad.onnx"));
    }

    [Fact]
    public void A_model_without_a_pooling_head_is_refused_with_the_reason()
    {
        using var model = TrainableModel.Load(Fixtures.Path("models", "ops_mix.onnx"));
        var error = Assert.Throws<ArgumentException>(() => CsgGate.Create(model.Graph, 8, 10));
        Assert.Contains("GlobalAveragePool → Linear", error.Message, StringComparison.Ordinal);
    }

    private static CsgGate NewGate(out TrainableModel model)
    {
        model = TrainableModel.FromProto(Architectures.Create("small-cnn", 1, SyntheticImages.Side, SyntheticImages.Side, 4, seed: 1), "toy.onnx");
        return CsgGate.Create(model.Graph, 64, 4);
    }

    private static float[] Targets(IReadOnlyList<int>[] labels)
    {
        var targets = new float[labels.Length * 4];
        for (var i = 0; i < labels.Length; i++)
        {
            foreach (var c in labels[i])
            {
                targets[(i * 4) + c] = 1f;
            }
        }

        return targets;
    }
}
