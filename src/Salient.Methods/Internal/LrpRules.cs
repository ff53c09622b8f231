using System.Collections.Concurrent;
using System.Numerics.Tensors;
using Salient.Engine;
using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Internal;

/// <summary>How LRP changes the weights of convolutions and linear layers (Captum's rules).</summary>
internal enum LrpWeightRule
{
    /// <summary>The weights as they are (Captum's EpsilonRule).</summary>
    Epsilon,

    /// <summary>W + γ·W⁺ (Captum's GammaRule).</summary>
    Gamma,

    /// <summary>W⁺ only, the z⁺ rule (Captum's Alpha1_Beta0_Rule).</summary>
    ZPlus,
}

/// <summary>
/// Layer-wise relevance propagation (Bach et al., 2015; Captum's LRP) as backward rules. They carry
/// c = R / a, the relevance per unit of each value a, which makes LRP an ordinary backward pass with
/// three changes: (1) at the output z of every convolution, linear layer, batch norm, pool and Add the
/// incoming c is multiplied by z / (z′ + ε·sign z′) (sign 0 = 1), z′ the output with modified weights
/// (z′ = z for all but convolutions and linear layers under <see cref="LrpWeightRule.Gamma"/> or
/// <see cref="LrpWeightRule.ZPlus"/>); (2) those convolutions and linear layers pass it back through their
/// modified weights (all but the first layer, whose input is the signed image); (3) activations pass relevance unchanged (c_x = c_y ⊙ y / x, 0 where x = 0).
/// The relevance at the input is x ⊙ c, the seed at the target's logit 1 (its relevance the logit).
/// Other operators (views, products) keep their gradient.
/// </summary>
internal sealed class LrpRules(LrpWeightRule rule, float epsilon, float gamma, string imageInput) : IBackwardRules
{
    // Per weight initializer: (W′, W′ − W).
    private readonly ConcurrentDictionary<string, (float[] Modified, float[] Change)> _weights = new(StringComparer.Ordinal);

    public bool TryBackward(Step step, BackwardContext context)
    {
        if (context.OutputGradient(0) is not { } gradient || !context.NeedsGradient(0))
        {
            return false;
        }

        // Weight rules need constant weights (a product of two activations keeps the ε rule); the first
        // layer, on the signed image, keeps its own weights too, as LRP composites do.
        var modifiesWeights = rule != LrpWeightRule.Epsilon && step.Kind is StepKind.Convolution or StepKind.Linear && !context.NeedsGradient(1)
            && step.Inputs[0] != imageInput;
        switch (step.Kind)
        {
            case StepKind.Activation:
                context.AddGradient(0, PassRelevance(context.Input(0).Span, context.Output(0).Span, gradient));
                return true;
            case StepKind.Convolution when modifiesWeights:
                context.AddGradient(0, Convolution(step, context, gradient));
                return true;
            case StepKind.Linear when modifiesWeights:
                context.AddGradient(0, Linear(step, context, gradient));
                return true;
            case StepKind.Convolution or StepKind.Linear or StepKind.BatchNorm or StepKind.AveragePool or StepKind.GlobalAveragePool or StepKind.MaxPool:
            case StepKind.Elementwise when step.Node.OpType == "Add":
                // The ε rule with the step's own weights: scale c in place, then the ordinary backward.
                Stabilize(gradient.Span, context.Output(0).Span, context.Output(0).Span, gradient.Span);
                return false;
            default:
                return false;
        }
    }

    /// <summary>s = c ⊙ z / (z′ + ε·sign z′), sign 0 = 1; <paramref name="s"/> may be <paramref name="c"/>.</summary>
    private void Stabilize(ReadOnlySpan<float> c, ReadOnlySpan<float> z, ReadOnlySpan<float> zModified, Span<float> s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            var denominator = zModified[i] + (zModified[i] >= 0f ? epsilon : -epsilon);
            s[i] = c[i] * z[i] / denominator;
        }
    }

    /// <summary>c_x = c_y ⊙ y / x (0 where x = 0): the activation passes its relevance unchanged.</summary>
    private static Tensor PassRelevance(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Tensor gradient)
    {
        var result = Tensor.Uninitialized(gradient.Shape);
        var c = result.Span;
        TensorPrimitives.Multiply(gradient.Span, y, c);
        for (var i = 0; i < c.Length; i++)
        {
            c[i] = x[i] == 0f ? 0f : c[i] / x[i];
        }

        return result;
    }

    private (float[] Modified, float[] Change) Weights(string name, ReadOnlySpan<float> weights)
    {
        if (_weights.TryGetValue(name, out var cached))
        {
            return cached;
        }

        var modified = new float[weights.Length];
        TensorPrimitives.Max(weights, 0f, modified);
        if (rule == LrpWeightRule.Gamma)
        {
            TensorPrimitives.MultiplyAdd(modified, gamma, weights, modified);
        }

        var change = new float[weights.Length];
        TensorPrimitives.Subtract(modified, weights, change);
        return _weights.GetOrAdd(name, (modified, change));
    }

    /// <summary>z′ = z + conv(x, W′ − W); c_x = convᵀ(W′, c ⊙ z / (z′ + ε·sign z′)).</summary>
    private Tensor Convolution(Step step, BackwardContext context, Tensor gradient)
    {
        var geometry = step.ConvolutionGeometry!.Value;
        var (x, z) = (context.Input(0), context.Output(0));
        var (modified, change) = Weights(step.Inputs[1], context.Input(1).Span);
        using var zModified = Tensor.Uninitialized(z.Shape);
        z.Span.CopyTo(zModified.Span);
        context.Backend.Conv2d(geometry, x.Data, change, default, zModified.Data, FusedActivation.None, accumulate: true);
        using var s = Tensor.Uninitialized(z.Shape);
        Stabilize(gradient.Span, z.Span, zModified.Span, s.Span);
        var result = Tensor.Uninitialized(x.Shape);
        context.Backend.Conv2dBackwardData(geometry, modified, s.Data, result.Data);
        return result;
    }

    /// <summary>The same for a linear layer y = x·op(W) + bias (no transposed input, alpha 1).</summary>
    private Tensor Linear(Step step, BackwardContext context, Tensor gradient)
    {
        if (step.Node.GetInt("transA", 0) != 0 || step.Node.GetFloat("alpha", 1f) != 1f)
        {
            throw new ModelException($"{step.Node.Describe()}: LRP's weight rules need a linear layer without transA and with alpha 1.");
        }

        var (x, z) = (context.Input(0), context.Output(0));
        var (n, d) = (x.Dim(0), x.Length / x.Dim(0));
        var outputs = z.Length / n;
        var transposed = step.WeightsTransposed;
        var ldb = transposed ? d : outputs;
        var (modified, change) = Weights(step.Inputs[1], context.Input(1).Span);
        using var zModified = Tensor.Uninitialized(z.Shape);
        z.Span.CopyTo(zModified.Span);
        context.Backend.Gemm(false, transposed, n, outputs, d, 1f, x.Data, d, change, ldb, 1f, zModified.Data, outputs);
        using var s = Tensor.Uninitialized(z.Shape);
        Stabilize(gradient.Span, z.Span, zModified.Span, s.Span);
        var result = Tensor.Uninitialized(x.Shape);
        context.Backend.Gemm(false, !transposed, n, d, outputs, 1f, s.Data, outputs, modified, ldb, 0f, result.Data, d);
        return result;
    }
}
