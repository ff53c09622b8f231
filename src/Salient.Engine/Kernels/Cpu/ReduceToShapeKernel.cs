namespace Salient.Engine.Kernels.Cpu;

/// <summary>The backward of broadcasting: sums a tensor over the axes along which a smaller shape was broadcast to reach it.</summary>
internal static class ReduceToShapeKernel
{
    public static void Run(ReadOnlySpan<float> input, ReadOnlySpan<int> inShape, Span<float> output, ReadOnlySpan<int> outShape)
    {
        if (inShape.SequenceEqual(outShape))
        {
            input.CopyTo(output);
            return;
        }

        // Strides of the output seen from the input's axes: 0 where the output has extent 1 or no axis.
        var rank = inShape.Length;
        Span<int> strides = stackalloc int[rank];
        var offset = rank - outShape.Length;
        for (int d = outShape.Length - 1, s = 1; d >= 0; s *= outShape[d], d--)
        {
            if (outShape[d] != 1 && outShape[d] != inShape[d + offset])
            {
                throw new ArgumentException($"Shape [{Tensor.FormatShape(outShape)}] does not broadcast to [{Tensor.FormatShape(inShape)}].");
            }

            strides[d + offset] = outShape[d] == 1 ? 0 : s;
        }

        output.Clear();
        Span<int> index = stackalloc int[rank];
        var target = 0;
        for (var i = 0; i < input.Length; i++)
        {
            output[target] += input[i];
            for (var d = rank - 1; d >= 0; d--)
            {
                target += strides[d];
                if (++index[d] < inShape[d])
                {
                    break;
                }

                target -= strides[d] * index[d];
                index[d] = 0;
            }
        }
    }
}
