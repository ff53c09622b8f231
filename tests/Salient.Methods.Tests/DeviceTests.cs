using Salient.Engine;
using Salient.Engine.IO;
using Salient.Engine.Kernels.Cpu;
using Salient.Methods;
using Salient.Methods.Metrics;
using Salient.Tests.Devices;

namespace Salient.Methods.Tests;

/// <summary>
/// The methods whose arithmetic runs through backend operations give the host's maps on a device
/// that is not the host, and bring to the host only the logits (to pick targets) and the maps
/// (the noise patterns are drawn on the device by the counter-based generator; docs/architecture.md).
/// </summary>
public sealed class DeviceTests
{
    private static readonly string ModelPath = Fixtures.Path("models", "resnet_basic.onnx");
    private static readonly Lazy<Model> OnHost = new(() => Model.Load(ModelPath, new CpuBackend(GemmProvider.Managed)));
    private static readonly Lazy<Model> OnDevice = new(() => Model.Load(ModelPath, SimulatedDeviceBackend.Device0));

    /// <summary>Methods, with the noisy copies (SmoothGrad) and masked channels (Score-CAM) to use: each reads its logits on the host.</summary>
    public static TheoryData<string, int, int> DeviceMethods => new()
    {
        { "cam", 0, 0 }, { "gradcam", 0, 0 }, { "gradient", 0, 0 }, { "gradxinput", 0, 0 }, { "guided-backprop", 0, 0 }, { "deconvolution", 0, 0 },
        { "integrated-gradients", 0, 0 }, { "vargrad", 3, 0 }, { "scorecam", 0, 3 },
        { "gradcam++", 0, 0 }, { "xgradcam", 0, 0 }, { "layercam", 0, 0 }, { "gradcam-elementwise", 0, 0 }, { "hirescam", 0, 0 }, { "tsgb", 0, 0 },
        { "gradient", 2, 0 },
    };

    [Theory]
    [InlineData("dff")]
    [InlineData("shapleycam")]
    public void A_method_with_host_steps_gives_the_host_maps_on_a_device(string method)
    {
        using var batch = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var options = new ExplainOptions { Method = method };
        var expected = Explainer.Create(OnHost.Value, options).Explain(batch, TargetSelection.Top(2));
        var actual = Explainer.Create(OnDevice.Value, options).Explain(batch, TargetSelection.Top(2));
        try
        {
            Assert.Equal(expected.Select(e => e.Class), actual.Select(e => e.Class));
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.True(ParityTests.RelativeL2(expected[i].Raw.Span, actual[i].Raw.Span) < 1e-5, $"explanation {i}: raw maps differ");
                Assert.True(ParityTests.RelativeL2(expected[i].Map.Span, actual[i].Map.Span) < 1e-5, $"explanation {i}: maps differ");
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

    [Theory]
    [MemberData(nameof(DeviceMethods))]
    public void A_method_gives_the_host_maps_on_a_device_and_downloads_only_logits_and_maps(string method, int noisyCopies, int maskedChannels) =>
        AssertHostMapsOnDevice(new ExplainOptions { Method = method, SmoothSamples = noisyCopies, ChannelLimit = maskedChannels > 0 ? maskedChannels : null }, noisyCopies, maskedChannels);

    /// <summary>
    /// GradientSHAP's noisy inputs and interpolation points are made on the device: the batch is uploaded once and
    /// then only each backward pass's seed on the logits. (DeepLIFT-SHAP draws its baselines the same way, but
    /// DeepLIFT's backward rules still run on the host.)
    /// </summary>
    [Fact]
    public void Gradientshap_gives_the_host_maps_on_a_device_and_uploads_only_the_batch_and_seeds()
    {
        const int samples = 3, slots = 2;
        var options = new ExplainOptions { Method = "gradientshap", Parameters = new Dictionary<string, double> { ["samples"] = samples, ["stdev"] = 0.1 } };
        var before = SimulatedDeviceBackend.Uploaded;
        AssertHostMapsOnDevice(options, 0, 0);
        using var batch = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var logits = batch.Dim(0) * OnHost.Value.ShapeOf(OnHost.Value.OutputNames[0], batch.Shape)[1];
        Assert.Equal(batch.Length + (samples * slots * logits), SimulatedDeviceBackend.Uploaded - before);
    }

    /// <summary>Denoising's truncations, of a shallow layer's gradients (and along the backward pass in backprop mode), on the device.</summary>
    public static TheoryData<string, DenoiseMode> DenoisedMethods => new()
    {
        { "gradcam", DenoiseMode.Floor }, { "gradcam++", DenoiseMode.Ceil }, { "layercam", DenoiseMode.Rectify }, { "xgradcam", DenoiseMode.Backprop },
    };

    [Theory]
    [MemberData(nameof(DenoisedMethods))]
    public void A_denoised_cam_gives_the_host_maps_on_a_device(string method, DenoiseMode denoise) =>
        AssertHostMapsOnDevice(new ExplainOptions { Method = method, Denoise = denoise, Layers = ["/layer2/layer2.0/relu_1/Relu_output_0", "/layer3/layer3.0/relu_1/Relu_output_0"] }, 0, 0);

    /// <summary>Guided Grad-CAM runs a Grad-CAM inside, whose maps stay on the device: it reads the logits as that explainer does too.</summary>
    [Fact]
    public void Guided_gradcam_gives_the_host_maps_on_a_device_and_keeps_its_cams_there() =>
        AssertHostMapsOnDevice(new ExplainOptions { Method = "guided-gradcam" }, 0, 0, innerExplainers: 1);

    /// <summary>The perturbation metrics of eval jobs on a device: only the logits downloaded; deletion and insertion make their copies there.</summary>
    [Fact]
    public void Deletion_insertion_and_road_give_the_host_curves_on_a_device_and_download_only_logits()
    {
        using var batch = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var explanations = Explainer.Create(OnHost.Value, new ExplainOptions { Method = "gradcam" }).Explain(batch, TargetSelection.Top1);
        try
        {
            var classes = OnHost.Value.ShapeOf(OnHost.Value.OutputNames[0], batch.Shape)[1];
            foreach (var insertion in new[] { false, true })
            {
                var expected = DeletionInsertion.Curves(OnHost.Value, batch, explanations, insertion, PerturbationBaseline.Blur, steps: 4, innerBatch: 3);
                var (downloaded, uploaded) = (SimulatedDeviceBackend.Downloaded, SimulatedDeviceBackend.Uploaded);
                var actual = DeletionInsertion.Curves(OnDevice.Value, batch, explanations, insertion, PerturbationBaseline.Blur, steps: 4, innerBatch: 3);
                Assert.Equal(explanations.Count * 5 * classes, SimulatedDeviceBackend.Downloaded - downloaded);
                // Each image and its baseline, each map's ranks: the copies themselves are made on the device.
                var (image, plane) = (batch.Length / batch.Dim(0), batch.Dim(2) * batch.Dim(3));
                Assert.Equal((explanations.Select(e => e.Image).Distinct().Count() * 2 * image) + (explanations.Count * plane), SimulatedDeviceBackend.Uploaded - uploaded);
                Assert.Equal(expected, actual);
            }

            Assert.Equal(
                Road.Curves(OnHost.Value, batch, explanations, RoadOrder.MostRelevantFirst, [20, 60]),
                Road.Curves(OnDevice.Value, batch, explanations, RoadOrder.MostRelevantFirst, [20, 60]));
        }
        finally
        {
            foreach (var explanation in explanations)
            {
                explanation.Dispose();
            }
        }
    }

    /// <summary>An eval job's whole evaluation (every metric, the sanity check's randomised models included) on a device gives the host's numbers.</summary>
    [Fact]
    public void Every_metric_gives_the_host_numbers_on_a_device()
    {
        using var batch = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var options = new MetricOptions { Steps = 4, RoadPercentages = [25, 75], SanitySteps = 2 };
        ReadOnlyMemory<bool> left = Enumerable.Range(0, 32 * 32).Select(p => p % 32 < 16).ToArray();
        EvaluationItem[] items = [new("a", [new(2, left)]), new("b", [new(7, left)])];
        string Evaluate(Model model)
        {
            var accumulator = new MetricAccumulator();
            new MetricEvaluator(model, [new ExplainOptions { Method = "gradcam" }, new ExplainOptions { Method = "gradient" }], options).Evaluate(batch, items, accumulator);
            return accumulator.ToJson();
        }

        Assert.Equal(Evaluate(OnHost.Value), Evaluate(OnDevice.Value));
    }

    private static void AssertHostMapsOnDevice(ExplainOptions options, int noisyCopies, int maskedChannels, int innerExplainers = 0)
    {
        using var batch = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var expected = Explainer.Create(OnHost.Value, options).Explain(batch, TargetSelection.Top(2));
        var before = SimulatedDeviceBackend.Downloaded;
        var actual = Explainer.Create(OnDevice.Value, options).Explain(batch, TargetSelection.Top(2));
        var downloaded = SimulatedDeviceBackend.Downloaded - before;
        try
        {
            Assert.Equal(expected.Count, actual.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].Class, actual[i].Class);
                Assert.Equal(expected[i].Raw.Span.ToArray(), actual[i].Raw.Span.ToArray());
                Assert.Equal(expected[i].Map.Span.ToArray(), actual[i].Map.Span.ToArray());
            }

            // Logits to pick targets (once, and once per noisy copy) and once per result for its score, as much again for an
            // explainer used inside, a row per masked channel of each image; each result's raw map and map once.
            var classes = OnHost.Value.ShapeOf(OnHost.Value.OutputNames[0], batch.Shape)[1];
            var logits = batch.Dim(0) * classes;
            Assert.Equal(
                (logits * ((1 + innerExplainers) * (1 + actual.Count) + noisyCopies)) + (batch.Dim(0) * maskedChannels * classes) + actual.Sum(r => r.Raw.Length + r.Map.Length),
                downloaded);
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
