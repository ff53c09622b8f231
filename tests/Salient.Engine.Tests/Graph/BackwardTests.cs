using Salient.Engine.IO;

namespace Salient.Engine.Tests.Graph;

/// <summary>The backward pass agrees with finite differences of the forward pass on every fixture model.</summary>
public sealed class BackwardTests
{
    public static TheoryData<string> ModelNames => ["vgg_bn", "resnet_basic", "resnet_bottleneck", "mobilenetv2", "densenet", "ops_mix"];

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void Input_gradient_matches_a_central_difference_along_a_random_direction(string name)
    {
        var model = Model.Load(Fixtures.Path("models", name + ".onnx"));
        using var batch = Npy.Read(Fixtures.Path("models", name + ".input.npy"));
        var classes = model.ShapeOf(model.OutputNames[0], batch.Shape)[1];
        var target = 3;

        using var record = model.RecordForward(batch, [model.InputName], []);
        var seed = Tensor.Zeros(batch.Dim(0), classes);
        seed.Span[target] = 1f;
        seed.Span[classes + target + 1] = 1f;
        var gradients = model.Backward(record, seed, [model.InputName]);
        using var gradient = gradients[model.InputName];

        var random = new Random(7);
        var direction = new float[batch.Length];
        for (var i = 0; i < direction.Length; i++)
        {
            direction[i] = random.NextSingle() - 0.5f;
        }

        const float step = 1e-2f;
        var analytic = 0.0;
        for (var i = 0; i < direction.Length; i++)
        {
            analytic += gradient.Span[i] * direction[i];
        }

        var numeric = (Score(model, batch, direction, step, target, classes) - Score(model, batch, direction, -step, target, classes)) / (2 * step);
        Assert.True(Math.Abs(analytic - numeric) <= 2e-2 * Math.Max(1, Math.Abs(numeric)), $"analytic {analytic}, numeric {numeric}");
    }

    [Fact]
    public void Gradients_reach_only_the_requested_layer_and_match_the_full_pass()
    {
        var model = Model.Load(Fixtures.Path("models", "resnet_basic.onnx"));
        using var batch = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var layer = model.Graph.Nodes.First(n => n.OpType == "GlobalAveragePool").Inputs[0];

        using var partial = model.RecordForward(batch, [layer], [layer]);
        using var full = model.RecordForward(batch, [model.InputName, layer], [layer]);
        var a = model.Backward(partial, OneHot(batch.Dim(0), 10, 2), [layer]);
        var b = model.Backward(full, OneHot(batch.Dim(0), 10, 2), [layer]);

        Assert.True(partial.BackwardNodes.Count < full.BackwardNodes.Count);
        Assert.Equal(b[layer].Span.ToArray(), a[layer].Span.ToArray());
        foreach (var t in a.Values.Concat(b.Values))
        {
            t.Dispose();
        }
    }

    [Fact]
    public void A_requested_gradient_survives_the_steps_behind_it_that_reuse_gradients_in_place()
    {
        // The last ReLU's output is requested together with an earlier value, so that ReLU (and the
        // residual Add before it) run backward while the requested gradient must stay intact.
        var model = Model.Load(Fixtures.Path("models", "resnet_basic.onnx"));
        using var batch = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var late = model.Graph.Nodes.First(n => n.OpType == "GlobalAveragePool").Inputs[0];
        var early = model.Graph.Nodes.Where(n => n.OpType == "Relu").Select(n => n.Outputs[0]).First();

        using var alone = model.RecordForward(batch, [late], [late]);
        using var both = model.RecordForward(batch, [early, late], [early, late]);
        var a = model.Backward(alone, OneHot(batch.Dim(0), 10, 2), [late]);
        var b = model.Backward(both, OneHot(batch.Dim(0), 10, 2), [early, late]);

        Assert.Contains(both.BackwardNodes, n => n.OpType == "Relu" && n.Outputs[0] == late);
        Assert.Equal(a[late].Span.ToArray(), b[late].Span.ToArray());
        foreach (var t in a.Values.Concat(b.Values))
        {
            t.Dispose();
        }
    }

    [Theory]
    [InlineData("resnet_basic")]
    [InlineData("mobilenetv2")]
    public void Relus_clips_and_batch_norms_fused_in_the_gradient_region_give_the_same_input_gradient(string name)
    {
        var model = Model.Load(Fixtures.Path("models", name + ".onnx"));
        using var batch = Npy.Read(Fixtures.Path("models", name + ".input.npy"));
        using var apart = model.RecordForward(batch, [model.InputName], []);
        using var fused = model.RecordForward(batch, [model.InputName], [], fuseInRegion: true);
        var classes = apart.Value(model.OutputNames[0]).Dim(1);
        var a = model.Backward(apart, OneHot(batch.Dim(0), classes, 1), [model.InputName]);
        var b = model.Backward(fused, OneHot(batch.Dim(0), classes, 1), [model.InputName]);

        Assert.Contains(apart.Steps, s => s.Node.OpType is "Relu" or "Clip");
        Assert.DoesNotContain(fused.Steps, s => s.Node.OpType is "Relu" or "Clip" or "BatchNormalization");
        // Fused, the record keeps only what the steps' input-gradient backward reads: not, e.g., a
        // convolution's output that only a residual Add reads.
        Assert.True(fused.KeptValues.Count < apart.KeptValues.Count / 2, $"{fused.KeptValues.Count} values kept fused, {apart.KeptValues.Count} apart");
        var x = a[model.InputName].Span;
        var y = b[model.InputName].Span;
        for (var i = 0; i < x.Length; i++)
        {
            Assert.True(Math.Abs(x[i] - y[i]) <= 1e-5f * Math.Max(1f, Math.Abs(x[i])), $"element {i}: {x[i]} apart, {y[i]} fused");
        }

        foreach (var t in a.Values.Concat(b.Values))
        {
            t.Dispose();
        }
    }

    private static Tensor OneHot(int n, int classes, int target)
    {
        var seed = Tensor.Zeros(n, classes);
        for (var b = 0; b < n; b++)
        {
            seed.Span[(b * classes) + target] = 1f;
        }

        return seed;
    }

    /// <summary>Σ of image 0's logit <paramref name="target"/> and image 1's logit target+1 at x + step·direction.</summary>
    private static double Score(Model model, Tensor batch, float[] direction, float step, int target, int classes)
    {
        using var moved = batch.Clone();
        for (var i = 0; i < direction.Length; i++)
        {
            moved.Span[i] += step * direction[i];
        }

        using var logits = model.Forward(moved);
        return (double)logits.Span[target] + logits.Span[classes + target + 1];
    }
}
