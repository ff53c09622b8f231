namespace Salient.Engine.Kernels.Cpu;

/// <summary>Max pooling over each plane; taps in the padding are skipped, so padding never wins.</summary>
internal static unsafe class MaxPool2dKernel
{
    public static void Run(in Pool2dGeometry g, ReadOnlySpan<float> input, Span<float> output)
    {
        PoolWindow.Validate(g, input.Length, output.Length);
        var geometry = g;
        var inPlane = g.InHeight * g.InWidth;
        var outPlane = g.OutHeight * g.OutWidth;
        fixed (float* pIn = input, pOut = output)
        {
            var src = pIn;
            var dst = pOut;
            CpuParallel.For(g.Batch * g.Channels, (long)outPlane * g.KernelHeight * g.KernelWidth,
                p => Plane(geometry, src + ((long)p * inPlane), dst + ((long)p * outPlane)));
        }
    }

    private static void Plane(in Pool2dGeometry g, float* src, float* dst)
    {
        for (var oh = 0; oh < g.OutHeight; oh++)
        {
            var h0 = (oh * g.StrideHeight) - g.PadTop;
            for (var ow = 0; ow < g.OutWidth; ow++)
            {
                var w0 = (ow * g.StrideWidth) - g.PadLeft;
                var max = float.NegativeInfinity;
                for (var ki = 0; ki < g.KernelHeight; ki++)
                {
                    var ih = h0 + (ki * g.DilationHeight);
                    if ((uint)ih >= (uint)g.InHeight)
                    {
                        continue;
                    }

                    var row = src + ((long)ih * g.InWidth);
                    for (var kj = 0; kj < g.KernelWidth; kj++)
                    {
                        var iw = w0 + (kj * g.DilationWidth);
                        if ((uint)iw < (uint)g.InWidth && row[iw] > max)
                        {
                            max = row[iw];
                        }
                    }
                }

                dst[(oh * g.OutWidth) + ow] = max;
            }
        }
    }
}
