using Salient.Engine.Devices;
using Salient.Engine.IO;
using Salient.Engine.Kernels;
using Salient.Engine.Kernels.Cpu;
using Salient.Tests.Devices;

namespace Salient.Engine.Tests.Devices;

/// <summary>Device names, the backend registry, and models that run on a device that is not the host.</summary>
public sealed class DeviceTests
{
    public static TheoryData<string> ConvolutionalModels => ["vgg_bn", "resnet_basic", "resnet_bottleneck", "mobilenetv2"];

    // Models whose steps include the data-movement and normalisation operators: DenseNet (Concat, Pad), vision
    // transformers (Concat, Slice, Gather, LayerNorm, GELU, softmax, reductions), and the operator fixtures.
    public static TheoryData<string, string> DataMovementModels => new()
    {
        { "models", "densenet" },
        { "operators", "vit_op13" },
        { "operators", "vit_op17" },
        { "operators", "swin_op17" },
        { "operators", "convnext_op17" },
        { "operators", "norms_op13" },
        { "operators", "norms_op17" },
        { "operators", "reduce_op13" },
        { "operators", "unary_op13" },
        { "operators", "dataops_op13" },
        { "operators", "dataops_op17" },
        { "operators", "gelu_op13" },
        { "operators", "inception_op17" },
        { "operators", "where_op13" },
        { "operators", "poolresize_op13" },
    };

    [Fact]
    public void Device_names_parse_and_print_as_written()
    {
        Assert.Equal(Device.Cpu, Device.Parse("cpu"));
        Assert.Equal(new Device("cuda", 1), Device.Parse("cuda:1"));
        Assert.Equal(new Device("cuda"), Device.Parse(" CUDA "));
        Assert.Equal("cuda:1", Device.Parse("cuda:1").ToString());
        Assert.Equal("cpu", Device.Cpu.ToString());
        Assert.Equal(Device.Cpu, default(Device));
        Assert.Throws<FormatException>(() => Device.Parse("cuda:x"));
        Assert.Throws<FormatException>(() => Device.Parse(":1"));
    }

    [Fact]
    public void The_registry_names_the_known_devices_for_an_unknown_one_and_refuses_a_second_registration()
    {
        Assert.Same(KernelBackends.Default, KernelBackends.For("cpu"));
        var unknown = Assert.Throws<DeviceUnavailableException>(() => KernelBackends.For("tpu:2"));
        Assert.Contains("'tpu:2'", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("cpu", unknown.Message, StringComparison.Ordinal);
        Assert.Throws<DeviceUnavailableException>(() => KernelBackends.For("cpu:1"));
        Assert.Throws<DeviceUnavailableException>(() => Model.Load(Fixtures.Path("models", "resnet_basic.onnx"), new Device("tpu")));
        Assert.Throws<InvalidOperationException>(() => KernelBackends.Register("cpu", _ => new CpuBackend()));
    }

    [Theory]
    [InlineData(1 << 20)] // a power of two: the pool has no room to spare
    [InlineData(3 * 224 * 224)]
    public unsafe void Pooled_host_buffers_hold_exactly_their_length_from_a_cache_line(int length)
    {
        using var buffer = CpuBuffer.Rent(length);
        Assert.Equal(length, buffer.Length);
        fixed (float* start = buffer.Memory.Span)
        {
            Assert.Equal(0, (nint)start % 64);
        }
    }

    [Fact]
    public void A_device_tensor_has_no_span_and_moves_to_the_host_and_back()
    {
        var device = KernelBackends.For(SimulatedDeviceBackend.Device0);
        using var host = Tensor.Wrap(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        Assert.Same(host, host.To(KernelBackends.Default));
        using var onDevice = host.To(device);
        Assert.Equal(SimulatedDeviceBackend.Device0, onDevice.Device);
        Assert.Throws<InvalidOperationException>(() => onDevice.Span.Length);
        using var copy = onDevice.Clone();
        using var back = copy.ToHost();
        Assert.Equal(host.Span.ToArray(), back.Span.ToArray());
        Assert.Equal(Device.Cpu, back.Device);
    }

    [Theory]
    [MemberData(nameof(ConvolutionalModels))]
    public void A_model_runs_forward_and_backward_on_another_device_with_the_host_results(string name) =>
        AssertSameOnDevice("models", name);

    [Theory]
    [MemberData(nameof(DataMovementModels))]
    public void Data_movement_and_normalisation_run_forward_and_backward_on_another_device_with_the_host_results(string folder, string name) =>
        AssertSameOnDevice(folder, name);

    private static void AssertSameOnDevice(string folder, string name)
    {
        var path = Fixtures.Path(folder, name + ".onnx");
        var onHost = Model.Load(path, new CpuBackend(GemmProvider.Managed));
        var onDevice = Model.Load(path, SimulatedDeviceBackend.Device0);
        Assert.Equal(SimulatedDeviceBackend.Device0, onDevice.Device);
        using var batch = Npy.Read(Fixtures.Path(folder, name + ".input.npy"));

        using var expectedLogits = onHost.Forward(batch);
        using var logits = onDevice.Forward(batch);
        Assert.Equal(SimulatedDeviceBackend.Device0, logits.Device);
        using (var downloaded = logits.ToHost())
        {
            Assert.Equal(expectedLogits.Span.ToArray(), downloaded.Span.ToArray());
        }

        // Every step of the backward pass, on the device: a host step would meet memory it cannot read.
        using var expected = InputGradient(onHost, batch);
        using var gradient = InputGradient(onDevice, batch);
        Assert.Equal(SimulatedDeviceBackend.Device0, gradient.Device);
        using var gradientOnHost = gradient.ToHost();
        Assert.Equal(expected.Span.ToArray(), gradientOnHost.Span.ToArray());
    }

    private static Tensor InputGradient(Model model, Tensor batch)
    {
        using var record = model.RecordForward(batch, [model.InputName], [], fuseInRegion: true);
        // A seed that weighs every output differently, so each path back carries its own share.
        var seed = Tensor.Zeros([.. model.ShapeOf(model.OutputNames[0], batch.Shape)]);
        for (var i = 0; i < seed.Length; i++)
        {
            seed.Span[i] = ((i % 7) - 3) / 3f;
        }

        return model.Backward(record, seed, [model.InputName])[model.InputName];
    }
}
