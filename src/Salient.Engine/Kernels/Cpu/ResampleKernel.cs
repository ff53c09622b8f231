using System.Numerics.Tensors;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>The CPU's <see cref="IKernelBackend.ResampleAxis"/> and its adjoint: row operations on the inner extent.</summary>
internal static class ResampleKernel
{
    /// <summary>
    /// out[o, j, i] = Σ_t w·in[o, index_t(j), i]; with <paramref name="transpose"/> the adjoint, adding out's
    /// values back into in. The target is cleared first.
    /// </summary>
    public static void Run(AxisResampling a, Span<float> input, Span<float> output, bool transpose)
    {
        a.Validate(input.Length, output.Length);
        var weights = a.Weights.Span;
        var inner = a.Inner;
        (transpose ? input : output).Clear();
        for (var o = 0; o < a.Outer; o++)
        {
            for (var j = 0; j < a.OutSize; j++)
            {
                var target = ((o * a.OutSize) + j) * inner;
                for (var t = 0; t < a.Taps; t++)
                {
                    var w = weights[(j * a.Taps) + t];
                    var source = ((o * a.InSize) + a.Indices[(j * a.Taps) + t]) * inner;
                    if (transpose)
                    {
                        TensorPrimitives.MultiplyAdd(output.Slice(target, inner), w, input.Slice(source, inner), input.Slice(source, inner));
                    }
                    else
                    {
                        TensorPrimitives.MultiplyAdd(input.Slice(source, inner), w, output.Slice(target, inner), output.Slice(target, inner));
                    }
                }
            }
        }
    }
}
