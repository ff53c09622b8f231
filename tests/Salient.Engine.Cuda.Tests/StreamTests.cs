using Salient.Engine.Devices;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Tests;

/// <summary>
/// Backends on streams of their own (one per model grain on a worker): two of them on one device compute at
/// once from two threads and give what each gives alone, refuse each other's buffers, and may be disposed in
/// any order with the backend they came from. On ILGPU's CPU accelerator a launch runs to its end before the
/// next, so these tests check ownership, pools and disposal; the overlap itself only a GPU shows.
/// </summary>
public sealed class StreamTests
{
    private const int Size = 4096;
    private const int Rounds = 3;

    public static TheoryData<string> DeviceNames => EndToEndTests.DeviceNames;

    [SkippableTheory]
    [MemberData(nameof(DeviceNames))]
    public void Two_backends_on_their_own_streams_compute_at_once_as_each_does_alone(string kind)
    {
        var device = Registered(kind);
        using var first = device.OpenStream();
        using var second = device.OpenStream();
        var (a, b) = (Data(1), Data(2));
        var alone = (First: Chain(first, a), Second: Chain(second, b));
        Assert.NotEqual(alone.First, alone.Second);

        using var start = new Barrier(2);
        List<float[]> Run(IKernelBackend backend, float[] input)
        {
            start.SignalAndWait();
            return [.. Enumerable.Range(0, Rounds).Select(_ => Chain(backend, input))];
        }

        var both = new[] { Task.Factory.StartNew(() => Run(first, a), TaskCreationOptions.LongRunning), Task.Factory.StartNew(() => Run(second, b), TaskCreationOptions.LongRunning) };
        Task.WaitAll(both);
        Assert.All(both[0].Result, result => Assert.Equal(alone.First, result));
        Assert.All(both[1].Result, result => Assert.Equal(alone.Second, result));
    }

    [SkippableTheory]
    [MemberData(nameof(DeviceNames))]
    public void A_buffer_of_another_stream_is_refused(string kind)
    {
        var device = Registered(kind);
        using var first = device.OpenStream();
        using var second = device.OpenStream();
        using var buffer = first.Allocate(16);
        var error = Assert.Throws<InvalidOperationException>(() => second.Fill(new BufferView(buffer, 0, 16), 1f));
        Assert.Contains("another backend", error.Message, StringComparison.Ordinal);
        using var target = second.Allocate(16);
        Assert.Throws<InvalidOperationException>(() => buffer.CopyTo(0, target, 0, 16));
    }

    [SkippableTheory]
    [MemberData(nameof(DeviceNames))]
    public void Streams_and_the_backend_they_came_from_may_be_disposed_in_any_order(string kind)
    {
        var device = Open(kind);
        var first = device.OpenStream();
        var second = device.OpenStream();
        var input = Data(3);
        var expected = Chain(first, input);

        // The streams keep the device open after the backend they came from is gone.
        device.Dispose();
        Assert.Throws<ObjectDisposedException>(() => device.OpenStream());
        Assert.Equal(expected, Chain(first, input));

        // A tensor that outlives its backend may still be given back; disposing twice is harmless.
        var leftover = first.Allocate(100);
        first.Dispose();
        leftover.Dispose();
        first.Dispose();

        Assert.Equal(expected, Chain(second, input));
        second.Dispose();
        device.Dispose();
    }

    // Products and sums fed back into each other, with a buffer rented and given back each round: a pool or a
    // queue shared by mistake shows as results that differ from a run alone. (Elementwise kernels: ILGPU's CPU
    // accelerator simulates every thread of a group, so a GEMM's 256-thread groups would make this slow.)
    private static float[] Chain(IKernelBackend backend, float[] input)
    {
        int[] shape = [input.Length];
        using var x = backend.Allocate(input.Length);
        using var weights = backend.Allocate(input.Length);
        x.CopyFrom(input, 0);
        weights.CopyFrom(input, 0);
        var (vx, vw) = (new BufferView(x, 0, input.Length), new BufferView(weights, 0, input.Length));
        for (var round = 0; round < 3; round++)
        {
            using var product = backend.Allocate(input.Length);
            var vp = new BufferView(product, 0, input.Length);
            backend.Binary(BinaryOp.Mul, vx, shape, vw, shape, vp, shape);
            backend.Binary(BinaryOp.Add, vp, shape, vw, shape, vx, shape);
        }

        var result = new float[input.Length];
        x.CopyTo(0, result);
        return result;
    }

    private static float[] Data(int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, Size).Select(_ => (float)(random.NextDouble() * 2 - 1))];
    }

    // The registry's backend, which lives as long as the test run (its kernels compile once); its streams are the tests' own.
    private static IMultiStreamBackend Registered(string kind)
    {
        GpuBackend.Register();
        try
        {
            return Assert.IsAssignableFrom<IMultiStreamBackend>(KernelBackends.For(DeviceOf(kind)));
        }
        catch (DeviceUnavailableException e) when (kind == GpuBackend.CudaKind)
        {
            throw new SkipException(e.Message);
        }
    }

    private static Device DeviceOf(string kind) =>
        kind == GpuBackend.CudaKind ? Device.Parse(Environment.GetEnvironmentVariable("SALIENT_TEST_CUDA") is { Length: > 0 } chosen ? chosen : "cuda") : new Device(kind);

    // A backend of the test's own, to dispose.
    private static GpuBackend Open(string kind)
    {
        try
        {
            return GpuBackend.Open(DeviceOf(kind));
        }
        catch (DeviceUnavailableException e) when (kind == GpuBackend.CudaKind)
        {
            throw new SkipException(e.Message);
        }
    }
}
