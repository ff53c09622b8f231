using Salient.Engine.Kernels;
using Salient.Engine.Kernels.Cpu;

namespace Salient.Engine.Tests.Kernels;

/// <summary>Naive kernels, written for clarity and computed in double, to check the fast ones against.</summary>
internal static class Reference
{
    public static float[] Random(int length, int seed)
    {
        var random = new Random(seed);
        var data = new float[length];
        for (var i = 0; i < length; i++)
        {
            data[i] = (random.NextSingle() * 2f) - 1f;
        }

        return data;
    }

    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance = 1e-4f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var e = expected[i];
            var a = actual[i];
            if (!(Math.Abs(e - a) <= tolerance * Math.Max(1f, Math.Abs(e))) && !(float.IsNegativeInfinity(e) && float.IsNegativeInfinity(a)))
            {
                Assert.Fail($"Element {i}: expected {e}, got {a}.");
            }
        }
    }

    public static void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                double sum = 0;
                for (var p = 0; p < k; p++)
                {
                    var av = transA ? a[(p * lda) + i] : a[(i * lda) + p];
                    var bv = transB ? b[(j * ldb) + p] : b[(p * ldb) + j];
                    sum += (double)av * bv;
                }

                var old = beta == 0f ? 0 : beta * (double)c[(i * ldc) + j];
                c[(i * ldc) + j] = (float)((alpha * sum) + old);
            }
        }
    }

    public static float Activate(FusedActivation act, float x) => (float)Activate(act, (double)x);

    public static double Activate(FusedActivation act, double x) => act.Kind switch
    {
        ActivationKind.None => x,
        ActivationKind.Relu => Math.Max(x, 0),
        ActivationKind.LeakyRelu => x < 0 ? x * act.Alpha : x,
        ActivationKind.Clip => Math.Min(Math.Max(x, act.Alpha), act.Beta),
        ActivationKind.Sigmoid => 1 / (1 + Math.Exp(-x)),
        ActivationKind.HardSigmoid => Math.Max(0, Math.Min(1, (act.Alpha * x) + act.Beta)),
        ActivationKind.HardSwish => x * Math.Min(Math.Max(x + 3, 0), 6) / 6,
        _ => throw new ArgumentOutOfRangeException(nameof(act)),
    };

    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += (double)a[i] * b[i];
        }

        return sum;
    }

    public static float[] Conv2d(Conv2dGeometry g, float[] input, float[] weight, float[]? bias, FusedActivation act)
    {
        int oh = g.OutHeight, ow = g.OutWidth, cg = g.InChannels / g.Groups, ocg = g.OutChannels / g.Groups;
        var output = new float[g.Batch * g.OutChannels * oh * ow];
        for (var n = 0; n < g.Batch; n++)
        {
            for (var oc = 0; oc < g.OutChannels; oc++)
            {
                var grp = oc / ocg;
                for (var y = 0; y < oh; y++)
                {
                    for (var x = 0; x < ow; x++)
                    {
                        double sum = bias is null ? 0 : bias[oc];
                        for (var ic = 0; ic < cg; ic++)
                        {
                            var c = (grp * cg) + ic;
                            for (var ki = 0; ki < g.KernelHeight; ki++)
                            {
                                var ih = (y * g.StrideHeight) - g.PadTop + (ki * g.DilationHeight);
                                for (var kj = 0; kj < g.KernelWidth; kj++)
                                {
                                    var iw = (x * g.StrideWidth) - g.PadLeft + (kj * g.DilationWidth);
                                    if (ih < 0 || ih >= g.InHeight || iw < 0 || iw >= g.InWidth)
                                    {
                                        continue;
                                    }

                                    sum += (double)input[(((n * g.InChannels) + c) * g.InHeight * g.InWidth) + (ih * g.InWidth) + iw]
                                        * weight[(((oc * cg) + ic) * g.KernelHeight * g.KernelWidth) + (ki * g.KernelWidth) + kj];
                                }
                            }
                        }

                        output[(((n * g.OutChannels) + oc) * oh * ow) + (y * ow) + x] = Activate(act, (float)sum);
                    }
                }
            }
        }

        return output;
    }

    /// <summary>
    /// Calls <paramref name="tap"/>(input index, weight index, output index) for every product of a
    /// convolution without bias, so the forward and both gradients share one definition.
    /// </summary>
    /// <summary>
    /// Runs <paramref name="backend"/>'s convolution with and without a bias, each alone (over an output
    /// of NaNs, so every value must be written) and accumulating onto a residual, against the reference;
    /// with <paramref name="prepared"/>, the kernels that need kept weights.
    /// </summary>
    public static void AssertConvEpilogues(CpuBackend backend, Conv2dGeometry g, float[] input, float[] weight, FusedActivation act, int seed,
        PreparedWeights? prepared = null)
    {
        foreach (var withBias in new[] { false, true })
        {
            var bias = withBias ? Random(g.OutChannels, seed) : [];
            var sum = Conv2d(g, input, weight, withBias ? bias : null, FusedActivation.None);
            var residual = Random(sum.Length, seed + 10);
            foreach (var accumulate in new[] { false, true })
            {
                var output = accumulate ? (float[])residual.Clone() : new float[sum.Length];
                if (!accumulate)
                {
                    Array.Fill(output, float.NaN);
                }

                backend.Conv2d(g, input, weight, bias, output, act, accumulate, prepared);

                AssertClose([.. sum.Select((x, i) => Activate(act, x + (accumulate ? residual[i] : 0f)))], output);
            }
        }
    }

    public static void ConvTaps(Conv2dGeometry g, Action<int, int, int> tap)
    {
        int oh = g.OutHeight, ow = g.OutWidth, cg = g.InChannels / g.Groups, ocg = g.OutChannels / g.Groups;
        for (var n = 0; n < g.Batch; n++)
        {
            for (var oc = 0; oc < g.OutChannels; oc++)
            {
                for (var y = 0; y < oh; y++)
                {
                    for (var x = 0; x < ow; x++)
                    {
                        for (var ic = 0; ic < cg; ic++)
                        {
                            var c = (oc / ocg * cg) + ic;
                            for (var ki = 0; ki < g.KernelHeight; ki++)
                            {
                                var ih = (y * g.StrideHeight) - g.PadTop + (ki * g.DilationHeight);
                                for (var kj = 0; kj < g.KernelWidth; kj++)
                                {
                                    var iw = (x * g.StrideWidth) - g.PadLeft + (kj * g.DilationWidth);
                                    if (ih >= 0 && ih < g.InHeight && iw >= 0 && iw < g.InWidth)
                                    {
                                        tap((((n * g.InChannels) + c) * g.InHeight * g.InWidth) + (ih * g.InWidth) + iw,
                                            (((oc * cg) + ic) * g.KernelHeight * g.KernelWidth) + (ki * g.KernelWidth) + kj,
                                            (((n * g.OutChannels) + oc) * oh * ow) + (y * ow) + x);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>The input gradient of a convolution as a naive transposed convolution.</summary>
    public static float[] Conv2dBackwardData(Conv2dGeometry g, float[] weight, float[] outputGradient)
    {
        var sum = new double[g.Batch * g.InChannels * g.InHeight * g.InWidth];
        ConvTaps(g, (i, w, o) => sum[i] += (double)weight[w] * outputGradient[o]);
        return [.. sum.Select(v => (float)v)];
    }

    /// <summary>The weight gradient of a convolution, summed over the batch.</summary>
    public static float[] Conv2dBackwardWeights(Conv2dGeometry g, float[] input, float[] outputGradient)
    {
        var sum = new double[g.OutChannels * (g.InChannels / g.Groups) * g.KernelHeight * g.KernelWidth];
        ConvTaps(g, (i, w, o) => sum[w] += (double)input[i] * outputGradient[o]);
        return [.. sum.Select(v => (float)v)];
    }

    /// <summary>Pooling by enumerating window taps; avg follows PyTorch's divisor rules.</summary>
    public static float[] Pool(Pool2dGeometry g, float[] input, bool max, bool countIncludePad)
    {
        int oh = g.OutHeight, ow = g.OutWidth;
        var output = new float[g.Batch * g.Channels * oh * ow];
        for (var p = 0; p < g.Batch * g.Channels; p++)
        {
            for (var y = 0; y < oh; y++)
            {
                for (var x = 0; x < ow; x++)
                {
                    var best = float.NegativeInfinity;
                    double sum = 0;
                    int inside = 0, padded = 0;
                    for (var ki = 0; ki < g.KernelHeight; ki++)
                    {
                        for (var kj = 0; kj < g.KernelWidth; kj++)
                        {
                            var ih = (y * g.StrideHeight) - g.PadTop + (ki * g.DilationHeight);
                            var iw = (x * g.StrideWidth) - g.PadLeft + (kj * g.DilationWidth);
                            if (ih >= -g.PadTop && ih < g.InHeight + g.PadBottom && iw >= -g.PadLeft && iw < g.InWidth + g.PadRight)
                            {
                                padded++;
                            }

                            if (ih < 0 || ih >= g.InHeight || iw < 0 || iw >= g.InWidth)
                            {
                                continue;
                            }

                            var v = input[(p * g.InHeight * g.InWidth) + (ih * g.InWidth) + iw];
                            best = Math.Max(best, v);
                            sum += v;
                            inside++;
                        }
                    }

                    var divisor = countIncludePad ? padded : inside;
                    output[(p * oh * ow) + (y * ow) + x] = max ? best : divisor == 0 ? 0f : (float)(sum / divisor);
                }
            }
        }

        return output;
    }
}
