using Salient.Engine;
using Salient.Engine.IO;
using Salient.Engine.Kernels.Cpu;
using Salient.Methods;
using Salient.Tests.Devices;

namespace Salient.Methods.Tests;

/// <summary>
/// The methods whose arithmetic runs through backend operations give the host's maps on a device
/// that is not the host, and bring to the host only the logits (to pick targets) and the maps
/// (SmoothGrad's noisy batches are made on the host and uploaded; docs/architecture.md).
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
    public void A_method_gives_the_host_maps_on_a_device_and_downloads_only_logits_and_maps(string method, int noisyCopies, int maskedChannels)
    {
        using var batch = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var options = new ExplainOptions { Method = method, SmoothSamples = noisyCopies, ChannelLimit = maskedChannels > 0 ? maskedChannels : null };
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

            // Logits to pick targets (once, and once per noisy copy) and once per result for its score, a row per masked
            // channel of each image; each result's raw map and map once.
            var classes = OnHost.Value.ShapeOf(OnHost.Value.OutputNames[0], batch.Shape)[1];
            var logits = batch.Dim(0) * classes;
            Assert.Equal(
                (logits * (1 + noisyCopies + actual.Count)) + (batch.Dim(0) * maskedChannels * classes) + actual.Sum(r => r.Raw.Length + r.Map.Length),
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
