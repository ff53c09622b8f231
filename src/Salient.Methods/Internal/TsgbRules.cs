using System.Numerics.Tensors;
using Salient.Engine;
using Salient.Engine.Devices;
using Tensor = Salient.Engine.Tensor;
using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Methods.Internal;

/// <summary>
/// TSGB's modified backward (docs/methods.md, "TSGB"): TSGB-Conv for every convolution, the ratio rules
/// for batch norm and average pooling, TSGB-FC for the final linear layer, vanilla elsewhere.
/// </summary>
public sealed class TsgbRules(GraphNode? finalLinear, float gamma = 1f) : IBackwardRules
{
    private const float Epsilon = 1e-10f;

    public bool TryBackward(Step step, BackwardContext context)
    {
        if (context.OutputGradient(0) is not { } gradient || !context.NeedsGradient(0))
        {
            return false;
        }

        switch (step.Kind)
        {
            case StepKind.Convolution:
                context.AddGradient(0, ConvRule(context, step.ConvolutionGeometry!.Value, gradient));
                return true;
            case StepKind.BatchNorm:
                context.AddGradient(0, RatioRule(context.Input(0), gradient, context.Output(0)));
                return true;
            case StepKind.AveragePool:
                context.AddGradient(0, AvgPoolRule(context, step.PoolGeometry!.Value, gradient));
                return true;
            case StepKind.Linear when ReferenceEquals(step.Node, finalLinear):
                context.AddGradient(0, LinearRule(context, step.WeightsTransposed, gradient));
                return true;
            default:
                return false;
        }
    }

    /// <summary>TSGB-Conv: g_x[c] = sign(x[c]) ⊙ 𝟙ᵀ⋆((Σ_o g⊙z) / (𝟙⋆Σ_c|x| + ε)), weights unused, groups ignored.</summary>
    private static Tensor ConvRule(BackwardContext context, Conv2dGeometry g, Tensor gradient)
    {
        var backend = context.Backend;
        var x = context.Input(0);
        var z = context.Output(0);
        var (n, outPlane, inPlane) = (g.Batch, g.OutHeight * g.OutWidth, g.InHeight * g.InWidth);
        var ones = new float[g.KernelHeight * g.KernelWidth];
        Array.Fill(ones, 1f);
        var single = g with { InChannels = 1, OutChannels = 1, Groups = 1 };

        using var contribution = Tensor.Zeros(n, 1, g.OutHeight, g.OutWidth);
        using var scratch = Tensor.Uninitialized(inPlane);
        using var absSum = Tensor.Zeros(n, 1, g.InHeight, g.InWidth);
        for (var b = 0; b < n; b++)
        {
            var s = contribution.Span.Slice(b * outPlane, outPlane);
            for (var o = 0; o < g.OutChannels; o++)
            {
                var offset = ((b * g.OutChannels) + o) * outPlane;
                TensorPrimitives.MultiplyAdd(gradient.Span.Slice(offset, outPlane), z.Span.Slice(offset, outPlane), s, s);
            }

            var a = absSum.Span.Slice(b * inPlane, inPlane);
            for (var c = 0; c < g.InChannels; c++)
            {
                var channel = x.Span.Slice(((b * g.InChannels) + c) * inPlane, inPlane);
                TensorPrimitives.Abs(channel, scratch.Span);
                TensorPrimitives.Add(a, scratch.Span, a);
            }
        }

        using var receptive = Tensor.Uninitialized(n, 1, g.OutHeight, g.OutWidth);
        backend.Conv2d(single, absSum.Data, BufferView.Host(ones), default, receptive.Data, FusedActivation.None);
        TensorPrimitives.Add(receptive.Span, Epsilon, receptive.Span);
        TensorPrimitives.Divide(contribution.Span, receptive.Span, contribution.Span);
        using var spread = Tensor.Uninitialized(n, 1, g.InHeight, g.InWidth);
        backend.Conv2dBackwardData(single, BufferView.Host(ones), contribution.Data, spread.Data);

        var result = Tensor.Uninitialized(x.Shape);
        for (var b = 0; b < n; b++)
        {
            var u = spread.Span.Slice(b * inPlane, inPlane);
            for (var c = 0; c < g.InChannels; c++)
            {
                var offset = ((b * g.InChannels) + c) * inPlane;
                SignTimes(x.Span.Slice(offset, inPlane), u, result.Span.Slice(offset, inPlane));
            }
        }

        return result;
    }

    /// <summary>The BN ratio rule g_x = g ⊙ y / (x + ε), ε added to the signed x.</summary>
    private static Tensor RatioRule(Tensor x, Tensor gradient, Tensor y)
    {
        var result = Tensor.Uninitialized(x.Shape);
        TensorPrimitives.Multiply(gradient.Span, y.Span, result.Span);
        DivideByShifted(result.Span, x.Span);
        return result;
    }

    /// <summary>r /= x + ε, elementwise.</summary>
    private static void DivideByShifted(Span<float> r, ReadOnlySpan<float> x)
    {
        using var shifted = Tensor.Uninitialized(x.Length);
        TensorPrimitives.Add(x, Epsilon, shifted.Span);
        TensorPrimitives.Divide(r, shifted.Span, r);
    }

    /// <summary>dst = sign(x) ⊙ u with sign(0) = 0.</summary>
    private static void SignTimes(ReadOnlySpan<float> x, ReadOnlySpan<float> u, Span<float> dst)
    {
        var i = 0;
        for (; i <= x.Length - System.Numerics.Vector<float>.Count; i += System.Numerics.Vector<float>.Count)
        {
            var vx = new System.Numerics.Vector<float>(x[i..]);
            var vu = new System.Numerics.Vector<float>(u[i..]);
            var negative = System.Numerics.Vector.ConditionalSelect(System.Numerics.Vector.LessThan(vx, System.Numerics.Vector<float>.Zero), -vu, System.Numerics.Vector<float>.Zero);
            System.Numerics.Vector.ConditionalSelect(System.Numerics.Vector.GreaterThan(vx, System.Numerics.Vector<float>.Zero), vu, negative).CopyTo(dst[i..]);
        }

        for (; i < x.Length; i++)
        {
            dst[i] = MathF.Sign(x[i]) * u[i];
        }
    }

    /// <summary>The average-pool ratio rule g_x = AvgPoolVJP(g ⊙ y) / (x + ε), with y recomputed as avg_pool2d's defaults do (no ceil mode, padding counted).</summary>
    private static Tensor AvgPoolRule(BackwardContext context, Pool2dGeometry geometry, Tensor gradient)
    {
        var g = geometry with { CeilMode = false };
        var x = context.Input(0);
        using var y = Tensor.Uninitialized(g.Batch, g.Channels, g.OutHeight, g.OutWidth);
        context.Backend.AvgPool2d(g, countIncludePad: true, x.Data, y.Data);
        if (y.Length != gradient.Length)
        {
            throw new ModelException($"{context.Step.Node.Describe()}: TSGB's average-pool rule recomputes the pool without ceil mode, which changes its output size here.");
        }

        TensorPrimitives.Multiply(y.Span, gradient.Span, y.Span);
        var result = Tensor.Uninitialized(x.Shape);
        context.Backend.AvgPool2dBackward(g, countIncludePad: true, y.Data, result.Data);
        DivideByShifted(result.Span, x.Span);
        return result;
    }

    /// <summary>TSGB-FC: g_x = W⁺ᵀg + W⁻ᵀ(γ·β⊙g), β_k = (W⁺x)_k / |(W⁻x)_k| (no ε), bias unused.</summary>
    private Tensor LinearRule(BackwardContext context, bool transB, Tensor gradient)
    {
        var x = context.Input(0);
        var weights = context.Input(1);
        var (n, d) = (x.Dim(0), x.Length / x.Dim(0));
        var classes = gradient.Length / n;
        float Weight(int k, int j) => transB ? weights.Span[(k * d) + j] : weights.Span[(j * classes) + k];

        var result = Tensor.Zeros(x.Shape);
        for (var b = 0; b < n; b++)
        {
            var xb = x.Span.Slice(b * d, d);
            var gx = result.Span.Slice(b * d, d);
            for (var k = 0; k < classes; k++)
            {
                var gk = gradient.Span[(b * classes) + k];
                if (gk == 0f)
                {
                    continue;
                }

                float positive = 0f, negative = 0f;
                for (var j = 0; j < d; j++)
                {
                    var wkj = Weight(k, j);
                    if (wkj > 0f)
                    {
                        positive += wkj * xb[j];
                    }
                    else
                    {
                        negative += wkj * xb[j];
                    }
                }

                var beta = gamma * positive / Math.Abs(negative);
                for (var j = 0; j < d; j++)
                {
                    var wkj = Weight(k, j);
                    gx[j] += gk * (wkj > 0f ? wkj : wkj * beta);
                }
            }
        }

        return result;
    }
}
