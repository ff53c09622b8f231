using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>The gradients of y = a^b per value: da = b·a^(b−1)·dy and db = ln a·a^b·dy, each where flagged wanted. One thread per value.</summary>
public static class PowBackwardKernel
{
    public static void Run(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> dy, ArrayView<float> da, ArrayView<float> db, int wantA, int wantB)
    {
        var x = a[i];
        var p = b[i];
        if (wantA != 0)
        {
            da[i] = MathF.Pow(x, p - 1f) * p * dy[i];
        }

        if (wantB != 0)
        {
            db[i] = MathF.Pow(x, p) * MathF.Log(x) * dy[i];
        }
    }
}
