using System.Numerics.Tensors;
using Salient.Engine;
using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Internal;

/// <summary>
/// DeepLIFT's rescale rule (Shrikumar et al., ICML 2017, as Captum's DeepLift applies it) for a
/// forward pass of a paired batch [inputs; baselines], both halves seeded with the same target:
/// every activation and max pool passes multipliers Δout/Δin instead of its derivative (the
/// ordinary gradient where |Δin| &lt; 1e-10), the same multiplier in both halves; every other step
/// (convolution, batch norm, linear, sums, average pools) is linear and keeps its gradient.
/// </summary>
internal sealed class DeepLiftRules : IBackwardRules
{
    private const float Epsilon = 1e-10f;

    public static DeepLiftRules Instance { get; } = new();

    public bool TryBackward(Step step, BackwardContext context)
    {
        if (context.OutputGradient(0) is not { } gradient || !context.NeedsGradient(0))
        {
            return false;
        }

        switch (step.Kind)
        {
            case StepKind.Activation:
                context.AddGradient(0, Activation(context, step.Activation, gradient));
                return true;
            case StepKind.MaxPool:
                context.AddGradient(0, MaxPool(context, step.PoolGeometry!.Value, gradient));
                return true;
            default:
                return false;
        }
    }

    /// <summary>Rescale: g_in = g_out ⊙ Δy/Δx per half, Δ = input half − baseline half.</summary>
    private static Tensor Activation(BackwardContext context, in FusedActivation activation, Tensor gradient)
    {
        var (x, y) = (context.Input(0), context.Output(0));
        var result = Tensor.Uninitialized(x.Shape);
        context.Backend.ActivateBackward(activation, x.Data, y.Data, gradient.Data, result.Data);
        var half = x.Length / 2;
        using var deltaOut = Delta(y.Span);
        for (var h = 0; h < 2; h++)
        {
            using var change = Tensor.Uninitialized(half);
            TensorPrimitives.Multiply(gradient.Span.Slice(h * half, half), deltaOut.Span, change.Span);
            Rescale(change.Span, x.Span, result.Span.Slice(h * half, half));
        }

        return result;
    }

    /// <summary>
    /// Captum's max-pool rule: with m = max(y, y₀), the input half's gradient g⊙(m − y₀) is routed to
    /// the input's window maxima and the baseline half's g⊙(y − m) to the baseline's; their sum,
    /// divided by Δx, is the multiplier of both halves. Completeness holds: Σ_window multiplier·Δx = g·(y − y₀).
    /// </summary>
    private static Tensor MaxPool(BackwardContext context, in Pool2dGeometry geometry, Tensor gradient)
    {
        var (x, y) = (context.Input(0), context.Output(0));
        var backend = context.Backend;
        var result = Tensor.Uninitialized(x.Shape);
        backend.MaxPool2dBackward(geometry, x.Data, y.Data, gradient.Data, result.Data);

        var outHalf = y.Length / 2;
        using var routed = Tensor.Uninitialized(y.Shape);
        var upper = routed.Span[..outHalf];
        var lower = routed.Span[outHalf..];
        TensorPrimitives.Max(y.Span[..outHalf], y.Span[outHalf..], upper);
        TensorPrimitives.Subtract(y.Span[..outHalf], upper, lower);
        TensorPrimitives.Subtract(upper, y.Span[outHalf..], upper);
        TensorPrimitives.Multiply(routed.Span, gradient.Span, routed.Span);
        using var unpooled = Tensor.Uninitialized(x.Shape);
        backend.MaxPool2dBackward(geometry, x.Data, y.Data, routed.Data, unpooled.Data);

        var half = x.Length / 2;
        var change = unpooled.Span[..half];
        TensorPrimitives.Add(change, unpooled.Span[half..], change);
        for (var h = 0; h < 2; h++)
        {
            Rescale(change, x.Span, result.Span.Slice(h * half, half));
        }

        return result;
    }

    /// <summary>The input half minus the baseline half of <paramref name="paired"/>.</summary>
    private static Tensor Delta(ReadOnlySpan<float> paired)
    {
        var half = paired.Length / 2;
        var delta = Tensor.Uninitialized(half);
        TensorPrimitives.Subtract(paired[..half], paired[half..], delta.Span);
        return delta;
    }

    /// <summary>
    /// result = change / Δx where |Δx| ≥ ε (Δx from the paired input <paramref name="x"/>); elsewhere
    /// <paramref name="result"/> keeps the ordinary gradient already written there.
    /// </summary>
    private static void Rescale(ReadOnlySpan<float> change, ReadOnlySpan<float> x, Span<float> result)
    {
        var half = x.Length / 2;
        for (var i = 0; i < half; i++)
        {
            var delta = x[i] - x[half + i];
            if (MathF.Abs(delta) >= Epsilon)
            {
                result[i] = change[i] / delta;
            }
        }
    }
}
