using System.Numerics.Tensors;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// The backward of broadcasting: sums a tensor over the axes along which a smaller shape was
/// broadcast to reach it. Adjacent axes that are both kept or both summed merge, so the innermost
/// run is contiguous and reduces with one vectorised sum (summed) or add (kept).
/// </summary>
internal static class ReduceToShapeKernel
{
    public static void Run(ReadOnlySpan<float> input, ReadOnlySpan<int> inShape, Span<float> output, ReadOnlySpan<int> outShape)
    {
        var rank = inShape.Length;
        var offset = rank - outShape.Length;
        long inCount = 1;
        for (var d = Math.Min(offset, 0); d < rank; d++)
        {
            if (d < 0 || (d >= offset && outShape[d - offset] != 1 && outShape[d - offset] != inShape[d]))
            {
                throw new ArgumentException($"Shape [{Tensor.FormatShape(outShape)}] does not broadcast to [{Tensor.FormatShape(inShape)}].");
            }

            inCount *= inShape[d];
        }

        long outCount = 1;
        foreach (var extent in outShape)
        {
            outCount *= extent;
        }

        if (input.Length != inCount || output.Length != outCount)
        {
            throw new ArgumentException($"Reducing [{Tensor.FormatShape(inShape)}] to [{Tensor.FormatShape(outShape)}] got {input.Length} inputs and room for {output.Length}.");
        }

        // Merged axes, outermost first; extent-1 axes drop out. A lone element keeps one axis.
        Span<int> extents = stackalloc int[Math.Max(rank, 1)];
        Span<bool> summed = stackalloc bool[extents.Length];
        var dims = 0;
        for (var d = 0; d < rank; d++)
        {
            var sum = d < offset || outShape[d - offset] == 1;
            if (inShape[d] == 1)
            {
                continue;
            }

            if (dims > 0 && summed[dims - 1] == sum)
            {
                extents[dims - 1] *= inShape[d];
            }
            else
            {
                (extents[dims], summed[dims]) = (inShape[d], sum);
                dims++;
            }
        }

        if (dims == 0)
        {
            (extents[0], summed[0], dims) = (1, false, 1);
        }

        // Output strides of the merged axes: 0 where summed.
        Span<int> strides = stackalloc int[dims];
        for (int d = dims - 1, s = 1; d >= 0; d--)
        {
            strides[d] = summed[d] ? 0 : s;
            s *= summed[d] ? 1 : extents[d];
        }

        output.Clear();
        var inner = extents[dims - 1];
        Span<int> index = stackalloc int[dims];
        var target = 0;
        for (var start = 0; start < input.Length; start += inner)
        {
            var run = input.Slice(start, inner);
            if (summed[dims - 1])
            {
                output[target] += TensorPrimitives.Sum(run);
            }
            else
            {
                var dst = output.Slice(target, inner);
                TensorPrimitives.Add(dst, run, dst);
            }

            for (var d = dims - 2; d >= 0; d--)
            {
                target += strides[d];
                if (++index[d] < extents[d])
                {
                    break;
                }

                target -= strides[d] * index[d];
                index[d] = 0;
            }
        }
    }
}
