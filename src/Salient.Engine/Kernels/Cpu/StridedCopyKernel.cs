using System.Numerics.Tensors;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// The CPU's data movement (<see cref="IKernelBackend.StridedCopy"/>, <see cref="IKernelBackend.IndexedGather"/>):
/// each index of a shape reads one place and writes another at offset + Σ index·stride. Neighbouring
/// dimensions that both sides continue are merged and unit ones dropped, so the inner loop is a row
/// copy wherever it can be. <see cref="Gather{T}"/> serves constant folding at plan time too (any element type).
/// </summary>
internal static class StridedCopyKernel
{
    public static void Run(ReadOnlySpan<int> shape, ReadOnlySpan<float> source, int sourceOffset, ReadOnlySpan<int> sourceStrides,
        Span<float> destination, int destinationOffset, ReadOnlySpan<int> destinationStrides, bool accumulate)
    {
        var count = DataMovementChecks.StridedCopy(shape, source.Length, sourceOffset, sourceStrides, destination.Length, destinationOffset, destinationStrides);
        if (count == 0)
        {
            return;
        }

        var (dims, from, to) = Collapse(shape, sourceStrides, destinationStrides);
        var inner = dims[^1];
        var index = new int[dims.Length];
        for (long r = 0, rows = count / inner; r < rows; r++)
        {
            int s = sourceOffset, t = destinationOffset;
            for (var d = 0; d < dims.Length - 1; d++)
            {
                s += index[d] * from[d];
                t += index[d] * to[d];
            }

            if (from[^1] == 1 && to[^1] == 1)
            {
                var target = destination.Slice(t, inner);
                if (accumulate)
                {
                    TensorPrimitives.Add(target, source.Slice(s, inner), target);
                }
                else
                {
                    source.Slice(s, inner).CopyTo(target);
                }
            }
            else if (accumulate && to[^1] == 0 && from[^1] == 1)
            {
                // A row summed into one place (the gradient of a broadcast).
                destination[t] += TensorPrimitives.Sum(source.Slice(s, inner));
            }
            else if (!accumulate && from[^1] == 0 && to[^1] == 1)
            {
                destination.Slice(t, inner).Fill(source[s]);
            }
            else
            {
                for (var i = 0; i < inner; i++)
                {
                    ref var place = ref destination[t + (i * to[^1])];
                    place = accumulate ? place + source[s + (i * from[^1])] : source[s + (i * from[^1])];
                }
            }

            Next(index, dims);
        }
    }

    /// <summary>output[i] = source[offset + Σ index_d·strides[d]] for every index of <paramref name="shape"/>, in row-major order (host values at plan time).</summary>
    public static void Gather<T>(ReadOnlySpan<T> source, int offset, ReadOnlySpan<int> strides, ReadOnlySpan<int> shape, Span<T> output)
    {
        if (output.IsEmpty)
        {
            return;
        }

        var (dims, from, _) = Collapse(shape, strides, Dense(shape));
        var inner = dims[^1];
        var index = new int[dims.Length];
        for (var r = 0; r < output.Length / inner; r++)
        {
            var at = offset;
            for (var d = 0; d < dims.Length - 1; d++)
            {
                at += index[d] * from[d];
            }

            var row = output.Slice(r * inner, inner);
            for (var i = 0; i < inner; i++)
            {
                row[i] = source[at + (i * from[^1])];
            }

            Next(index, dims);
        }
    }

    public static void IndexedGather(int[] indices, float fill, ReadOnlySpan<float> input, Span<float> output)
    {
        DataMovementChecks.Indexed(indices, input.Length, output.Length);
        for (var i = 0; i < output.Length; i++)
        {
            output[i] = indices[i] >= 0 ? input[indices[i]] : fill;
        }
    }

    public static void IndexedScatterAdd(int[] indices, ReadOnlySpan<float> gradient, Span<float> target)
    {
        DataMovementChecks.Indexed(indices, target.Length, gradient.Length);
        for (var i = 0; i < indices.Length; i++)
        {
            if (indices[i] >= 0)
            {
                target[indices[i]] += gradient[i];
            }
        }
    }

    /// <summary>Row-major strides of <paramref name="shape"/>.</summary>
    public static int[] Dense(ReadOnlySpan<int> shape)
    {
        var strides = new int[shape.Length];
        for (int d = shape.Length - 1, s = 1; d >= 0; s *= shape[d], d--)
        {
            strides[d] = s;
        }

        return strides;
    }

    // Advances a row-major index over all dimensions but the innermost.
    private static void Next(int[] index, int[] dims)
    {
        for (var d = dims.Length - 2; d >= 0 && ++index[d] == dims[d]; d--)
        {
            index[d] = 0;
        }
    }

    /// <summary>Drops unit dimensions and merges neighbours that both sides continue (stride = next stride × next extent, 0 included).</summary>
    private static (int[] Dims, int[] From, int[] To) Collapse(ReadOnlySpan<int> shape, ReadOnlySpan<int> from, ReadOnlySpan<int> to)
    {
        var dims = new List<int>();
        var a = new List<int>();
        var b = new List<int>();
        for (var d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 1)
            {
                continue;
            }

            if (dims.Count > 0 && a[^1] == from[d] * shape[d] && b[^1] == to[d] * shape[d])
            {
                dims[^1] *= shape[d];
                (a[^1], b[^1]) = (from[d], to[d]);
                continue;
            }

            dims.Add(shape[d]);
            a.Add(from[d]);
            b.Add(to[d]);
        }

        return dims.Count == 0 ? ([1], [0], [0]) : ([.. dims], [.. a], [.. b]);
    }
}
