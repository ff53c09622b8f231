using System.Numerics.Tensors;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>The CPU's map arithmetic for the explanation methods (<see cref="IKernelBackend.WeightedSum"/> and the rest).</summary>
internal static class MapKernels
{
    public static void WeightedSum(int channels, int plane, ReadOnlySpan<float> maps, ReadOnlySpan<float> weights, Span<float> output)
    {
        Check(channels * plane, maps.Length, "maps");
        Check(plane, output.Length, "output");
        Check(channels, weights.Length, "weights");
        output.Clear();
        for (var c = 0; c < channels; c++)
        {
            TensorPrimitives.MultiplyAdd(maps.Slice(c * plane, plane), weights[c], output, output);
        }
    }

    public static void PlaneMeans(int channels, int plane, ReadOnlySpan<float> input, Span<float> output)
    {
        Check(channels * plane, input.Length, "input");
        Check(channels, output.Length, "output");
        for (var c = 0; c < channels; c++)
        {
            output[c] = TensorPrimitives.Sum(input.Slice(c * plane, plane)) / plane;
        }
    }

    public static void ChannelMaxAbs(int channels, int plane, ReadOnlySpan<float> input, Span<float> output)
    {
        Check(channels * plane, input.Length, "input");
        Check(plane, output.Length, "output");
        output.Clear();
        for (var c = 0; c < channels; c++)
        {
            var source = input.Slice(c * plane, plane);
            for (var i = 0; i < plane; i++)
            {
                output[i] = Math.Max(output[i], Math.Abs(source[i]));
            }
        }
    }

    public static void Map(MapFunction function, ReadOnlySpan<float> input, Span<float> output)
    {
        Check(input.Length, output.Length, "output");
        switch (function.Kind)
        {
            case MapFunctionKind.Relu:
                TensorPrimitives.Max(input, 0f, output);
                break;
            case MapFunctionKind.Abs:
                TensorPrimitives.Abs(input, output);
                break;
            case MapFunctionKind.Scale:
                TensorPrimitives.Multiply(input, function.Parameter, output);
                break;
            case MapFunctionKind.Square:
                TensorPrimitives.Multiply(input, input, output);
                break;
            case MapFunctionKind.ScaledTanh:
                TensorPrimitives.Multiply(input, function.Parameter, output);
                TensorPrimitives.Tanh(output, output);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(function), function.Kind, "Unknown map function.");
        }
    }

    public static void Normalize(MapNormalization normalization, float epsilon, int planes, Span<float> map)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(planes, 1);
        if (map.Length % planes != 0)
        {
            throw new ArgumentException($"{map.Length} values do not split into {planes} planes.", nameof(map));
        }

        var size = map.Length / planes;
        for (var p = 0; p < planes && size > 0; p++)
        {
            var plane = map.Slice(p * size, size);
            switch (normalization)
            {
                case MapNormalization.MinMax:
                    TensorPrimitives.Subtract(plane, TensorPrimitives.Min(plane), plane);
                    TensorPrimitives.Multiply(plane, 1f / (TensorPrimitives.Max(plane) + epsilon), plane);
                    break;
                case MapNormalization.DivideByMax:
                    TensorPrimitives.Multiply(plane, 1f / (TensorPrimitives.Max(plane) + epsilon), plane);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(normalization), normalization, "Unknown normalisation.");
            }
        }
    }

    public static void Accumulate(MapFusion fusion, ReadOnlySpan<float> next, Span<float> accumulator)
    {
        Check(accumulator.Length, next.Length, "next");
        switch (fusion)
        {
            case MapFusion.Sum:
                TensorPrimitives.Add(accumulator, next, accumulator);
                break;
            case MapFusion.Max:
                TensorPrimitives.Max(accumulator, next, accumulator);
                break;
            case MapFusion.Product:
                TensorPrimitives.Multiply(accumulator, next, accumulator);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(fusion), fusion, "Unknown fusion.");
        }
    }

    internal static void Check(int expected, int actual, string name)
    {
        if (expected != actual)
        {
            throw new ArgumentException($"The {name} holds {actual} values; {expected} expected.", name);
        }
    }
}
