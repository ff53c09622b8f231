using System.Collections.Concurrent;
using System.Numerics.Tensors;
using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Internal;

/// <summary>How LRP changes the weights of convolutions and linear layers (Captum's rules).</summary>
public enum LrpWeightRule
{
    /// <summary>The weights as they are (Captum's EpsilonRule).</summary>
    Epsilon,

    /// <summary>W + γ·W⁺ (Captum's GammaRule).</summary>
    Gamma,

    /// <summary>W⁺ only, the z⁺ rule (Captum's Alpha1_Beta0_Rule).</summary>
    ZPlus,

    /// <summary>
    /// The α-β rule (Bach et al., 2015): positive and negative contributions x_i·w_ij apart,
    /// R_i = Σ_j (α·(x_i w_ij)⁺ / (z⁺_j + ε) − β·(x_i w_ij)⁻ / (z⁻_j − ε))·R_j, the bias's positive part in z⁺ and its negative part in z⁻.
    /// </summary>
    AlphaBeta,
}

/// <summary>
/// Layer-wise relevance propagation (Bach et al., 2015; Captum's LRP) as backward rules. They carry
/// c = R / a, the relevance per unit of each value a, which makes LRP an ordinary backward pass with
/// three changes: (1) at the output z of every convolution, linear layer, batch norm, pool and Add the
/// incoming c is multiplied by z / (z′ + ε·sign z′) (sign 0 = 1), z′ the output with modified weights
/// (z′ = z for all but convolutions and linear layers under <see cref="LrpWeightRule.Gamma"/> or
/// <see cref="LrpWeightRule.ZPlus"/>); (2) those convolutions and linear layers pass it back through their
/// modified weights (all but the first layer, whose input is the signed image), or, under
/// <see cref="LrpWeightRule.AlphaBeta"/>, split it by the signs of their contributions; (3) activations pass relevance unchanged (c_x = c_y ⊙ y / x, 0 where x = 0).
/// The relevance at the input is x ⊙ c, the seed at the target's logit 1 (its relevance the logit).
/// Other operators (views, products) keep their gradient.
/// </summary>
/// <param name="rule">The rule of convolutions and linear layers after the first.</param>
/// <param name="epsilon">The stabiliser ε of every denominator.</param>
/// <param name="imageInput">The model's input, whose layer keeps its weights and the ε rule.</param>
/// <param name="gamma">γ of <see cref="LrpWeightRule.Gamma"/>.</param>
/// <param name="alpha">α of <see cref="LrpWeightRule.AlphaBeta"/>.</param>
/// <param name="beta">β of <see cref="LrpWeightRule.AlphaBeta"/>.</param>
public sealed class LrpRules(LrpWeightRule rule, float epsilon, string imageInput, float gamma = 0f, float alpha = 1f, float beta = 0f) : IBackwardRules
{
    // Per weight initializer: (W′, W′ − W), W′ = W⁺ (+ γ·W⁺ and W⁻ under the γ rule); under the α-β rule (W⁺, W⁻).
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
            case StepKind.Convolution or StepKind.Linear when modifiesWeights && rule == LrpWeightRule.AlphaBeta:
                context.AddGradient(0, AlphaBeta(step, context, gradient));
                return true;
            case StepKind.Convolution or StepKind.Linear when modifiesWeights:
                context.AddGradient(0, ModifiedWeights(step, context, gradient));
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
        var change = new float[weights.Length];
        if (rule == LrpWeightRule.AlphaBeta)
        {
            TensorPrimitives.Min(weights, 0f, change);
        }
        else
        {
            if (rule == LrpWeightRule.Gamma)
            {
                TensorPrimitives.MultiplyAdd(modified, gamma, weights, modified);
            }

            TensorPrimitives.Subtract(modified, weights, change);
        }

        return _weights.GetOrAdd(name, (modified, change));
    }

    /// <summary>z′ = z + f(x; W′ − W); c_x = fᵀ(W′; c ⊙ z / (z′ + ε·sign z′)), f the layer without its bias.</summary>
    private Tensor ModifiedWeights(Step step, BackwardContext context, Tensor gradient)
    {
        var (x, z) = (context.Input(0), context.Output(0));
        var (modified, change) = Weights(step.Inputs[1], context.Input(1).Span);
        using var zModified = Tensor.Uninitialized(z.Shape);
        z.Span.CopyTo(zModified.Span);
        Apply(step, context, x.Data, change, zModified, accumulate: true);
        using var s = Tensor.Uninitialized(z.Shape);
        Stabilize(gradient.Span, z.Span, zModified.Span, s.Span);
        return Transposed(step, context, modified, s);
    }

    /// <summary>
    /// The α-β rule in c = R / x: with z⁺ = f(x⁺; W⁺) + f(x⁻; W⁻) + b⁺, z⁻ = f(x⁺; W⁻) + f(x⁻; W⁺) + b⁻ (b = z − f(x; W)) and
    /// s± = c ⊙ z / (z± ± ε), c_x = α·fᵀ(W⁺; s⁺) − β·fᵀ(W⁻; s⁻) where x &gt; 0, α·fᵀ(W⁻; s⁺) − β·fᵀ(W⁺; s⁻) where x &lt; 0, 0 where x = 0.
    /// </summary>
    private Tensor AlphaBeta(Step step, BackwardContext context, Tensor gradient)
    {
        var (x, z) = (context.Input(0), context.Output(0));
        var (positive, negative) = Weights(step.Inputs[1], context.Input(1).Span);
        using var xPositive = Tensor.Uninitialized(x.Shape);
        using var xNegative = Tensor.Uninitialized(x.Shape);
        TensorPrimitives.Max(x.Span, 0f, xPositive.Span);
        TensorPrimitives.Min(x.Span, 0f, xNegative.Span);
        using var bias = Tensor.Uninitialized(z.Shape);
        Apply(step, context, x.Data, context.Input(1).Span.ToArray(), bias, accumulate: false);
        TensorPrimitives.Subtract(z.Span, bias.Span, bias.Span);

        using var sPositive = Tensor.Uninitialized(z.Shape);
        using var sNegative = Tensor.Uninitialized(z.Shape);
        foreach (var (s, first, second, sign) in new[] { (sPositive, positive, negative, 1f), (sNegative, negative, positive, -1f) })
        {
            Apply(step, context, xPositive.Data, first, s, accumulate: false);
            Apply(step, context, xNegative.Data, second, s, accumulate: true);
            var part = s.Span;
            for (var i = 0; i < part.Length; i++)
            {
                var b = bias.Span[i];
                part[i] = gradient.Span[i] * z.Span[i] / (part[i] + (sign > 0 ? Math.Max(b, 0f) : Math.Min(b, 0f)) + (sign * epsilon));
            }
        }

        using var onPositive = Transposed(step, context, positive, sPositive);
        using var onNegative = Transposed(step, context, negative, sPositive);
        using var offPositive = Transposed(step, context, negative, sNegative);
        using var offNegative = Transposed(step, context, positive, sNegative);
        var result = Tensor.Uninitialized(x.Shape);
        var c = result.Span;
        for (var i = 0; i < c.Length; i++)
        {
            var value = x.Span[i];
            c[i] = value > 0f ? (alpha * onPositive.Span[i]) - (beta * offPositive.Span[i])
                : value < 0f ? (alpha * onNegative.Span[i]) - (beta * offNegative.Span[i])
                : 0f;
        }

        return result;
    }

    /// <summary><paramref name="output"/> (+)= f(<paramref name="input"/>; <paramref name="weights"/>): the step's convolution or linear map without its bias.</summary>
    private static void Apply(Step step, BackwardContext context, BufferView input, float[] weights, Tensor output, bool accumulate)
    {
        if (step.Kind == StepKind.Convolution)
        {
            context.Backend.Conv2d(step.ConvolutionGeometry!.Value, input, weights, default, output.Data, FusedActivation.None, accumulate);
            return;
        }

        var (n, d, outputs, ldb) = LinearShape(step, context);
        context.Backend.Gemm(false, step.WeightsTransposed, n, outputs, d, 1f, input, d, weights, ldb, accumulate ? 1f : 0f, output.Data, outputs);
    }

    /// <summary>fᵀ(<paramref name="weights"/>; <paramref name="s"/>): the map's transpose applied to <paramref name="s"/>, a new tensor shaped as the step's input.</summary>
    private static Tensor Transposed(Step step, BackwardContext context, float[] weights, Tensor s)
    {
        var result = Tensor.Uninitialized(context.Input(0).Shape);
        if (step.Kind == StepKind.Convolution)
        {
            context.Backend.Conv2dBackwardData(step.ConvolutionGeometry!.Value, weights, s.Data, result.Data);
            return result;
        }

        var (n, d, outputs, ldb) = LinearShape(step, context);
        context.Backend.Gemm(false, !step.WeightsTransposed, n, d, outputs, 1f, s.Data, outputs, weights, ldb, 0f, result.Data, d);
        return result;
    }

    /// <summary>A linear layer y = x·op(W) + bias's rows n, input width d, outputs and W's leading dimension (no transposed input, alpha 1).</summary>
    private static (int N, int D, int Outputs, int Ldb) LinearShape(Step step, BackwardContext context)
    {
        if (step.Node.GetInt("transA", 0) != 0 || step.Node.GetFloat("alpha", 1f) != 1f)
        {
            throw new ModelException($"{step.Node.Describe()}: LRP's weight rules need a linear layer without transA and with alpha 1.");
        }

        var x = context.Input(0);
        var (n, d) = (x.Dim(0), x.Length / x.Dim(0));
        var outputs = context.Output(0).Length / n;
        return (n, d, outputs, step.WeightsTransposed ? d : outputs);
    }
}
