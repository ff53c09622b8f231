using ILGPU;
using ILGPU.Runtime;
using Salient.Engine.Kernels;
using Salient.Engine.Tests.Kernels;

namespace Salient.Engine.Cuda.Tests;

/// <summary>
/// The data-movement and normalisation kernels (strided copies, index maps, row reductions, softmax on
/// rows, row normalisation, unary functions, and each one's backward) against the CPU backend.
/// </summary>
public class DataMovementTests
{
    public static readonly TheoryData<string, int> CopyCases = Devices.Cases(6);

    // Shape, source offset and strides, destination offset and strides, accumulate; over buffers of 120 values.
    private static readonly (int[] Shape, int From, int[] FromStrides, int To, int[] ToStrides, bool Accumulate)[] s_copies =
    [
        ([4, 5, 6], 0, [1, 4, 20], 0, [30, 6, 1], false),      // a transpose
        ([2, 3, 4], 119, [-60, -20, -2], 0, [12, 4, 1], false), // a reversed, stepped slice
        ([3, 5, 8], 7, [0, 8, 1], 0, [40, 8, 1], false),        // a broadcast read
        ([3, 5, 8], 0, [40, 8, 1], 7, [0, 8, 1], true),         // its gradient: three rows summed into one place
        ([2, 10], 0, [10, 1], 5, [20, 1], false),               // a concat's part into the whole
        ([4, 3, 2], 1, [24, 8, 4], 3, [1, 4, 12], true),        // both sides strided, accumulated
    ];

    [SkippableTheory]
    [MemberData(nameof(CopyCases))]
    public void Strided_copies_match_the_cpu_backend(string device, int index)
    {
        var d = Devices.Get(device);
        var (shape, from, fromStrides, to, toStrides, accumulate) = s_copies[index];
        var source = Reference.Random(120, 1);
        var start = Reference.Random(120, 2);
        var expected = (float[])start.Clone();
        Devices.Cpu.StridedCopy(shape, source, from, fromStrides, expected, to, toStrides, accumulate);

        Reference.AssertClose(expected, d.Run(start, (v, o) => d.Kernels.StridedCopy(shape, v[0], from, fromStrides, o, to, toStrides, accumulate), source));
    }

    [Fact]
    public void A_strided_copy_outside_its_views_is_refused_before_it_runs()
    {
        var error = Assert.Throws<ArgumentException>(() => Devices.Cpu.StridedCopy([3, 4], new float[12], 1, [4, 1], new float[12], 0, [4, 1], false));
        Assert.Contains("source", error.Message, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void Index_maps_gather_and_scatter_add_as_on_the_cpu(string device)
    {
        var d = Devices.Get(device);
        // Reflect-padding one row of 5 by 2 on each side, with two constant cells: indices repeat.
        int[] indices = [2, 1, 0, 1, 2, 3, 4, 3, 2, -1, -1];
        var x = Reference.Random(5, 1);
        var gathered = new float[indices.Length];
        Devices.Cpu.IndexedGather(indices, 0.5f, x, gathered);
        var gradient = Reference.Random(indices.Length, 2);
        var scattered = new float[5];
        Devices.Cpu.IndexedScatterAdd(indices, gradient, scattered);

        using var map = d.Device.Accelerator.Allocate1D(indices);
        Reference.AssertClose(gathered, d.Run(new float[indices.Length], (v, o) => d.Kernels.IndexedGather(map.View, 0.5f, v[0], o), x));
        Reference.AssertClose(scattered, d.Run(new float[5], (v, o) => d.Kernels.IndexedScatterAdd(map.View, v[0], o), gradient));
    }

    public static readonly TheoryData<string, int> ReductionCases = Devices.Cases(5);

    [SkippableTheory]
    [MemberData(nameof(ReductionCases))]
    public void Row_reductions_and_their_gradients_match_the_cpu_backend(string device, int index)
    {
        var d = Devices.Get(device);
        var (reduction, firstOnly) = index == 4 ? (RowReduction.Max, true) : ((RowReduction)index, false);
        const int rows = 3, cols = 300;
        // Rounded values, so maxima and minima tie within a row.
        var x = Reference.Random(rows * cols, 3).Select(v => MathF.Round(v * 4f)).ToArray();
        var y = new float[rows];
        Devices.Cpu.ReduceRows(reduction, rows, cols, x, y);
        var dy = Reference.Random(rows, 4);
        var dx = new float[x.Length];
        Devices.Cpu.ReduceRowsBackward(reduction, firstOnly, rows, cols, x, y, dy, dx);

        Reference.AssertClose(y, d.Run(new float[rows], (v, o) => d.Kernels.ReduceRows(reduction, rows, cols, v[0], o), x));
        Reference.AssertClose(dx, d.Run(new float[x.Length], (v, o) => d.Kernels.ReduceRowsBackward(reduction, firstOnly, rows, cols, v[0], v[1], v[2], o), x, y, dy));
    }

    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void Log_softmax_and_the_softmax_gradients_match_the_cpu_backend(string device)
    {
        var d = Devices.Get(device);
        const int rows = 2, cols = 300;
        var x = Reference.Random(rows * cols, 5).Select(v => v * 20f).ToArray();
        var dy = Reference.Random(x.Length, 6);
        foreach (var log in new[] { false, true })
        {
            var y = new float[x.Length];
            if (log)
            {
                Devices.Cpu.LogSoftmax(rows, cols, x, y);
                Reference.AssertClose(y, d.Run(new float[x.Length], (v, o) => d.Kernels.LogSoftmax(rows, cols, v[0], o), x));
            }
            else
            {
                Devices.Cpu.Softmax(rows, cols, x, y);
            }

            var dx = new float[x.Length];
            Devices.Cpu.SoftmaxBackward(log, rows, cols, y, dy, dx);
            Reference.AssertClose(dx, d.Run(new float[x.Length], (v, o) => d.Kernels.SoftmaxBackward(log, rows, cols, v[0], v[1], o), y, dy));
        }
    }

    public static readonly TheoryData<string, int> NormalizationCases = Devices.Cases(3);

    [SkippableTheory]
    [MemberData(nameof(NormalizationCases))]
    public void Row_normalisation_and_its_input_gradient_match_the_cpu_backend(string device, int index)
    {
        var d = Devices.Get(device);
        // Layer norm with scale and bias, layer norm without either, instance norm over 2 images of 3 channels.
        var (affine, rows, cols, parameters) = index switch
        {
            0 => (RowAffine.PerColumn, 4, 300, 300),
            1 => (RowAffine.PerColumn, 4, 300, 0),
            _ => (RowAffine.PerRow, 6, 49, 3),
        };
        var x = Reference.Random(rows * cols, 7).Select((v, i) => v + (i % 3)).ToArray();
        var scale = Reference.Random(parameters, 8);
        var bias = Reference.Random(parameters, 9);
        var y = new float[x.Length];
        Devices.Cpu.NormalizeRows(affine, rows, cols, 1e-5f, x, scale, bias, y);
        var dy = Reference.Random(x.Length, 10);
        var dx = new float[x.Length];
        Devices.Cpu.NormalizeRowsBackward(affine, rows, cols, 1e-5f, x, scale, dy, dx, default, default);

        Reference.AssertClose(y, d.Run(new float[x.Length], (v, o) => d.Kernels.NormalizeRows(affine, rows, cols, 1e-5f, v[0], v[1], v[2], o), x, scale, bias));
        Reference.AssertClose(dx, d.Run(new float[x.Length], (v, o) => d.Kernels.NormalizeRowsBackward(affine, rows, cols, 1e-5f, v[0], v[1], v[2], o), x, scale, dy));
    }

    public static readonly TheoryData<string, int> UnaryCases = Devices.Cases(Enum.GetValues<UnaryFunction>().Length);

    [SkippableTheory]
    [MemberData(nameof(UnaryCases))]
    public void Unary_functions_and_their_gradients_match_the_cpu_backend(string device, int index)
    {
        var d = Devices.Get(device);
        var function = (UnaryFunction)index;
        var positive = function is UnaryFunction.Sqrt or UnaryFunction.Log or UnaryFunction.Reciprocal;
        var x = Reference.Random(1000, 11).Select(v => positive ? (v * 2f) + 2.5f : v * 4f).ToArray();
        var y = new float[x.Length];
        Devices.Cpu.Unary(function, x, y);
        var dy = Reference.Random(x.Length, 12);
        var dx = new float[x.Length];
        Devices.Cpu.UnaryBackward(function, x, y, dy, dx);

        Reference.AssertClose(y, d.Run(new float[x.Length], (v, o) => d.Kernels.Unary(function, v[0], o), x), 1e-5f);
        Reference.AssertClose(dx, d.Run(new float[x.Length], (v, o) => d.Kernels.UnaryBackward(function, v[0], v[1], v[2], o), x, y, dy), 1e-5f);
    }

    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void Select_compare_and_pow_match_the_cpu_backend(string device)
    {
        var d = Devices.Get(device);
        const int n = 500;
        var a = Reference.Random(n, 13).Select(v => MathF.Round(v * 3f)).ToArray();
        var b = Reference.Random(n, 14).Select(v => MathF.Round(v * 3f)).ToArray();
        foreach (var comparison in Enum.GetValues<Comparison>())
        {
            var compared = new float[n];
            Devices.Cpu.Compare(comparison, a, b, compared);
            Assert.Equal(compared, d.Run(new float[n], (v, o) => d.Kernels.Compare(comparison, v[0], v[1], o), a, b));
        }

        var selected = new float[n];
        Devices.Cpu.Choose(a, b, default, selected);
        Assert.Equal(selected, d.Run(new float[n], (v, o) => d.Kernels.Choose(v[0], v[1], default, o), a, b));

        var x = Reference.Random(n, 15).Select(v => v + 1.5f).ToArray();
        var exponent = Reference.Random(n, 16).Select(v => v * 3f).ToArray();
        var dy = Reference.Random(n, 17);
        foreach (var p in new[] { 2f, 0.5f, 1f, -1.5f })
        {
            var powered = new float[n];
            Devices.Cpu.Pow(x, new[] { p }, powered);
            Reference.AssertClose(powered, d.Run(new float[n], (v, o) => d.Kernels.Pow(v[0], v[1], o), x, new[] { p }), 1e-5f);
        }

        var y = new float[n];
        Devices.Cpu.Pow(x, exponent, y);
        var dx = new float[n];
        var dExponent = new float[n];
        Devices.Cpu.PowBackward(x, exponent, dy, dx, dExponent);
        Reference.AssertClose(y, d.Run(new float[n], (v, o) => d.Kernels.Pow(v[0], v[1], o), x, exponent), 1e-5f);
        Reference.AssertClose(dx, d.Run(new float[n], (v, o) => d.Kernels.PowBackward(v[0], v[1], v[2], o, default), x, exponent, dy), 1e-5f);
        Reference.AssertClose(dExponent, d.Run(new float[n], (v, o) => d.Kernels.PowBackward(v[0], v[1], v[2], default, o), x, exponent, dy), 1e-5f);
    }

    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void Axis_resampling_and_its_adjoint_match_the_cpu_backend(string device)
    {
        var d = Devices.Get(device);
        // A linear resampling of 5 to 8 along the middle axis of [3, 5, 4]: two taps per output.
        int[] indices = [0, 1, 0, 1, 1, 2, 1, 2, 2, 3, 2, 3, 3, 4, 4, 4];
        var weights = Reference.Random(indices.Length, 18);
        var resampling = new AxisResampling(3, 5, 8, 4, 2, indices, weights);
        var x = Reference.Random(3 * 5 * 4, 19);
        var y = new float[3 * 8 * 4];
        Devices.Cpu.ResampleAxis(resampling, x, y);
        var dy = Reference.Random(y.Length, 20);
        var dx = new float[x.Length];
        Devices.Cpu.ResampleAxisBackward(resampling, dy, dx);

        using var map = d.Device.Accelerator.Allocate1D(indices);
        using var taps = d.Device.Accelerator.Allocate1D(weights);
        Reference.AssertClose(y, d.Run(new float[y.Length], (v, o) => d.Kernels.ResampleAxis(resampling, map.View, taps.View, v[0], o), x));
        Reference.AssertClose(dx, d.Run(Reference.Random(dx.Length, 21), (v, o) => d.Kernels.ResampleAxisBackward(resampling, map.View, taps.View, v[0], o), dy));
    }

    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void Contractions_match_the_cpu_backend(string device)
    {
        var d = Devices.Get(device);
        // "bij,bjk->bik" over b=2, i=3, j=4, k=5, letters b, i, k kept and j summed; then "bij->bj" of one operand.
        int[] shape = [2, 3, 5, 4];
        int[] aStrides = [12, 4, 0, 1];
        int[] bStrides = [20, 0, 1, 5];
        var a = Reference.Random(24, 22);
        var b = Reference.Random(40, 23);
        var expected = new float[30];
        Devices.Cpu.Contract(shape, 3, a, aStrides, b, bStrides, expected);
        Reference.AssertClose(expected, d.Run(new float[30], (v, o) => d.Kernels.Contract(shape, 3, v[0], aStrides, v[1], bStrides, o), a, b));

        int[] sumShape = [2, 4, 3];
        int[] sumStrides = [12, 1, 4];
        var summed = new float[8];
        Devices.Cpu.Contract(sumShape, 2, a, sumStrides, default, [], summed);
        Reference.AssertClose(summed, d.Run(new float[8], (v, o) => d.Kernels.Contract(sumShape, 2, v[0], sumStrides, default, [], o), a));
    }
}
