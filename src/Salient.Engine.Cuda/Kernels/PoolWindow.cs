
namespace Salient.Engine.Cuda.Kernels;

/// <summary>Window arithmetic shared by the pooling kernels (device code).</summary>
public static class PoolWindow
{
    /// <summary>
    /// The output index along one axis whose window reaches input index <paramref name="i"/> with tap
    /// <paramref name="k"/>, or -1 when none does.
    /// </summary>
    public static int WindowOf(int i, int k, int stride, int padBegin, int dilation, int outSize)
    {
        var t = i + padBegin - (k * dilation);
        if (t < 0 || t % stride != 0)
        {
            return -1;
        }

        var o = t / stride;
        return o < outSize ? o : -1;
    }

    /// <summary>
    /// The index within the plane of the input that max pooling's output (oh, ow) came from: the
    /// first tap equal to it in window order, or the last NaN when it is NaN; -1 if none.
    /// </summary>
    public static int ArgMax(ILGPU.ArrayView<float> x, long plane, in PoolShape g, int oh, int ow, float target)
    {
        var nan = float.IsNaN(target);
        var best = -1;
        var h0 = (oh * g.StrideHeight) - g.PadTop;
        var w0 = (ow * g.StrideWidth) - g.PadLeft;
        for (var ki = 0; ki < g.KernelHeight; ki++)
        {
            var ih = h0 + (ki * g.DilationHeight);
            if ((uint)ih >= (uint)g.InHeight)
            {
                continue;
            }

            for (var kj = 0; kj < g.KernelWidth; kj++)
            {
                var iw = w0 + (kj * g.DilationWidth);
                if ((uint)iw >= (uint)g.InWidth)
                {
                    continue;
                }

                var index = (ih * g.InWidth) + iw;
                var v = x[plane + index];
                if (nan ? float.IsNaN(v) : v == target)
                {
                    best = index;
                    if (!nan)
                    {
                        return best;
                    }
                }
            }
        }

        return best;
    }
}
