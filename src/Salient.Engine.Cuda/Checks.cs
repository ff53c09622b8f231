using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda;

/// <summary>Argument checks of the device operations: the geometry types' own rules (shared with the CPU backend) and the device's limits.</summary>
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
        g.Validate(inputLength, weightLength, biasLength, outputLength);
        if (outputLength > int.MaxValue || inputLength > int.MaxValue)
        {
            throw new ArgumentException($"Convolution {g} has more than {int.MaxValue} values in one tensor; split the batch.");
        }
    }

    public static void Pool(in Pool2dGeometry g, long inputLength, long outputLength) => g.Validate(inputLength, outputLength);

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
}
