using Salient.Engine;
using Tensor = Salient.Engine.Tensor;
using Salient.Engine.Kernels;

namespace Salient.Methods.Internal;

/// <summary>The post-processing shared by the methods (docs/methods.md, "Conventions shared by every method").</summary>
internal static class MapMath
{
    /// <summary>minmax(a) = (a − min a) / (max(a − min a) + eps), in place on the map's device.</summary>
    public static void MinMax(IKernelBackend backend, Tensor map, float eps = 1e-7f) =>
        backend.Normalize(MapNormalization.MinMax, eps, 1, map.Data);

    /// <summary>a / (max a + eps), in place on the map's device.</summary>
    public static void DivideByMax(IKernelBackend backend, Tensor map, float eps) =>
        backend.Normalize(MapNormalization.DivideByMax, eps, 1, map.Data);

    /// <summary>max(a, 0), in place on the map's device.</summary>
    public static void Relu(IKernelBackend backend, Tensor map) =>
        backend.Map(new MapFunction(MapFunctionKind.Relu), map.Data, map.Data);

    /// <summary>Half-pixel bilinear resize of one map [h,w] (OpenCV INTER_LINEAR, align_corners=False): a new map on the same device.</summary>
    public static Tensor Resize(IKernelBackend backend, Tensor map, int toHeight, int toWidth)
    {
        var resized = Tensor.Uninitialized(backend, toHeight, toWidth);
        backend.ResizeBilinear(1, map.Dim(-2), map.Dim(-1), map.Data, toHeight, toWidth, resized.Data, alignCorners: false);
        return resized;
    }

    /// <summary>Gradient-family map of a raw map [C,H,W]: max over channels of |raw|, divided by its maximum (+1e-10); a new [H,W] map on the same device.</summary>
    public static Tensor ChannelMaxAbs(IKernelBackend backend, Tensor raw)
    {
        var (channels, height, width) = (raw.Dim(0), raw.Dim(1), raw.Dim(2));
        var map = Tensor.Uninitialized(backend, height, width);
        backend.ChannelMaxAbs(channels, height * width, raw.Data, map.Data);
        DivideByMax(backend, map, 1e-10f);
        return map;
    }

    /// <summary>Combines per-layer maps at input resolution (disposing them) into the first one, on their device.</summary>
    public static Tensor Fuse(IKernelBackend backend, List<Tensor> maps, Salient.Methods.LayerFusion fusion)
    {
        var combine = fusion switch
        {
            Salient.Methods.LayerFusion.Mean => MapFusion.Sum,
            Salient.Methods.LayerFusion.Max => MapFusion.Max,
            _ => MapFusion.Product,
        };
        var result = maps[0];
        for (var i = 1; i < maps.Count; i++)
        {
            backend.Accumulate(combine, maps[i].Data, result.Data);
            maps[i].Dispose();
        }

        if (fusion == Salient.Methods.LayerFusion.Mean && maps.Count > 1)
        {
            backend.Map(new MapFunction(MapFunctionKind.Scale, 1f / maps.Count), result.Data, result.Data);
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
