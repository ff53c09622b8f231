namespace Salient.Engine.Kernels.Cpu;

/// <summary>Index arithmetic shared by the convolution kernels.</summary>
internal static class ConvWindow
{
    /// <summary>
    /// The outputs [start, end) whose input index o·stride + offset lies inside [0, inSize); the
    /// rest read padding. Empty ranges come back as start == end.
    /// </summary>
    public static (int Start, int End) ValidRange(int offset, int stride, int inSize, int outSize)
    {
        var start = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        var last = inSize - 1 - offset;
        var end = last < 0 ? 0 : Math.Min(outSize, (last / stride) + 1);
        start = Math.Min(start, outSize);
        return (start, Math.Max(start, end));
    }

    /// <summary>Whether the convolution is 1×1, stride 1 and unpadded: its column matrix is the input itself.</summary>
    public static bool IsPointwise(in Conv2dGeometry g) =>
        g.KernelHeight == 1 && g.KernelWidth == 1 && g.StrideHeight == 1 && g.StrideWidth == 1
        && g.PadTop == 0 && g.PadLeft == 0 && g.PadBottom == 0 && g.PadRight == 0;

    /// <summary>Whether the convolution has one filter per channel (groups = in = out channels).</summary>
    public static bool IsDepthwise(in Conv2dGeometry g) => g.Groups == g.InChannels && g.Groups == g.OutChannels;
}
