namespace Salient.Engine.Kernels.Cpu;

/// <summary>Checks shared by the pooling kernels.</summary>
internal static class PoolWindow
{
    public static void Validate(in Pool2dGeometry g, int inputLength, int outputLength)
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
}
