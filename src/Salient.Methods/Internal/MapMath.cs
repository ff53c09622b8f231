using System.Numerics.Tensors;
using Salient.Engine;
using Tensor = Salient.Engine.Tensor;
using Salient.Engine.Kernels;

namespace Salient.Methods.Internal;

/// <summary>The post-processing shared by the methods (docs/methods.md, "Conventions shared by every method").</summary>
internal static class MapMath
{
    /// <summary>minmax(a) = (a − min a) / (max(a − min a) + eps), in place.</summary>
    public static void MinMax(Span<float> map, float eps = 1e-7f)
    {
        if (map.IsEmpty)
        {
            return;
        }

        var min = TensorPrimitives.Min(map);
        TensorPrimitives.Subtract(map, min, map);
        TensorPrimitives.Multiply(map, 1f / (TensorPrimitives.Max(map) + eps), map);
    }

    /// <summary>a / (max a + eps), in place.</summary>
    public static void DivideByMax(Span<float> map, float eps)
    {
        if (!map.IsEmpty)
        {
            TensorPrimitives.Multiply(map, 1f / (TensorPrimitives.Max(map) + eps), map);
        }
    }

    public static void Relu(Span<float> map) => TensorPrimitives.Max(map, 0f, map);

    /// <summary>Half-pixel bilinear resize of one map (OpenCV INTER_LINEAR, align_corners=False).</summary>
    public static Tensor Resize(IKernelBackend backend, ReadOnlySpan<float> map, int height, int width, int toHeight, int toWidth)
    {
        var resized = Tensor.Uninitialized(toHeight, toWidth);
        backend.ResizeBilinear(1, height, width, map, toHeight, toWidth, resized.Data, alignCorners: false);
        return resized;
    }

    /// <summary>Gradient-family map: max over channels of |raw|, divided by its maximum (+1e-10).</summary>
    public static Tensor ChannelMaxAbs(ReadOnlySpan<float> raw, int channels, int plane, int height, int width)
    {
        var map = Tensor.Zeros(height, width);
        var span = map.Span;
        for (var c = 0; c < channels; c++)
        {
            var source = raw.Slice(c * plane, plane);
            for (var i = 0; i < plane; i++)
            {
                span[i] = Math.Max(span[i], Math.Abs(source[i]));
            }
        }

        DivideByMax(span, 1e-10f);
        return map;
    }

    /// <summary>Combines per-layer maps at input resolution (disposing them) into the first one.</summary>
    public static Tensor Fuse(List<Tensor> maps, Salient.Methods.LayerFusion fusion)
    {
        var result = maps[0];
        for (var i = 1; i < maps.Count; i++)
        {
            var next = maps[i].Span;
            switch (fusion)
            {
                case Salient.Methods.LayerFusion.Mean:
                    TensorPrimitives.Add(result.Span, next, result.Span);
                    break;
                case Salient.Methods.LayerFusion.Max:
                    TensorPrimitives.Max(result.Span, next, result.Span);
                    break;
                default:
                    TensorPrimitives.Multiply(result.Span, next, result.Span);
                    break;
            }

            maps[i].Dispose();
        }

        if (fusion == Salient.Methods.LayerFusion.Mean && maps.Count > 1)
        {
            TensorPrimitives.Multiply(result.Span, 1f / maps.Count, result.Span);
        }

        return result;
    }

    /// <summary>Pixel indices from the highest map value to the lowest; ties in index order, so the order is deterministic.</summary>
    public static int[] DescendingOrder(ReadOnlySpan<float> map)
    {
        var keys = new float[map.Length];
        var order = new int[map.Length];
        for (var i = 0; i < map.Length; i++)
        {
            keys[i] = -map[i];
            order[i] = i;
        }

        // Array.Sort is not stable; sorting (key, index) pairs makes equal keys keep index order.
        Array.Sort(order, (a, b) => keys[a] != keys[b] ? keys[a].CompareTo(keys[b]) : a.CompareTo(b));
        return order;
    }

    /// <summary>A standard normal sample by Box–Muller: deterministic for a seeded <see cref="Random"/>, unlike Random.Shared.</summary>
    public static float Gaussian(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }

    /// <summary>True when every value is finite.</summary>
    public static bool AllFinite(ReadOnlySpan<float> values)
    {
        foreach (var v in values)
        {
            if (!float.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }
}
