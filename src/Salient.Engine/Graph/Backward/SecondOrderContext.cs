using Salient.Engine.Devices;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Backward;

/// <summary>
/// What a step sees during the second-order backward pass (<see cref="Model.HessianVector"/>):
/// forward-over-reverse, it carries each value's gradient g and that gradient's tangent ġ (how g
/// moves when the source moves along the pass's vector). For a step with backward pass
/// g_in = B(x, g_out), ġ_in = B(x, ġ_out) + (∂B/∂x)·ẋ: the first term is the step's own backward
/// pass run on ġ (<see cref="ThroughBackward"/>); the second, the curvature term, is zero for
/// steps linear in their inputs and, almost everywhere, piecewise-linear ones, and each smooth
/// step that has a rule adds its own.
/// </summary>
public sealed class SecondOrderContext : RecordedStepContext
{
    private readonly Dictionary<string, Tensor> _tangents;
    private readonly Dictionary<string, Tensor> _gradients;
    private readonly Dictionary<string, Tensor> _gradientTangents;

    internal SecondOrderContext(ForwardRecord record, Dictionary<string, Tensor> tangents, Dictionary<string, Tensor> gradients,
        Dictionary<string, Tensor> gradientTangents, IKernelBackend backend)
        : base(record, backend)
    {
        _tangents = tangents;
        _gradients = gradients;
        _gradientTangents = gradientTangents;
    }

    /// <summary>The forward tangent of input <paramref name="index"/>, or null where it does not move with the source.</summary>
    public Tensor? InputTangent(int index) => _tangents.GetValueOrDefault(Step.Inputs[index]);

    /// <summary>The forward tangent of output <paramref name="index"/>, or null where it does not move with the source.</summary>
    public Tensor? OutputTangent(int index) => _tangents.GetValueOrDefault(Step.Outputs[index]);

    /// <summary>The gradient g arriving at output <paramref name="index"/>, or null when none does.</summary>
    public Tensor? OutputGradient(int index) => _gradients.GetValueOrDefault(Step.Outputs[index]);

    /// <summary>Adds <paramref name="term"/> to input <paramref name="index"/>'s gradient tangent, taking ownership of it.</summary>
    public void AddGradientTangent(int index, Tensor term) => AddToInput(_gradientTangents, index, term);

    /// <summary>
    /// B(x, ġ_out): the step's own backward pass run on the gradient tangents of its outputs, added
    /// to its inputs'. For a step linear in its inputs, or piecewise linear (a ReLU's mask, a max
    /// pool's routing, fixed by the forward values), this is the whole rule.
    /// </summary>
    internal void ThroughBackward()
    {
        if (!Step.Outputs.Any(_gradientTangents.ContainsKey))
        {
            return;
        }

        // Nothing is wanted by name: the step may take over its outputs' gradient tangents, which the pass frees after it anyway.
        var context = new BackwardContext(Record, _gradientTangents, [], null, Backend);
        context.Bind(Step);
        Step.Backward(context);
    }

    /// <summary>
    /// The whole rule for a step linear in its inputs or piecewise linear, when its fused activation
    /// (if any) is piecewise linear too; other activations are refused by name.
    /// </summary>
    internal void PiecewiseLinear(in FusedActivation activation)
    {
        RequirePiecewiseLinear(activation);
        ThroughBackward();
    }

    /// <summary>Refuses, by name, a step whose fused activation is not piecewise linear.</summary>
    internal void RequirePiecewiseLinear(in FusedActivation activation)
    {
        if (ActivationGap(activation) is { } gap)
        {
            throw Refused(gap);
        }
    }

    /// <summary>Why a step with <paramref name="activation"/> fused into it has no rule (it is not piecewise linear), or null.</summary>
    internal static string? ActivationGap(in FusedActivation activation) =>
        activation.Kind is ActivationKind.Sigmoid or ActivationKind.HardSwish ? $"its fused {activation.Kind} is not piecewise linear" : null;

    /// <summary>
    /// The curvature term of a step bilinear in inputs <paramref name="first"/> and <paramref name="second"/>
    /// (a product, a matrix product; other inputs, such as Gemm's C, enter additively): the gradient
    /// of each is linear in the other, so its tangent's curvature term is the step's backward pass on g
    /// with the other input replaced by that input's tangent. One value as both factors gets both
    /// terms, B₁(x₂ ← ẋ) + B₂(x₁ ← ẋ), where each backward pass puts both factors' gradients on that one
    /// value: as R₁ + R₂ − R₀, the passes with the second factor, the first, and neither replaced.
    /// </summary>
    internal void Bilinear(int first, int second)
    {
        ThroughBackward();
        if (OutputGradient(0) is null)
        {
            return;
        }

        if (Step.Inputs[first] != Step.Inputs[second])
        {
            AddWithReplaced(second, first);
            AddWithReplaced(first, second);
            return;
        }

        if (InputTangent(first) is null || !NeedsGradient(first))
        {
            return;
        }

        var sum = BackwardWithReplaced(second, first);
        using var other = BackwardWithReplaced(first, first);
        using var plain = BackwardWithReplaced(null, first);
        if (sum is null || other is null || plain is null)
        {
            sum?.Dispose();
            return;
        }

        Backend.Accumulate(MapFusion.Sum, other.Data, sum.Data);
        Backend.Map(new MapFunction(MapFunctionKind.Scale, -1f), plain.Data, plain.Data);
        Backend.Accumulate(MapFusion.Sum, plain.Data, sum.Data);
        AddGradientTangent(first, sum);
    }

    // B_keep(x with x_replaced ← ẋ_replaced, g), added to input keep's gradient tangent.
    private void AddWithReplaced(int replaced, int keep)
    {
        if (InputTangent(replaced) is not null && NeedsGradient(keep) && BackwardWithReplaced(replaced, keep) is { } term)
        {
            AddGradientTangent(keep, term);
        }
    }

    // The step's backward pass on g with input replaced (none when null) read as its tangent: the gradient it gives input keep's value, or null.
    private Tensor? BackwardWithReplaced(int? replaced, int keep)
    {
        var gradients = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [Step.Outputs[0]] = OutputGradient(0)!.Clone() };
        var context = new BackwardContext(Record, gradients, [], null, Backend, i => i == replaced ? InputTangent(i) : null);
        context.Bind(Step);
        try
        {
            Step.Backward(context);
            return gradients.Remove(Step.Inputs[keep], out var term) ? term : null;
        }
        finally
        {
            foreach (var spent in gradients.Values)
            {
                spent.Dispose();
            }
        }
    }

    /// <summary>
    /// The curvature term of an element-wise y = f(x): f''(x)·ẋ·g, with f'' written as
    /// (<paramref name="ratioScale"/>·y + <paramref name="ratioShift"/>) times an element-wise
    /// derivative <paramref name="firstDerivative"/> (a vector-Jacobian product, from a gradient to a
    /// result): sigmoid σ'·(−2y + 1), tanh tanh'·(−2y), HardSwish 2·(the slope of x/6 + ½ clipped).
    /// </summary>
    internal void ElementWiseCurvature(Action<BufferView, BufferView> firstDerivative, float ratioScale, float ratioShift)
    {
        if (InputTangent(0) is not { } tangent || OutputGradient(0) is not { } gradient || !NeedsGradient(0))
        {
            return;
        }

        // u = f'(x)·ẋ·g; the term is ratioShift·u + ratioScale·y·u.
        var shape = OutputShape(0);
        var term = Tensor.Uninitialized(Backend, shape);
        using var scaled = Tensor.Uninitialized(Backend, shape);
        // Separate buffers: a vector-Jacobian product need not work in place.
        Backend.Binary(BinaryOp.Mul, tangent.Data, shape, gradient.Data, shape, scaled.Data, shape);
        firstDerivative(scaled.Data, term.Data);
        Backend.Binary(BinaryOp.Mul, Output(0).Data, shape, term.Data, shape, scaled.Data, shape);
        Backend.Map(new MapFunction(MapFunctionKind.Scale, ratioScale), scaled.Data, scaled.Data);
        Backend.Map(new MapFunction(MapFunctionKind.Scale, ratioShift), term.Data, term.Data);
        Backend.Accumulate(MapFusion.Sum, scaled.Data, term.Data);
        AddGradientTangent(0, term);
    }

    /// <summary>
    /// The curvature term of an element-wise y = f(x): f''(x)·ẋ·g, with <paramref name="secondDerivative"/>
    /// writing f''(x) into a tensor of the output's shape (from <see cref="RecordedStepContext.Input"/>
    /// or <see cref="RecordedStepContext.Output"/>, whichever the step's backward pass reads).
    /// </summary>
    internal void ElementWiseCurvature(Action<Tensor> secondDerivative)
    {
        if (InputTangent(0) is not { } tangent || OutputGradient(0) is not { } gradient || !NeedsGradient(0))
        {
            return;
        }

        var shape = OutputShape(0);
        var term = Tensor.Uninitialized(Backend, shape);
        secondDerivative(term);
        Backend.Binary(BinaryOp.Mul, term.Data, shape, tangent.Data, shape, term.Data, shape);
        Backend.Binary(BinaryOp.Mul, term.Data, shape, gradient.Data, shape, term.Data, shape);
        AddGradientTangent(0, term);
    }

    /// <summary>
    /// Adds <paramref name="sign"/>·<paramref name="term"/> (shaped like output 0, read) summed down to
    /// input <paramref name="index"/>'s shape, as numpy broadcasting spread that input, to the input's
    /// gradient tangent.
    /// </summary>
    internal void AddBroadcastGradientTangent(int index, Tensor term, float sign = 1f)
    {
        var inputShape = InputShape(index);
        var result = Tensor.Uninitialized(Backend, inputShape);
        Backend.ReduceToShape(term.Data, OutputShape(0), result.Data, inputShape);
        if (sign != 1f)
        {
            Backend.Map(new MapFunction(MapFunctionKind.Scale, sign), result.Data, result.Data);
        }

        AddGradientTangent(index, result);
    }

    /// <summary>A one-element tensor holding <paramref name="value"/> on the model's backend, to broadcast against others.</summary>
    internal Tensor Scalar(float value)
    {
        var scalar = Tensor.Uninitialized(Backend, 1);
        Backend.Fill(scalar.Data, value);
        return scalar;
    }

    /// <summary>The error for a step the pass cannot carry, naming its node.</summary>
    internal ModelException Refused(string why) => Step.NoSecondOrderRule(why);
}
