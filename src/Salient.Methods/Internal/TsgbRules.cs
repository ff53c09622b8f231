using Salient.Engine;
using Salient.Engine.Devices;
using Tensor = Salient.Engine.Tensor;
using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Methods.Internal;

/// <summary>
/// TSGB's modified backward (docs/methods.md, "TSGB"): TSGB-Conv for every convolution, the ratio rules
/// for batch norm and average pooling, TSGB-FC for the final linear layer, vanilla elsewhere; all of
/// it backend operations, on the model's device.
/// </summary>
public sealed class TsgbRules(GraphNode? finalLinear, float gamma = 1f) : IBackwardRules
{
    // ε as a host parameter of the backend's operations: one buffer for the process, so a device uploads it once.
    private static readonly BufferView s_epsilon = BufferView.Host(new[] { 1e-10f });

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
                context.AddGradient(0, RatioRule(context.Backend, context.Input(0), gradient, context.Output(0)));
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

        using var contribution = Tensor.Uninitialized(backend, n, 1, g.OutHeight, g.OutWidth);
        var outImage = g.OutChannels * outPlane;
        for (var b = 0; b < n; b++)
        {
            backend.ChannelProductSum(ChannelProduct.Product, g.OutChannels, outPlane, z.Data.Slice(b * outImage, outImage),
                gradient.Data.Slice(b * outImage, outImage), contribution.Data.Slice(b * outPlane, outPlane));
        }

        using var absSum = Tensor.Uninitialized(backend, n, 1, g.InHeight, g.InWidth);
        using (var magnitudes = Tensor.Uninitialized(backend, x.Shape))
        {
            backend.Map(new MapFunction(MapFunctionKind.Abs), x.Data, magnitudes.Data);
            backend.ReduceToShape(magnitudes.Data, x.Shape, absSum.Data, absSum.Shape);
        }

        using var receptive = Tensor.Uninitialized(backend, n, 1, g.OutHeight, g.OutWidth);
        backend.Conv2d(single, absSum.Data, BufferView.Host(ones), default, receptive.Data, FusedActivation.None);
        backend.Binary(BinaryOp.Add, receptive.Data, receptive.Shape, s_epsilon, [], receptive.Data, receptive.Shape);
        backend.Binary(BinaryOp.Div, contribution.Data, contribution.Shape, receptive.Data, receptive.Shape, contribution.Data, contribution.Shape);
        using var spread = Tensor.Uninitialized(backend, n, 1, g.InHeight, g.InWidth);
        backend.Conv2dBackwardData(single, BufferView.Host(ones), contribution.Data, spread.Data);

        var result = Tensor.Uninitialized(backend, x.Shape);
        backend.SignTimes(n, g.InChannels, inPlane, x.Data, spread.Data, result.Data);
        return result;
    }

    /// <summary>The BN ratio rule g_x = g ⊙ y / (x + ε), ε added to the signed x.</summary>
    private static Tensor RatioRule(IKernelBackend backend, Tensor x, Tensor gradient, Tensor y)
    {
        var result = Tensor.Uninitialized(backend, x.Shape);
        backend.Binary(BinaryOp.Mul, gradient.Data, x.Shape, y.Data, x.Shape, result.Data, x.Shape);
        DivideByShifted(backend, result, x);
        return result;
    }

    /// <summary>r /= x + ε, elementwise.</summary>
    private static void DivideByShifted(IKernelBackend backend, Tensor r, Tensor x)
    {
        using var shifted = Tensor.Uninitialized(backend, x.Shape);
        backend.Binary(BinaryOp.Add, x.Data, x.Shape, s_epsilon, [], shifted.Data, x.Shape);
        backend.Binary(BinaryOp.Div, r.Data, x.Shape, shifted.Data, x.Shape, r.Data, x.Shape);
    }

    /// <summary>The average-pool ratio rule g_x = AvgPoolVJP(g ⊙ y) / (x + ε), with y recomputed as avg_pool2d's defaults do (no ceil mode, padding counted).</summary>
    private static Tensor AvgPoolRule(BackwardContext context, Pool2dGeometry geometry, Tensor gradient)
    {
        var backend = context.Backend;
        var g = geometry with { CeilMode = false };
        var x = context.Input(0);
        using var y = Tensor.Uninitialized(backend, g.Batch, g.Channels, g.OutHeight, g.OutWidth);
        backend.AvgPool2d(g, countIncludePad: true, x.Data, y.Data);
        if (y.Length != gradient.Length)
        {
            throw new ModelException($"{context.Step.Node.Describe()}: TSGB's average-pool rule recomputes the pool without ceil mode, which changes its output size here.");
        }

        backend.Binary(BinaryOp.Mul, y.Data, y.Shape, gradient.Data, y.Shape, y.Data, y.Shape);
        var result = Tensor.Uninitialized(backend, x.Shape);
        backend.AvgPool2dBackward(g, countIncludePad: true, y.Data, result.Data);
        DivideByShifted(backend, result, x);
        return result;
    }

    /// <summary>TSGB-FC: g_x = W⁺ᵀg + W⁻ᵀ(γ·β⊙g), β_k = (W⁺x)_k / |(W⁻x)_k| (no ε), bias unused.</summary>
    private Tensor LinearRule(BackwardContext context, bool transB, Tensor gradient)
    {
        var x = context.Input(0);
        var (n, d) = (x.Dim(0), x.Length / x.Dim(0));
        var result = Tensor.Uninitialized(context.Backend, x.Shape);
        context.Backend.SignSplitLinearBackward(n, d, gradient.Length / n, transB, gamma, x.Data, context.Input(1).Data, gradient.Data, result.Data);
        return result;
    }
}
