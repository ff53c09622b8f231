namespace Salient.Engine.Kernels.Cpu;

/// <summary>The CPU's <see cref="IKernelBackend.Contract"/>: every index in row-major order, each product added to its output place.</summary>
internal static class ContractKernel
{
    public static void Run(ReadOnlySpan<int> shape, int keptAxes, ReadOnlySpan<float> a, ReadOnlySpan<int> aStrides, ReadOnlySpan<float> b, ReadOnlySpan<int> bStrides, Span<float> output)
    {
        DataMovementChecks.Contraction(shape, keptAxes, a.Length, aStrides, b.Length, bStrides, output.Length);
        output.Clear();
        var rank = shape.Length;
        if (rank == 0)
        {
            output[0] = b.IsEmpty ? a[0] : a[0] * b[0];
            return;
        }

        // The output's strides over every axis: row-major over the kept ones, 0 over the summed ones.
        var outputStrides = new int[rank];
        StridedCopyKernel.Dense(shape[..keptAxes]).CopyTo(outputStrides, 0);
        var inner = shape[^1];
        var index = new int[rank];
        var count = inner == 0 ? 0 : Tensor.CheckedLength(shape) / inner;
        for (var r = 0; r < count; r++)
        {
            int at = 0, fromA = 0, fromB = 0;
            for (var d = 0; d < rank - 1; d++)
            {
                at += index[d] * outputStrides[d];
                fromA += index[d] * aStrides[d];
                fromB += index[d] * (b.IsEmpty ? 0 : bStrides[d]);
            }

            for (var i = 0; i < inner; i++)
            {
                var product = a[fromA + (i * aStrides[^1])];
                if (!b.IsEmpty)
                {
                    product *= b[fromB + (i * bStrides[^1])];
                }

                output[at + (i * outputStrides[^1])] += product;
            }

            for (var d = rank - 2; d >= 0 && ++index[d] == shape[d]; d--)
            {
                index[d] = 0;
            }
        }
    }
}
