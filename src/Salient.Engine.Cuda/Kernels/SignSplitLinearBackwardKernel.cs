using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// The second half of TSGB's sign-split linear backward: g_x[b, j] = Σ_k g[b, k]·(W_kj if W_kj &gt; 0, else β[b, k]·W_kj)
/// over the outputs whose gradient is not 0, outputs in order: one thread per input gradient value.
/// </summary>
public static class SignSplitLinearBackwardKernel
{
    public static void Run(Index1D i, ArrayView<float> weights, ArrayView<float> outputGradient, ArrayView<float> beta, ArrayView<float> inputGradient,
        int inputs, int outputs, int transposed)
    {
        var b = (int)i / inputs;
        var j = (int)i % inputs;
        var sum = 0f;
        for (var k = 0; k < outputs; k++)
        {
            var row = ((long)b * outputs) + k;
            var g = outputGradient[row];
            if (g != 0f)
            {
                var w = transposed != 0 ? weights[((long)k * inputs) + j] : weights[((long)j * outputs) + k];
                sum += g * (w > 0f ? w : w * beta[row]);
            }
        }

        inputGradient[i] = sum;
    }
}
