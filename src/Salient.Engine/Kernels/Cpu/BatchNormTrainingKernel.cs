using System.Numerics.Tensors;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Batch normalization on batch statistics over [N, C, spatial] data, and its backward. Work is
/// split by channel, so every sum runs in one fixed order: results do not depend on thread timing.
/// </summary>
internal static unsafe class BatchNormTrainingKernel
{
    public static void Forward(int n, int channels, int spatial, ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        float epsilon, Span<float> output, Span<float> mean, Span<float> variance)
    {
        Validate(n, channels, spatial, input.Length, output.Length, gamma.Length, beta.Length, mean.Length, variance.Length);
        fixed (float* pX = input, pY = output, pGamma = gamma, pBeta = beta, pMean = mean, pVar = variance)
        {
            float* x = pX, y = pY, g = pGamma, b = pBeta, mu = pMean, v = pVar;
            CpuParallel.For(channels, 3L * n * spatial, c =>
            {
                var count = (double)n * spatial;
                var m = Mean(x, c, n, channels, spatial);

                // Centre first (into the output), then the variance of the centred values: no cancellation.
                var squares = 0.0;
                for (var i = 0; i < n; i++)
                {
                    var centred = Plane(y, i, c, channels, spatial);
                    TensorPrimitives.Subtract(Plane(x, i, c, channels, spatial), m, centred);
                    squares += TensorPrimitives.SumOfSquares<float>(centred);
                }

                var variance = (float)(squares / count);
                var scale = g[c] / MathF.Sqrt(variance + epsilon);
                for (var i = 0; i < n; i++)
                {
                    var plane = Plane(y, i, c, channels, spatial);
                    TensorPrimitives.Multiply(plane, scale, plane);
                    TensorPrimitives.Add(plane, b[c], plane);
                }

                mu[c] = m;
                v[c] = variance;
            });
        }
    }

    /// <summary>
    /// Input, scale and shift gradients: with x̂ = (x − μ)/σ and M values per channel,
    /// dβ = Σdy, dγ = Σdy·x̂, dx = γ/(σM)·(M·dy − dβ − x̂·dγ).
    /// </summary>
    public static void Backward(int n, int channels, int spatial, ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, float epsilon,
        ReadOnlySpan<float> outputGradient, Span<float> inputGradient, Span<float> gammaGradient, Span<float> betaGradient)
    {
        Validate(n, channels, spatial, input.Length, outputGradient.Length, gamma.Length, gammaGradient.Length, betaGradient.Length, channels);
        if (inputGradient.Length != input.Length)
        {
            throw new ArgumentException($"BatchNorm backward: input gradient holds {inputGradient.Length} values, the input {input.Length}.");
        }

        fixed (float* pX = input, pDy = outputGradient, pDx = inputGradient, pGamma = gamma, pDg = gammaGradient, pDb = betaGradient)
        {
            float* x = pX, dy = pDy, dx = pDx, g = pGamma, dg = pDg, db = pDb;
            CpuParallel.For(channels, 4L * n * spatial, c =>
            {
                var count = (double)n * spatial;
                var m = Mean(x, c, n, channels, spatial);
                double squares = 0, gradSum = 0, gradDot = 0;
                for (var i = 0; i < n; i++)
                {
                    // The input gradient's plane serves as scratch for the centred input.
                    var centred = Plane(dx, i, c, channels, spatial);
                    TensorPrimitives.Subtract(Plane(x, i, c, channels, spatial), m, centred);
                    squares += TensorPrimitives.SumOfSquares<float>(centred);
                    var gradient = Plane(dy, i, c, channels, spatial);
                    gradSum += TensorPrimitives.Sum(gradient);
                    gradDot += TensorPrimitives.Dot(gradient, centred);
                }

                var inverseStd = 1.0 / Math.Sqrt((squares / count) + epsilon);
                db[c] = (float)gradSum;
                dg[c] = (float)(gradDot * inverseStd);

                // dx = k·dy − k·mean(dy) − k·(x−μ)·Σdy(x−μ)/(M·σ²), with k = γ/σ.
                var k = g[c] * inverseStd;
                var gradScale = (float)k;
                var centredScale = (float)(-k * gradDot * inverseStd * inverseStd / count);
                var shift = (float)(-k * gradSum / count);
                for (var i = 0; i < n; i++)
                {
                    var target = Plane(dx, i, c, channels, spatial);
                    TensorPrimitives.Multiply(target, centredScale, target);
                    TensorPrimitives.MultiplyAdd(Plane(dy, i, c, channels, spatial), gradScale, target, target);
                    TensorPrimitives.Add(target, shift, target);
                }
            });
        }
    }

    private static float Mean(float* data, int channel, int n, int channels, int spatial)
    {
        var sum = 0.0;
        for (var i = 0; i < n; i++)
        {
            sum += TensorPrimitives.Sum<float>(Plane(data, i, channel, channels, spatial));
        }

        return (float)(sum / ((double)n * spatial));
    }

    private static Span<float> Plane(float* data, int image, int channel, int channels, int spatial) =>
        new(data + ((((long)image * channels) + channel) * spatial), spatial);

    private static void Validate(int n, int channels, int spatial, int inputLength, int outputLength, params ReadOnlySpan<int> perChannel)
    {
        var length = (long)n * channels * spatial;
        if (n <= 0 || channels <= 0 || spatial <= 0 || inputLength != length || outputLength != length)
        {
            throw new ArgumentException($"BatchNorm over [{n},{channels},{spatial}] got {inputLength} inputs and {outputLength} outputs.");
        }

        foreach (var count in perChannel)
        {
            if (count != channels)
            {
                throw new ArgumentException($"BatchNorm over {channels} channels got a per-channel vector of {count} values.");
            }
        }
    }
}
