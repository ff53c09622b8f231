using Salient.Engine.IO;
using Salient.Engine.Kernels;
using Salient.Engine.Kernels.Cpu;
using Salient.Tests.Devices;

namespace Salient.Engine.Tests.Graph;

/// <summary>
/// The second-order backward pass (<see cref="Model.HessianVector"/>) agrees with central finite
/// differences of the gradient, (∇(A + εV) − ∇(A − εV)) / 2ε, on a model with smooth operators; is
/// symmetric, uᵀ(H·v) = vᵀ(H·u); is zero on a piecewise-linear network; returns the ordinary
/// gradient beside it; and refuses a step without a rule by name, before a pass and during one.
/// </summary>
public sealed class HessianVectorTests
{
    // smooth_gate (make_smooth.py): Conv, Tanh, a Tanh output times a Sigmoid gate on it (two moving
    // factors), average pool, Gemm, Tanh, Gemm, Softmax. The operator fixtures (make_operator_fixtures.py):
    // unary_op13 Erf, Sqrt, Reciprocal, Exp, Log, Pow with a constant and with a moving exponent, x·x;
    // attention_op13 batched MatMul, Softmax, LogSoftmax, Einsum; norms_op13 the exported LayerNorm
    // pattern (ReduceMean, Sub, Pow, Sqrt, Div) fused, norms_op17 LayerNormalization, both with
    // InstanceNormalization; gelu_op13 the fused Erf-GELU; convnext, ViT and Swin blocks. Smooth away
    // from Abs's kink at 0, which the direction avoids, so the difference crosses none.
    [Theory]
    [InlineData("models", "smooth_gate")]
    [InlineData("operators", "unary_op13")]
    [InlineData("operators", "attention_op13")]
    [InlineData("operators", "norms_op13")]
    [InlineData("operators", "norms_op17")]
    [InlineData("operators", "gelu_op13")]
    [InlineData("operators", "convnext_op13")]
    [InlineData("operators", "vit_op17")]
    [InlineData("operators", "swin_op17")]
    public void The_product_from_the_input_matches_a_central_difference_of_the_gradient(string folder, string name)
    {
        var model = Model.Load(Fixtures.Path(folder, name + ".onnx"));
        using var batch = Npy.Read(Fixtures.Path(folder, name + ".input.npy"));
        using var direction = Direction(batch.Shape, 11);
        using var seed = Direction([.. model.ShapeOf(model.OutputNames[0], batch.Shape)], 13);
        // Smooth, so ε can be large enough that float32 rounding (~1e-7·|∇|/ε) stays small beside the
        // O(ε²) truncation: measured 1.5e-4 of the largest product at ε = 1e-2 on smooth_gate, 3e-4 at 1e-3.
        const float step = 1e-2f;
        for (var i = 0; i < direction.Length; i++)
        {
            if (Math.Abs(batch.Span[i]) < 4 * step)
            {
                direction.Span[i] = 0f;
            }
        }

        var (gradient, product) = HessianVector(model, batch, direction, seed);
        using (gradient)
        using (product)
        {
            using var expectedGradient = Gradient(model, batch, seed);
            Assert.Equal(expectedGradient.Span.ToArray(), gradient.Span.ToArray());

            using var plus = Gradient(model, Moved(batch, direction, step), seed);
            using var minus = Gradient(model, Moved(batch, direction, -step), seed);
            var scale = 0.0;
            var worst = 0.0;
            var largest = 0.0;
            for (var i = 0; i < product.Length; i++)
            {
                largest = Math.Max(largest, Math.Abs(product.Span[i]));
            }

            for (var i = 0; i < product.Length; i++)
            {
                var numeric = (plus.Span[i] - (double)minus.Span[i]) / (2 * step);
                scale = Math.Max(scale, Math.Abs(numeric));
                worst = Math.Max(worst, Math.Abs(product.Span[i] - numeric));
            }

            // Measured worst/scale: 4e-4 (norms_op13) down to 6e-5 (convnext_op13).
            var gradientScale = expectedGradient.Span.ToArray().Max(Math.Abs);
            Assert.True(scale > 1e-2 * gradientScale, $"the difference is {scale:g3} at most against a gradient of {gradientScale:g3}: no curvature to test");
            Assert.True(worst <= 2e-3 * scale, $"max |H·V − difference| {worst:g3} against a scale of {scale:g3}, max |H·V| {largest:g3}");
        }
    }

    // ops_mix adds LeakyReLU, max pool, HardSigmoid, HardSwish, x·HardSigmoid(x) and MatMul: exact
    // symmetry holds at kinks too, since every pass takes the recorded branches.
    // attention_op13 (its LogSoftmax and Einsum), norms_op13 (the fused LayerNorm pattern, InstanceNorm)
    // and convnext_op17 (LayerNormalization and GELU after convolutions) add smooth steps with rules of their own.
    [Theory]
    [InlineData("models", "ops_mix")]
    [InlineData("operators", "attention_op13")]
    [InlineData("operators", "norms_op13")]
    [InlineData("operators", "convnext_op17")]
    public void The_product_is_symmetric(string folder, string name)
    {
        var model = Model.Load(Fixtures.Path(folder, name + ".onnx"));
        using var batch = Npy.Read(Fixtures.Path(folder, name + ".input.npy"));
        using var seed = Direction([.. model.ShapeOf(model.OutputNames[0], batch.Shape)], 13);
        using var u = Direction(batch.Shape, 5);
        using var v = Direction(batch.Shape, 7);
        var (gu, hu) = HessianVector(model, batch, u, seed);
        var (gv, hv) = HessianVector(model, batch, v, seed);
        using (gu)
        using (hu)
        using (gv)
        using (hv)
        {
            var (uhv, vhu) = (Dot(u, hv), Dot(v, hu));
            Assert.True(Math.Abs(uhv - vhu) <= 1e-4 * Math.Max(1, Math.Abs(uhv)), $"uᵀ(H·v) {uhv}, vᵀ(H·u) {vhu}");
        }
    }

    // The rules read only what the backward pass reads, so a record that fuses in its region serves too:
    // ops_mix's ReLUs and batch norms join their convolutions; vit_op13's and convnext_op13's exported
    // Erf-GELU and LayerNorm patterns become one step each, whose rules stand in for their operators'.
    [Theory]
    [InlineData("models", "ops_mix", "+")]
    [InlineData("operators", "vit_op13", "Gelu(fused)")]
    [InlineData("operators", "convnext_op13", "LayerNormalization(fused)")]
    public void A_fused_record_and_another_device_give_the_hosts_unfused_product(string folder, string name, string fusedStep)
    {
        var path = Fixtures.Path(folder, name + ".onnx");
        using var batch = Npy.Read(Fixtures.Path(folder, name + ".input.npy"));
        using var direction = Direction(batch.Shape, 5);
        var host = Model.Load(path, new CpuBackend(GemmProvider.Managed));
        using var seed = Direction([.. host.ShapeOf(host.OutputNames[0], batch.Shape)], 13);
        var (g0, expected) = HessianVector(host, batch, direction, seed);
        var (g1, fused) = HessianVector(host, batch, direction, seed, fuseInRegion: true);
        using (var record = host.RecordForward(batch, [host.InputName], [], fuseInRegion: true))
        {
            Assert.Contains(record.Steps, s => s.Label.Contains(fusedStep, StringComparison.Ordinal));
        }

        var (g2, device) = HessianVector(Model.Load(path, SimulatedDeviceBackend.Device0), batch, direction, seed);
        using (g0)
        using (expected)
        using (g1)
        using (fused)
        using (g2)
        using (device)
        {
            Assert.Equal(SimulatedDeviceBackend.Device0, device.Device);
            using var onHost = device.ToHost();
            Assert.Equal(expected.Span.ToArray(), onHost.Span.ToArray());
            var scale = expected.Span.ToArray().Max(Math.Abs);
            var worst = expected.Span.ToArray().Zip(fused.Span.ToArray(), (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst <= 1e-5 * Math.Max(1, scale), $"fused record: max difference {worst:g3} against a scale of {scale:g3}");
        }
    }

    [Fact]
    public void The_product_of_a_piecewise_linear_network_is_zero()
    {
        // Convolutions, batch norms, ReLUs, pools and residual sums: the Hessian is zero almost everywhere.
        var model = Model.Load(Fixtures.Path("models", "resnet_bottleneck.onnx"));
        using var batch = Npy.Read(Fixtures.Path("models", "resnet_bottleneck.input.npy"));
        using var direction = Direction(batch.Shape, 3);
        using var seed = Direction([.. model.ShapeOf(model.OutputNames[0], batch.Shape)], 13);
        var (gradient, product) = HessianVector(model, batch, direction, seed);
        using (gradient)
        using (product)
        {
            Assert.All(product.Span.ToArray(), value => Assert.Equal(0f, value));
            Assert.Contains(gradient.Span.ToArray(), value => value != 0f);
        }
    }

    [Fact]
    public void One_value_as_both_factors_of_a_matrix_product_gets_both_terms()
    {
        // y = X·X with seed S: ∇ = S·Xᵀ + Xᵀ·S, so H·V = S·Vᵀ + Vᵀ·S.
        var model = TinyModels.Load("gram", [1, 4, 4], [TinyModels.Node("MatMul", ["x", "x"], "y")], [], "y");
        using var x = Direction([1, 4, 4], 3);
        using var v = Direction([1, 4, 4], 5);
        using var seed = Direction([1, 4, 4], 7);
        var (gradient, product) = HessianVector(model, x, v, seed);
        using (gradient)
        using (product)
        {
            for (var i = 0; i < 4; i++)
            {
                for (var j = 0; j < 4; j++)
                {
                    var expected = 0.0;
                    for (var k = 0; k < 4; k++)
                    {
                        expected += (seed.Span[(i * 4) + k] * v.Span[(j * 4) + k]) + (v.Span[(k * 4) + i] * seed.Span[(k * 4) + j]);
                    }

                    Assert.Equal(expected, product.Span[(i * 4) + j], 5);
                }
            }
        }
    }

    [Fact]
    public void A_step_without_a_rule_is_refused_by_name_up_front_and_when_it_runs()
    {
        // An operator registered from outside the engine with no second-order rule, after a smooth step.
        var model = TinyModels.Load("no-second-order", [1, 4], [TinyModels.Node("Tanh", ["x"], "t"), TinyModels.Node(CubeOp, ["t"], "y")], [], "y");
        using var batch = Tensor.FromSpan([-1f, 0.5f, 2f, 0.1f], 1, 4);

        var upFront = Assert.Throws<ModelException>(() => model.CheckHessianVector(model.InputName, batch.Shape));
        using var record = model.RecordForward(batch, [model.InputName], []);
        var running = Assert.Throws<ModelException>(() => model.HessianVector(record, model.InputName, batch, batch.Clone()));
        foreach (var error in new[] { upFront, running })
        {
            Assert.Contains($"{CubeOp} node 'y'", error.Message, StringComparison.Ordinal);
            Assert.Contains("no second-order", error.Message, StringComparison.Ordinal);
        }
    }

    // torchvision's ConvNeXt, ViT and Swin (reduced) at both export forms: every step from the input on,
    // unfused and with the exported GELU and LayerNorm patterns fused, has a second-order rule.
    [Theory]
    [InlineData("convnext_op13")]
    [InlineData("convnext_op17")]
    [InlineData("vit_op13")]
    [InlineData("vit_op17")]
    [InlineData("swin_op13")]
    [InlineData("swin_op17")]
    public void Every_step_of_the_transformer_era_fixtures_passes_the_check(string name)
    {
        var model = Model.Load(Fixtures.Path("operators", name + ".onnx"));
        model.CheckHessianVector(model.InputName, [1, 3, 32, 32]);
        model.CheckHessianVector(model.InputName, [1, 3, 32, 32], fuseInRegion: true);
    }

    private const string CubeOp = "SalientTestCube";

    static HessianVectorTests() => CubeOperator.Register(CubeOp);

    private static (Tensor Gradient, Tensor HessianVector) HessianVector(Model model, Tensor batch, Tensor direction, Tensor seed, bool fuseInRegion = false)
    {
        using var record = model.RecordForward(batch, [model.InputName], [], fuseInRegion);
        return model.HessianVector(record, model.InputName, direction, seed.Clone());
    }

    private static Tensor Gradient(Model model, Tensor batch, Tensor seed)
    {
        using var record = model.RecordForward(batch, [model.InputName], []);
        return model.Backward(record, seed.Clone(), [model.InputName])[model.InputName];
    }

    private static Tensor Moved(Tensor batch, Tensor direction, float step)
    {
        var moved = batch.Clone();
        for (var i = 0; i < moved.Length; i++)
        {
            moved.Span[i] += step * direction.Span[i];
        }

        return moved;
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
