using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// The first half of TSGB's sign-split linear backward: β[b, k] = γ·(W⁺x_b)_k / |(W⁻x_b)_k| for
/// every row b and output k whose gradient is not 0 (the others are not read), the sums in input
/// order as on the host: one thread per (row, output). W is [outputs, inputs] when transposed, else [inputs, outputs].
/// </summary>
public static class SignSplitRatioKernel
{
    public static void Run(Index1D i, ArrayView<float> input, ArrayView<float> weights, ArrayView<float> outputGradient, ArrayView<float> beta,
        int inputs, int outputs, int transposed, float gamma)
    {
        var b = (int)i / outputs;
        var k = (int)i % outputs;
        if (outputGradient[i] == 0f)
        {
            beta[i] = 0f;
            return;
        }

        var positive = 0f;
        var negative = 0f;
        for (var j = 0; j < inputs; j++)
        {
            var w = transposed != 0 ? weights[((long)k * inputs) + j] : weights[((long)j * outputs) + k];
            var x = input[((long)b * inputs) + j];
            if (w > 0f)
            {
                positive += w * x;
            }
            else
            {
                negative += w * x;
            }
        }

        beta[i] = gamma * positive / (negative < 0f ? -negative : negative);
    }
}
