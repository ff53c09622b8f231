using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda;

/// <summary>Argument checks of the device operations, with the CPU backend's rules and messages.</summary>
internal static class Checks
{
    public static void Gemm(bool transA, bool transB, int m, int n, int k, int lda, long aLength, int ldb, long bLength, int ldc, long cLength)
    {
        if (m < 0 || n < 0 || k < 0)
        {
            throw new ArgumentException($"Negative GEMM size m={m} n={n} k={k}.");
        }

        Matrix("A", transA ? k : m, transA ? m : k, lda, aLength);
        Matrix("B", transB ? n : k, transB ? k : n, ldb, bLength);
        Matrix("C", m, n, ldc, cLength);
    }

    public static void Conv(in Conv2dGeometry g, long inputLength, long weightLength, long biasLength, long outputLength)
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

        if (outputLength > int.MaxValue || inputLength > int.MaxValue)
        {
            throw new ArgumentException($"Convolution {g} has more than {int.MaxValue} values in one tensor; split the batch.");
        }
    }

    public static void Pool(in Pool2dGeometry g, long inputLength, long outputLength)
    {
        if (g.Batch < 0 || g.Channels < 0 || g.InHeight <= 0 || g.InWidth <= 0 || g.KernelHeight <= 0 || g.KernelWidth <= 0
            || g.StrideHeight <= 0 || g.StrideWidth <= 0 || g.DilationHeight <= 0 || g.DilationWidth <= 0
            || g.PadTop < 0 || g.PadLeft < 0 || g.PadBottom < 0 || g.PadRight < 0)
        {
            throw new ArgumentException($"Invalid pooling geometry {g}.");
        }

        if (g.OutHeight <= 0 || g.OutWidth <= 0)
        {
            throw new ArgumentException($"Pooling {g} has an empty output.");
        }

        var planes = (long)g.Batch * g.Channels;
        if (inputLength != planes * g.InHeight * g.InWidth || outputLength != planes * g.OutHeight * g.OutWidth)
        {
            throw new ArgumentException($"Pooling {g} needs {planes * g.InHeight * g.InWidth} inputs and {planes * g.OutHeight * g.OutWidth} outputs, got {inputLength} and {outputLength}.");
        }
    }

    private static void Matrix(string name, int rows, int cols, int ld, long length)
    {
        if (ld < Math.Max(1, cols))
        {
            throw new ArgumentException($"Leading dimension of {name} is {ld}, less than its {cols} columns.");
        }

        if (rows > 0 && cols > 0 && ((long)(rows - 1) * ld) + cols > length)
        {
            throw new ArgumentException($"{name} needs {((long)(rows - 1) * ld) + cols} elements for {rows}×{cols} with stride {ld}, it has {length}.");
        }
    }

    private static void Require(string name, long length, long needed)
    {
        if (length != needed)
        {
            throw new ArgumentException($"Convolution {name} has {length} values, the geometry needs {needed}.");
        }
    }
}
