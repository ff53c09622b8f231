using System.Buffers;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Salient.Engine.Devices;
using Salient.Engine.Kernels;

namespace Salient.Engine.Tests.Kernels;

public class PreparedWeightsTests
{
    // Indices into Conv2dTests.Geometries: padded 3×3 (im2col), grouped and dilated, 1×1 direct, depthwise, 3×3 (Winograd).
    public static readonly TheoryData<string, int> Cases = Backends.Cross(Backends.GemmNames, [0, 2, 3, 7, 13]);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Cached_weights_give_per_call_results_across_batches_and_directions(string name, int index)
    {
        var backend = Backends.Get(name);
        var g = Conv2dTests.Geometry(Conv2dTests.Geometries[index]);
        var one = g with { Batch = 1 };
        var reads = new CountedReads(Reference.Random(g.OutChannels * (g.InChannels / g.Groups) * g.KernelHeight * g.KernelWidth, 70 + index));
        var weight = BufferView.Host(reads.Memory);
        var bias = Reference.Random(g.OutChannels, 71 + index);
        var prepared = new PreparedWeights();
        var act = new FusedActivation(ActivationKind.Relu);

        // Two batch sizes (two plans of one model) and the input gradient all read the one cache.
        foreach (var geometry in new[] { g, one, g })
        {
            var input = Reference.Random(geometry.Batch * geometry.InChannels * geometry.InHeight * geometry.InWidth, 72 + index);
            var output = new float[geometry.Batch * geometry.OutChannels * geometry.OutHeight * geometry.OutWidth];
            backend.Conv2d(geometry, input, weight, bias, output, act, prepared: prepared);
            Reference.AssertClose(Reference.Conv2d(geometry, input, weight.Span.ToArray(), bias, act), output);
        }

        var packsForward = prepared.Count;
        var readsForward = reads.Pins;
        var dy = Reference.Random(g.Batch * g.OutChannels * g.OutHeight * g.OutWidth, 73 + index);
        for (var pass = 0; pass < 2; pass++)
        {
            var dx = new float[g.Batch * g.InChannels * g.InHeight * g.InWidth];
            backend.Conv2dBackwardData(g, weight, dy, dx, prepared);
            Reference.AssertClose(Reference.Conv2dBackwardData(g, weight.Span.ToArray(), dy), dx);
        }

        // The managed GEMM keeps the forward pack, and Winograd its transforms both ways; the input
        // gradient's transposed GEMM pack is made per call. OpenBLAS packs inside each product and depthwise
        // convolutions run without a GEMM, so neither keeps anything. A 1×1 convolution's forward pass runs
        // the pointwise kernel instead (OpenBLAS included), with AVX-512 where allowed, else with AVX2 and FMA
        // (which every AVX-512 CPU has), and it keeps its own pack.
        var keeps = !backend.UsesOpenBlas && g.Groups != g.InChannels;
        var pointwise = index == 3 && Avx2.IsSupported && Fma.IsSupported;
        var winogradKept = index == 13 && keeps;
        Assert.Equal(keeps || pointwise ? 1 : 0, packsForward);
        Assert.Equal(packsForward + (winogradKept ? 1 : 0), prepared.Count);

        // The weights are read only to make a kept form, else on every call: folded weights are computed
        // when read, so a model whose forms are kept reads (folds) them once.
        Assert.Equal(keeps || pointwise ? 1 : 3, readsForward);
        Assert.Equal(readsForward + (winogradKept ? 1 : 2), reads.Pins);
    }

    [Fact]
    public void Each_buffer_range_and_form_is_prepared_once_and_failures_are_not_kept()
    {
        var prepared = new PreparedWeights();
        var weights = BufferView.Host(new float[8]);
        var made = 0;
        object Make() => new object[] { Interlocked.Increment(ref made) };

        Parallel.For(0, 16, _ => prepared.GetOrAdd(weights, "form", Make));
        var first = prepared.GetOrAdd(weights, "form", Make);
        Assert.Equal(1, made);
        Assert.NotSame(first, prepared.GetOrAdd(weights, "other form", Make));
        Assert.NotSame(first, prepared.GetOrAdd(weights.Slice(0, 4), "form", Make));
        Assert.NotSame(first, prepared.GetOrAdd(BufferView.Host(new float[8]), "form", Make));
        Assert.Equal(4, prepared.Count);

        Assert.Throws<InvalidOperationException>(() => prepared.GetOrAdd<object>(weights, "failing", () => throw new InvalidOperationException("no memory")));
        Assert.Same(first, prepared.GetOrAdd(weights, "failing", () => first));
        Assert.Throws<ArgumentException>(() => prepared.GetOrAdd(default, "form", Make));
    }

    // Weights that count how often a kernel pins them to read them.
    private sealed class CountedReads(float[] values) : MemoryManager<float>
    {
        public int Pins { get; private set; }

        public override Span<float> GetSpan() => values;

        public override unsafe MemoryHandle Pin(int elementIndex = 0)
        {
            Pins++;
            var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
            return new MemoryHandle((float*)handle.AddrOfPinnedObject() + elementIndex, handle);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
