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
public sealed class SecondOrderContext
{
    private readonly ForwardRecord _record;
    private readonly Dictionary<string, Tensor> _tangents;
    private readonly Dictionary<string, Tensor> _gradients;
    private readonly Dictionary<string, Tensor> _gradientTangents;
    private Step _step = null!;

    internal SecondOrderContext(ForwardRecord record, Dictionary<string, Tensor> tangents, Dictionary<string, Tensor> gradients,
        Dictionary<string, Tensor> gradientTangents, IKernelBackend backend)
    {
        _record = record;
        _tangents = tangents;
        _gradients = gradients;
        _gradientTangents = gradientTangents;
        Backend = backend;
    }

    /// <summary>The backend the model runs on.</summary>
    public IKernelBackend Backend { get; }

    /// <summary>The step whose input gradient tangents are being computed.</summary>
    public Step Step => _step;

    internal void Bind(Step step) => _step = step;

    /// <summary>The forward value of input <paramref name="index"/>.</summary>
    public Tensor Input(int index) => _record.Value(_step.Inputs[index]);

    /// <summary>The forward value of output <paramref name="index"/>.</summary>
    public Tensor Output(int index) => _record.Value(_step.Outputs[index]);

    /// <summary>The shape of output <paramref name="index"/>.</summary>
    public int[] OutputShape(int index) => _record.Plan.ShapeOf(_step.Outputs[index]);

    /// <summary>The shape of input <paramref name="index"/>.</summary>
    public int[] InputShape(int index) => _record.Plan.ShapeOf(_step.Inputs[index]);

    /// <summary>The forward tangent of input <paramref name="index"/>, or null where it does not move with the source.</summary>
    public Tensor? InputTangent(int index) => _tangents.GetValueOrDefault(_step.Inputs[index]);

    /// <summary>The forward tangent of output <paramref name="index"/>, or null where it does not move with the source.</summary>
    public Tensor? OutputTangent(int index) => _tangents.GetValueOrDefault(_step.Outputs[index]);

    /// <summary>The gradient g arriving at output <paramref name="index"/>, or null when none does.</summary>
    public Tensor? OutputGradient(int index) => _gradients.GetValueOrDefault(_step.Outputs[index]);

    /// <summary>Whether input <paramref name="index"/> needs a gradient (it lies on a path from the source).</summary>
    public bool NeedsGradient(int index) => _record.Region.Values.Contains(_step.Inputs[index]);

    /// <summary>Adds <paramref name="term"/> to input <paramref name="index"/>'s gradient tangent, taking ownership of it.</summary>
    public void AddGradientTangent(int index, Tensor term)
    {
        var name = _step.Inputs[index];
        if (!_gradientTangents.TryGetValue(name, out var existing))
        {
            _gradientTangents[name] = term;
            return;
        }

        Backend.Accumulate(MapFusion.Sum, term.Data, existing.Data);
        term.Dispose();
    }

    /// <summary>
    /// B(x, ġ_out): the step's own backward pass run on the gradient tangents of its outputs, added
    /// to its inputs'. For a step linear in its inputs, or piecewise linear (a ReLU's mask, a max
    /// pool's routing, fixed by the forward values), this is the whole rule.
    /// </summary>
    internal void ThroughBackward()
    {
        if (!_step.Outputs.Any(_gradientTangents.ContainsKey))
        {
            return;
        }

        // Nothing is wanted by name: the step may take over its outputs' gradient tangents, which the pass frees after it anyway.
        var context = new BackwardContext(_record, _gradientTangents, [], null, Backend);
        context.Bind(_step);
        _step.Backward(context);
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
        if (activation.Kind is ActivationKind.Sigmoid or ActivationKind.HardSwish)
        {
            throw Refused($"its fused {activation.Kind} is not piecewise linear");
        }
    }

    /// <summary>
    /// The curvature term of a step bilinear in inputs <paramref name="first"/> and <paramref name="second"/>
    /// (a product, a matrix product; other inputs, such as Gemm's C, enter additively): the gradient
    /// of each is linear in the other, so its tangent's curvature term is the step's backward pass on g
    /// with the other input replaced by that input's tangent.
    /// </summary>
    internal void Bilinear(int first, int second)
    {
        if (_step.Inputs[first] == _step.Inputs[second] && InputTangent(first) is not null)
        {
            // Both gradients would land on one name; the backward pass could not tell the terms apart.
            throw Refused("both factors are the same value");
        }

        ThroughBackward();
        if (OutputGradient(0) is null)
        {
            return;
        }

        AddWithReplaced(second, first);
        AddWithReplaced(first, second);
    }

    // B_keep(x with x_replaced ← ẋ_replaced, g), added to input keep's gradient tangent.
    private void AddWithReplaced(int replaced, int keep)
    {
        if (InputTangent(replaced) is not { } tangent || !NeedsGradient(keep))
        {
            return;
        }

        var gradients = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [_step.Outputs[0]] = OutputGradient(0)!.Clone() };
        var context = new BackwardContext(_record, gradients, [], null, Backend, i => i == replaced ? tangent : null);
        context.Bind(_step);
        try
        {
            _step.Backward(context);
            if (gradients.Remove(_step.Inputs[keep], out var term))
            {
                AddGradientTangent(keep, term);
            }
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

    /// <summary>The error for a step the pass cannot carry, naming its node.</summary>
    internal ModelException Refused(string why) =>
        new($"{_step.Node.Describe()}: no second-order (Hessian-vector product) rule for {_step.Label}: {why}.");
}
