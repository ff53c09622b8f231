using Salient.Engine.Devices;
using Salient.Engine.IO;
using Salient.Engine.Kernels;
using Salient.Engine.Kernels.Cpu;
using Salient.Methods;

namespace Salient.Engine.Cuda.Tests;

/// <summary>
/// A model loaded on a GPU device through the registry (<c>ilgpu</c>, ILGPU's CPU accelerator, in
/// CI; <c>cuda</c> when a device is there, skipped with the reason when not) gives the CPU
/// backend's logits, Grad-CAM, guided-backpropagation and SmoothGrad maps within the parity tolerances
/// (tests/fixtures/methods/manifest.json: raw maps 1e-3 relative L2, maps 2e-3 absolute).
/// </summary>
public sealed class EndToEndTests
{
    private const double LogitsRelativeL2 = 1e-4;
    private const double RawRelativeL2 = 1e-3;
    private const float MapMaxAbs = 2e-3f;

    private static readonly string ModelPath = Fixtures.Path("models", "resnet_basic.onnx");
    private static readonly Lazy<Model> OnHost = new(() => Model.Load(ModelPath, new CpuBackend(GemmProvider.Managed)));

    // SALIENT_TEST_CUDA=cuda:N (bench/gpu-check.sh) runs the CUDA case on that device and leaves the simulator out.
    private static readonly string? s_cuda = Environment.GetEnvironmentVariable("SALIENT_TEST_CUDA") is { Length: > 0 } chosen ? chosen : null;

    public static TheoryData<string> DeviceNames => s_cuda is null ? [GpuBackend.SimulatorKind, GpuBackend.CudaKind] : [GpuBackend.CudaKind];

    [SkippableTheory]
    [MemberData(nameof(DeviceNames))]
    public void A_model_on_the_device_gives_the_cpu_logits_and_maps(string kind)
    {
        var model = Load(kind);
        Assert.Equal(kind, model.Backend.Device.Kind);
        // One image and one target: ILGPU's CPU accelerator simulates every group's threads, so each launch is slow.
        using var images = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var image = images.Length / images.Dim(0);
        using var batch = Tensor.FromSpan(images.Span[..image], [1, .. images.Shape[1..]]);

        using (var expected = OnHost.Value.Forward(batch))
        using (var actual = model.Forward(batch))
        {
            Assert.Equal(kind, actual.Device.Kind);
            using var logits = actual.ToHost();
            AssertRelativeL2(expected.Span, logits.Span, LogitsRelativeL2, "logits");
        }

        // On CUDA also SmoothGrad with two noisy copies, whose pattern the device's FillNormal kernel draws with the GPU's
        // fast log, sin and cos (on the CPU accelerator that kernel is the CPU's code, checked in MethodArithmeticTests,
        // and two more passes would add minutes).
        ExplainOptions[] cases = [new() { Method = "gradcam" }, new() { Method = "guided-backprop" }];
        if (kind == GpuBackend.CudaKind)
        {
            cases = [.. cases, new() { Method = "gradient", SmoothSamples = 2 }];
        }

        foreach (var options in cases)
        {
            var method = options.SmoothSamples > 0 ? $"{options.Method} (smoothed)" : options.Method;
            var expected = Explainer.Create(OnHost.Value, options).Explain(batch, TargetSelection.Top(1));
            var actual = Explainer.Create(model, options).Explain(batch, TargetSelection.Top(1));
            try
            {
                Assert.Equal(expected.Count, actual.Count);
                for (var i = 0; i < expected.Count; i++)
                {
                    Assert.Equal(expected[i].Class, actual[i].Class);
                    AssertRelativeL2(expected[i].Raw.Span, actual[i].Raw.Span, RawRelativeL2, $"{method} raw map {i}");
                    Assert.Equal(expected[i].Map.Length, actual[i].Map.Length);
                    var worst = 0f;
                    for (var j = 0; j < expected[i].Map.Length; j++)
                    {
                        worst = Math.Max(worst, Math.Abs(expected[i].Map.Span[j] - actual[i].Map.Span[j]));
                    }

                    Assert.True(worst <= MapMaxAbs, $"{method} map {i}: largest difference {worst}");
                }
            }
            finally
            {
                foreach (var result in expected.Concat(actual))
                {
                    result.Dispose();
                }
            }
        }
    }

    public static TheoryData<string, string, string> DataMovementCases => Cases();

    // The small operator fixtures (Slice, Tile, Expand, Where, Resize) through the backend,
    // forward and the input gradient; DenseNet and the ViTs run on the simulated device in the engine's tests
    // (ILGPU's CPU accelerator would take minutes for them).
    private static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var kind in DeviceNames)
        {
            foreach (var (folder, name) in new[] { ("operators", "dataops_op13"), ("operators", "where_op13"), ("operators", "poolresize_op13") })
            {
                data.Add(kind, folder, name);
            }
        }

        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(DataMovementCases))]
    public void Data_movement_models_on_the_device_give_the_cpu_outputs_and_input_gradients(string kind, string folder, string name)
    {
        var path = Fixtures.Path(folder, name + ".onnx");
        var onHost = Model.Load(path, new CpuBackend(GemmProvider.Managed));
        var model = Load(kind, path);
        using var images = Npy.Read(Fixtures.Path(folder, name + ".input.npy"));
        var image = images.Length / images.Dim(0);
        using var batch = Tensor.FromSpan(images.Span[..image], [1, .. images.Shape[1..]]);

        using (var expected = onHost.Forward(batch))
        using (var actual = model.Forward(batch))
        using (var output = actual.ToHost())
        {
            AssertRelativeL2(expected.Span, output.Span, LogitsRelativeL2, "output");
        }

        using var expectedGradient = InputGradient(onHost, batch);
        using var gradient = InputGradient(model, batch);
        Assert.Equal(kind, gradient.Device.Kind);
        using var gradientOnHost = gradient.ToHost();
        AssertRelativeL2(expectedGradient.Span, gradientOnHost.Span, RawRelativeL2, "input gradient");
    }

    [Fact]
    public void Training_operations_name_the_device()
    {
        var backend = KernelBackendsFor(GpuBackend.SimulatorKind);
        using var data = backend.Allocate(4);
        var view = new BufferView(data, 0, 4);
        var error = Assert.Throws<NotSupportedException>(() => backend.BatchNormTraining(1, 1, 4, view, view, view, 1e-5f, view, view, view));
        Assert.Contains("ilgpu", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cuda_index_past_the_devices_names_the_device()
    {
        GpuBackend.Register();
        var error = Assert.ThrowsAny<DeviceUnavailableException>(() => KernelBackends.For("cuda:7"));
        Assert.Contains("cuda:7", error.Message, StringComparison.Ordinal);
    }

    private static Model Load(string kind, string? path = null)
    {
        GpuBackend.Register();
        var name = kind == GpuBackend.CudaKind ? s_cuda ?? "cuda" : kind;
        try
        {
            return Model.Load(path ?? ModelPath, KernelBackends.For(name));
        }
        catch (DeviceUnavailableException e) when (kind == GpuBackend.CudaKind)
        {
            throw new SkipException(e.Message);
        }
    }

    private static Tensor InputGradient(Model model, Tensor batch)
    {
        using var record = model.RecordForward(batch, [model.InputName], [], fuseInRegion: true);
        using var seed = Tensor.Zeros([.. model.ShapeOf(model.OutputNames[0], batch.Shape)]);
        for (var i = 0; i < seed.Length; i++)
        {
            seed.Span[i] = ((i % 7) - 3) / 3f;
        }

        return model.Backward(record, seed, [model.InputName])[model.InputName];
    }

    private static IKernelBackend KernelBackendsFor(string name)
    {
        GpuBackend.Register();
        return KernelBackends.For(name);
    }

    private static void AssertRelativeL2(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double bound, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double diff = 0, norm = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            diff += (double)(expected[i] - actual[i]) * (expected[i] - actual[i]);
            norm += (double)expected[i] * expected[i];
        }

        var error = Math.Sqrt(diff / Math.Max(norm, 1e-30));
        Assert.True(error <= bound, $"{what}: relative L2 error {error} (bound {bound})");
    }
}
