namespace Salient.Engine.Graph.Operators;

/// <summary>
/// Index arithmetic for the operators that move values without computing them (Transpose, Slice,
/// Expand, Tile, Gather, Split, Concat): each output element reads the input at
/// offset + Σ index·stride, and the backward pass adds each gradient back at the same place.
/// </summary>
internal static class Strided
{
    /// <summary>Row-major strides of <paramref name="shape"/>.</summary>
    public static int[] Strides(ReadOnlySpan<int> shape)
    {
        var strides = new int[shape.Length];
        for (int d = shape.Length - 1, s = 1; d >= 0; s *= shape[d], d--)
        {
            strides[d] = s;
        }

        return strides;
    }

    /// <summary>The node's <c>axis</c> attribute (default <paramref name="fallback"/>) for rank <paramref name="rank"/>, made non-negative; throws when out of range.</summary>
    public static int Axis(GraphNode node, PlanContext context, int rank, long fallback)
    {
        var axis = node.GetInt("axis", fallback);
        var resolved = axis < 0 ? axis + rank : axis;
        return resolved >= 0 && resolved < rank ? (int)resolved : throw context.Error(node, $"axis {axis} is out of range for rank {rank}");
    }

    public static int Product(ReadOnlySpan<int> dims)
    {
        var p = 1;
        foreach (var d in dims)
        {
            p *= d;
        }

        return p;
    }

    /// <summary>output[i] = source[offset + Σ index_d·strides[d]] for every index of <paramref name="shape"/>, in row-major order.</summary>
    public static void Gather<T>(ReadOnlySpan<T> source, int offset, int[] strides, int[] shape, Span<T> output)
    {
        var (dims, steps) = Collapse(shape, strides);
        var inner = dims[^1];
        var step = steps[^1];
        var rows = output.Length / Math.Max(inner, 1);
        var index = new int[dims.Length];
        for (var r = 0; r < rows; r++)
        {
            var at = offset;
            for (var d = 0; d < dims.Length - 1; d++)
            {
                at += index[d] * steps[d];
            }

            var row = output.Slice(r * inner, inner);
            if (step == 1)
            {
                source.Slice(at, inner).CopyTo(row);
            }
            else if (step == 0)
            {
                row.Fill(source[at]);
            }
            else
            {
                for (var i = 0; i < inner; i++)
                {
                    row[i] = source[at + (i * step)];
                }
            }

            for (var d = dims.Length - 2; d >= 0 && ++index[d] == dims[d]; d--)
            {
                index[d] = 0;
            }
        }
    }

    /// <summary>The adjoint of <see cref="Gather{T}"/>: target[offset + Σ index_d·strides[d]] += gradient[i].</summary>
    public static void ScatterAdd(ReadOnlySpan<float> gradient, int[] shape, Span<float> target, int offset, int[] strides)
    {
        var (dims, steps) = Collapse(shape, strides);
        var inner = dims[^1];
        var step = steps[^1];
        var rows = gradient.Length / Math.Max(inner, 1);
        var index = new int[dims.Length];
        for (var r = 0; r < rows; r++)
        {
            var at = offset;
            for (var d = 0; d < dims.Length - 1; d++)
            {
                at += index[d] * steps[d];
            }

            var row = gradient.Slice(r * inner, inner);
            if (step == 1)
            {
                var slice = target.Slice(at, inner);
                System.Numerics.Tensors.TensorPrimitives.Add(slice, row, slice);
            }
            else if (step == 0)
            {
                target[at] += System.Numerics.Tensors.TensorPrimitives.Sum(row);
            }
            else
            {
                for (var i = 0; i < inner; i++)
                {
                    target[at + (i * step)] += row[i];
                }
            }

            for (var d = dims.Length - 2; d >= 0 && ++index[d] == dims[d]; d--)
            {
                index[d] = 0;
            }
        }
    }

    /// <summary>
    /// Copies part <paramref name="index"/> of a tensor of <paramref name="whole"/> shape cut along
    /// <paramref name="axis"/> into pieces of the given extents into its place (<paramref name="toWhole"/>), or back out.
    /// </summary>
    public static void CopyPart<T>(int[] whole, int axis, int[] extents, int index, Span<T> part, Span<T> wholeData, bool toWhole)
    {
        var outer = Product(whole.AsSpan(0, axis));
        var inner = Product(whole.AsSpan(axis + 1));
        var row = whole[axis] * inner;
        var offset = extents.Take(index).Sum() * inner;
        var block = extents[index] * inner;
        for (var o = 0; o < outer; o++)
        {
            var inPart = part.Slice(o * block, block);
            var inWhole = wholeData.Slice((o * row) + offset, block);
            if (toWhole)
            {
                inPart.CopyTo(inWhole);
            }
            else
            {
                inWhole.CopyTo(inPart);
            }
        }
    }

    /// <summary>Drops unit dimensions and merges neighbours that are contiguous in the source, so the inner loop is as long as possible.</summary>
    private static (int[] Dims, int[] Steps) Collapse(int[] shape, int[] strides)
    {
        var dims = new List<int>();
        var steps = new List<int>();
        for (var d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 1)
            {
                continue;
            }

            if (dims.Count > 0 && steps[^1] == strides[d] * shape[d])
            {
                dims[^1] *= shape[d];
                steps[^1] = strides[d];
                continue;
            }

            dims.Add(shape[d]);
            steps.Add(strides[d]);
        }

        return dims.Count == 0 ? ([1], [0]) : ([.. dims], [.. steps]);
    }
}
