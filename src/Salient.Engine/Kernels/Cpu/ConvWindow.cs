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

    /// <summary>Throws unless the buffers and hyper-parameters describe a valid convolution.</summary>
    public static void Validate(in Conv2dGeometry g, int inputLength, int weightLength, int biasLength, int outputLength)
    {
        if (g.Batch < 0 || g.InChannels <= 0 || g.OutChannels <= 0 || g.InHeight <= 0 || g.InWidth <= 0
            || g.KernelHeight <= 0 || g.KernelWidth <= 0 || g.StrideHeight <= 0 || g.StrideWidth <= 0
            || g.DilationHeight <= 0 || g.DilationWidth <= 0 || g.Groups <= 0
            || g.PadTop < 0 || g.PadLeft < 0 || g.PadBottom < 0 || g.PadRight < 0)
        {
            throw new ArgumentException($"Invalid convolution geometry {g}.");
        }

        if (g.InChannels % g.Groups != 0 || g.OutChannels % g.Groups != 0)
        {
            throw new ArgumentException($"Channels {g.InChannels}→{g.OutChannels} do not divide into {g.Groups} groups.");
        }

        if (g.OutHeight <= 0 || g.OutWidth <= 0)
        {
            throw new ArgumentException($"Convolution {g} has an empty output.");
        }

        Require("input", inputLength, (long)g.Batch * g.InChannels * g.InHeight * g.InWidth);
        Require("weight", weightLength, (long)g.OutChannels * (g.InChannels / g.Groups) * g.KernelHeight * g.KernelWidth);
        Require("output", outputLength, (long)g.Batch * g.OutChannels * g.OutHeight * g.OutWidth);
        if (biasLength != 0)
        {
            Require("bias", biasLength, g.OutChannels);
        }
    }

    private static void Require(string name, int length, long needed)
    {
        if (length != needed)
        {
            throw new ArgumentException($"Convolution {name} has {length} values, the geometry needs {needed}.");
        }
    }
}
