namespace Salient.Engine.Graph;

/// <summary>
/// A value known before the input arrives: an initializer, a Constant node's output, or a folded
/// shape computation. Float data lives in a tensor (often a view over the model file's bytes);
/// integer data (shapes, axes, pads) in a long array.
/// </summary>
public sealed class ConstantValue
{
    private ConstantValue(int[] shape, Tensor? floats, long[]? ints)
    {
        Shape = shape;
        Floats = floats;
        Ints = ints;
    }

    /// <summary>The value's shape.</summary>
    public int[] Shape { get; }

    /// <summary>Float data, or null for an integer value.</summary>
    public Tensor? Floats { get; }

    /// <summary>Integer data, or null for a float value.</summary>
    public long[]? Ints { get; }

    /// <summary>Whether the value holds integers.</summary>
    public bool IsInteger => Ints is not null;

    /// <summary>A float value held in <paramref name="tensor"/> (kept, not copied).</summary>
    public static ConstantValue FromFloats(Tensor tensor) => new(tensor.ShapeArray(), tensor, null);

    /// <summary>An integer value of shape <paramref name="shape"/>.</summary>
    public static ConstantValue FromInts(long[] values, int[] shape) => new(shape, null, values);

    /// <summary>The values as integers, for attributes passed as inputs (axes, pads, shapes).</summary>
    public long[] AsInts()
    {
        if (Ints is not null)
        {
            return Ints;
        }

        var span = Floats!.Span;
        var result = new long[span.Length];
        for (var i = 0; i < span.Length; i++)
        {
            result[i] = (long)span[i];
        }

        return result;
    }

    /// <summary>The values as floats, for scalars passed as inputs (Clip's min and max).</summary>
    public float[] AsFloats()
    {
        if (Floats is not null)
        {
            return Floats.Span.ToArray();
        }

        return Array.ConvertAll(Ints!, v => (float)v);
    }
}
