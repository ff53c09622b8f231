using Salient.Engine.Devices;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// Layer normalisation over the trailing axes: LayerNormalization (opset 17), and the form older
/// exporters write it in, ReduceMean → Sub → Pow 2 → ReduceMean → Add ε → Sqrt → Div, then an
/// optional Mul by a constant scale and Add of a constant bias, fused into one step that reads the
/// row once for its mean and once for its variance, instead of nine passes over the tensor.
/// </summary>
internal static class LayerNormOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var axis = Strided.Axis(node, context, x.Length, -1);

        if (node.Outputs.Skip(1).Any(o => o.Length > 0 && context.Readers(o).Count > 0))
        {
            throw context.Error(node, "the Mean and InvStdDev outputs of LayerNormalization are not supported");
        }

        var cols = Strided.Product(x.AsSpan(axis));
        CheckParameter(node, context, 1, cols);
        if (node.HasInput(2))
        {
            CheckParameter(node, context, 2, cols);
        }

        context.SetShape(node.Outputs[0], x);
        var inputs = node.Inputs.Take(3).Where(i => i.Length > 0).ToArray();
        return new LayerNormStep(node, inputs, node.Outputs[0], x, cols, node.GetFloat("epsilon", 1e-5f), hasScale: true, node.HasInput(2));
    }

    /// <summary>
    /// Plans the decomposed layer norm that starts at <paramref name="mean"/> (a ReduceMean over the
    /// trailing axes) as one step, or returns null when the nodes after it are not that pattern.
    /// </summary>
    public static Step? TryPlanDecomposed(GraphNode mean, PlanContext context)
    {
        var x = context.Shape(mean, 0);
        var axes = mean.HasInput(1) ? context.IsConstant(mean.Inputs[1]) ? context.Constant(mean, 1).AsInts() : null : mean.GetInts("axes");
        if (axes is null || axes.Length == 0 || mean.GetInt("keepdims", 1) == 0)
        {
            return null;
        }

        var normalized = axes.Select(a => (int)(a < 0 ? a + x.Length : a)).Order().ToArray();
        if (!normalized.SequenceEqual(Enumerable.Range(x.Length - axes.Length, axes.Length)))
        {
            return null;
        }

        var input = mean.Inputs[0];
        var sub = Patterns.Only(context, mean.Outputs[0], n => n.OpType == "Sub" && n.Inputs[0] == input && n.Inputs[1] == mean.Outputs[0]);
        var centred = sub?.Outputs[0];
        var readers = centred is null ? [] : context.Readers(centred);
        var pow = readers.FirstOrDefault(n => n.OpType == "Pow" && n.Inputs[0] == centred && IsScalar(context, n.Inputs[1], 2f));
        var div = readers.FirstOrDefault(n => n.OpType == "Div" && n.Inputs[0] == centred);
        var variance = pow is null ? null : Patterns.Only(context, pow.Outputs[0], n => n.OpType == "ReduceMean" && n.GetInt("keepdims", 1) != 0
            && (n.HasInput(1) ? context.IsConstant(n.Inputs[1]) && context.Constant(n, 1).AsInts().SequenceEqual(axes) : n.GetInts("axes")?.SequenceEqual(axes) == true));
        var addEps = variance is null ? null : Patterns.Only(context, variance.Outputs[0], n => n.OpType == "Add" && Patterns.Scalar(context, Patterns.Other(n, variance.Outputs[0])) is not null);
        var sqrt = addEps is null ? null : Patterns.Only(context, addEps.Outputs[0], n => n.OpType == "Sqrt");
        if (sub is null || pow is null || div is null || variance is null || addEps is null || sqrt is null || readers.Count != 2 || div.Inputs[1] != sqrt.Outputs[0])
        {
            return null;
        }

        var cols = Strided.Product(x.AsSpan(x.Length - axes.Length));
        List<GraphNode> nodes = [mean, sub, pow, variance, addEps, sqrt, div];
        var inputs = new List<string> { input };
        var scale = Patterns.Only(context, div.Outputs[0], n => n.OpType == "Mul" && IsParameter(context, Patterns.Other(n, div.Outputs[0]), cols));
        var bias = scale is null ? null : Patterns.Only(context, scale.Outputs[0], n => n.OpType == "Add" && IsParameter(context, Patterns.Other(n, scale.Outputs[0]), cols));
        if (scale is not null)
        {
            nodes.Add(scale);
            inputs.Add(Patterns.Other(scale, div.Outputs[0]));
        }

        if (bias is not null)
        {
            nodes.Add(bias);
            inputs.Add(Patterns.Other(bias, scale!.Outputs[0]));
        }

        if (!context.MayJoin(nodes, inRegionToo: true))
        {
            return null;
        }

        var epsilon = Patterns.Scalar(context, Patterns.Other(addEps, variance.Outputs[0]))!.Value;
        foreach (var node in nodes)
        {
            context.SetShape(node.Outputs[0], node == mean || node == variance ? [.. x.Select((d, i) => i >= x.Length - axes.Length ? 1 : d)] : x);
            if (node != mean)
            {
                context.Absorbed.Add(node);
            }
        }

        return new LayerNormStep(mean, [.. inputs], nodes[^1].Outputs[0], x, cols, epsilon, scale is not null, bias is not null, fused: true);
    }

    private static void CheckParameter(GraphNode node, PlanContext context, int input, int cols)
    {
        if (Tensor.CheckedLength(context.Shape(node, input)) != cols)
        {
            throw context.Error(node, $"input {input} of shape [{Tensor.FormatShape(context.Shape(node, input))}] does not cover the {cols} normalised values");
        }
    }

    private static bool IsScalar(PlanContext context, string name, float value) => Patterns.Scalar(context, name) == value;

    private static bool IsParameter(PlanContext context, string name, int cols) =>
        context.IsConstant(name) && context.Constants[name].Floats is { } f && f.Length == cols;

    private sealed class LayerNormStep(GraphNode node, string[] inputs, string output, int[] shape, int cols, float epsilon, bool hasScale, bool hasBias, bool fused = false)
        : Step(node, inputs, [output])
    {
        private readonly int _rows = Tensor.CheckedLength(shape) / Math.Max(cols, 1);

        public override string Label => fused ? "LayerNormalization(fused)" : Node.OpType;

        public override int InPlaceInput => 0;

        public override bool ReadsInputInBackward(int index) => index == 0 || (index == 1 && hasScale);

        public override bool ReadsOutputInBackward => false;

        public override void Run(StepContext context) =>
            context.Backend.NormalizeRows(RowAffine.PerColumn, _rows, cols, epsilon, context.Input(0).Data, hasScale ? context.Input(1).Data : default,
                hasBias ? context.Input(2).Data : default, context.Output(0, shape).Data);

        public override void Tangent(TangentContext context) =>
            LayerNormOperator.Tangent(context, RowAffine.PerColumn, _rows, cols, epsilon, shape, hasScale ? context.InputShape(1) : null);

        public override void GradientTangent(SecondOrderContext context) =>
            LayerNormOperator.GradientTangent(context, RowAffine.PerColumn, _rows, cols, epsilon, hasScale ? context.InputShape(1) : null);

        public override void Backward(BackwardContext context)
        {
            if (context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            var backend = context.Backend;
            var dx = context.NeedsGradient(0) ? Tensor.Uninitialized(backend, shape) : null;
            var dScale = hasScale && context.NeedsGradient(1) ? Tensor.Uninitialized(backend, context.InputShape(1)) : null;
            var dBias = hasBias && context.NeedsGradient(2) ? Tensor.Uninitialized(backend, context.InputShape(2)) : null;
            backend.NormalizeRowsBackward(RowAffine.PerColumn, _rows, cols, epsilon, context.Input(0).Data, hasScale ? context.Input(1).Data : default,
                gradient.Data, Data(dx), Data(dScale), Data(dBias));
            AddGradients(context, dx, dScale, dBias);
        }
    }

    /// <summary>
    /// The tangent of a <see cref="IKernelBackend.NormalizeRows"/> step whose scale and bias stay constant:
    /// scale ⊙ (S·t), S = ∂x̂/∂x = (I − 11ᵀ/n − x̂x̂ᵀ/n)/σ per row. S is symmetric, so the backward kernel
    /// without a scale computes S·t. <paramref name="scaleShape"/> is how the scale broadcasts against the
    /// data (null for none). A moving scale or bias has no rule.
    /// </summary>
    public static void Tangent(TangentContext context, RowAffine affine, int rows, int cols, float epsilon, int[] shape, int[]? scaleShape)
    {
        if (Enumerable.Range(1, context.Step.Inputs.Length - 1).Any(i => context.InputTangent(i) is not null))
        {
            throw new ModelException($"{context.Step.Node.Describe()}: no forward-mode (Jacobian-vector product) rule for a moving scale or bias.");
        }

        var backend = context.Backend;
        var tangent = Tensor.Uninitialized(backend, shape);
        backend.NormalizeRowsBackward(affine, rows, cols, epsilon, context.Input(0).Data, default, context.InputTangent(0)!.Data, tangent.Data, default, default);
        if (scaleShape is not null)
        {
            backend.Binary(BinaryOp.Mul, tangent.Data, shape, context.Input(1).Data, scaleShape, tangent.Data, shape);
        }

        context.SetOutputTangent(0, tangent);
    }

    /// <summary>
    /// The second-order rule of a <see cref="IKernelBackend.NormalizeRows"/> step whose scale γ and bias
    /// stay constant. Per row of n values, x̂ = (x − μ)/s with s = √(var + ε), and with h = γ ⊙ g the
    /// backward pass is g_x = (h − mean h − x̂·m)/s, m = mean(h ⊙ x̂). Along ẋ, ṡ = a = mean(x̂ ⊙ ẋ) and
    /// x̂ moves by ẋ̂ = S·ẋ (<see cref="Tangent"/>), so the curvature term is
    /// −(a·g_x + ẋ̂·m + x̂·mean(h ⊙ ẋ̂))/s. <paramref name="scaleShape"/> is how γ broadcasts against the
    /// data (null for none).
    /// </summary>
    public static void GradientTangent(SecondOrderContext context, RowAffine affine, int rows, int cols, float epsilon, int[]? scaleShape)
    {
        if (Enumerable.Range(1, context.Step.Inputs.Length - 1).Any(i => context.InputTangent(i) is not null))
        {
            throw context.Refused("a moving scale or bias has no rule");
        }

        context.ThroughBackward();
        if (context.InputTangent(0) is not { } tangent || context.OutputGradient(0) is not { } gradient || !context.NeedsGradient(0))
        {
            return;
        }

        var backend = context.Backend;
        var shape = context.OutputShape(0);
        int[] matrix = [rows, cols];
        int[] column = [rows, 1];
        var x = context.Input(0).Data;
        var scale = scaleShape is null ? default : context.Input(1).Data;

        // x̂ and 1/s per row.
        using var normalized = Tensor.Uninitialized(backend, shape);
        backend.NormalizeRows(affine, rows, cols, epsilon, x, default, default, normalized.Data);
        using var inverse = Tensor.Uninitialized(backend, column);
        using var centred = Tensor.Uninitialized(backend, matrix);
        backend.ReduceRows(RowReduction.Mean, rows, cols, x, inverse.Data);
        backend.Binary(BinaryOp.Sub, x, matrix, inverse.Data, column, centred.Data, matrix);
        backend.Map(new MapFunction(MapFunctionKind.Square), centred.Data, centred.Data);
        backend.ReduceRows(RowReduction.Mean, rows, cols, centred.Data, inverse.Data);
        using (var eps = context.Scalar(epsilon))
        {
            backend.Binary(BinaryOp.Add, inverse.Data, column, eps.Data, [1], inverse.Data, column);
        }

        backend.Unary(UnaryFunction.Sqrt, inverse.Data, inverse.Data);
        backend.Unary(UnaryFunction.Reciprocal, inverse.Data, inverse.Data);

        // ẋ̂ = S·ẋ, h = γ ⊙ g, g_x, and the row means a, m and mean(h ⊙ ẋ̂).
        using var moved = Tensor.Uninitialized(backend, shape);
        backend.NormalizeRowsBackward(affine, rows, cols, epsilon, x, default, tangent.Data, moved.Data, default, default);
        using var h = Tensor.Uninitialized(backend, shape);
        if (scaleShape is null)
        {
            backend.Copy(gradient.Data, h.Data);
        }
        else
        {
            backend.Binary(BinaryOp.Mul, gradient.Data, shape, scale, scaleShape, h.Data, shape);
        }

        var term = Tensor.Uninitialized(backend, shape);
        backend.NormalizeRowsBackward(affine, rows, cols, epsilon, x, scale, gradient.Data, term.Data, default, default);
        using var a = RowMeanOfProduct(backend, rows, cols, normalized, tangent);
        using var m = RowMeanOfProduct(backend, rows, cols, h, normalized);
        using var n = RowMeanOfProduct(backend, rows, cols, h, moved);

        // term = −(a·g_x + ẋ̂·m + x̂·n)/s.
        backend.Binary(BinaryOp.Mul, term.Data, matrix, a.Data, column, term.Data, matrix);
        backend.Binary(BinaryOp.Mul, moved.Data, matrix, m.Data, column, moved.Data, matrix);
        backend.Accumulate(MapFusion.Sum, moved.Data, term.Data);
        backend.Binary(BinaryOp.Mul, normalized.Data, matrix, n.Data, column, normalized.Data, matrix);
        backend.Accumulate(MapFusion.Sum, normalized.Data, term.Data);
        backend.Binary(BinaryOp.Mul, term.Data, matrix, inverse.Data, column, term.Data, matrix);
        backend.Map(new MapFunction(MapFunctionKind.Scale, -1f), term.Data, term.Data);
        context.AddGradientTangent(0, term);
    }

    // mean over each row of u ⊙ v, as a [rows, 1] column.
    private static Tensor RowMeanOfProduct(IKernelBackend backend, int rows, int cols, Tensor u, Tensor v)
    {
        int[] matrix = [rows, cols];
        using var product = Tensor.Uninitialized(backend, matrix);
        backend.Binary(BinaryOp.Mul, u.Data, matrix, v.Data, matrix, product.Data, matrix);
        var mean = Tensor.Uninitialized(backend, rows, 1);
        backend.ReduceRows(RowReduction.Mean, rows, cols, product.Data, mean.Data);
        return mean;
    }

    /// <summary>The storage of a gradient that is computed, or an empty view for one that is not.</summary>
    public static BufferView Data(Tensor? gradient) => gradient?.Data ?? default;

    /// <summary>Hands the gradients of a normalisation's input, scale and bias (those computed) to the backward pass.</summary>
    public static void AddGradients(BackwardContext context, params Tensor?[] gradients)
    {
        for (var i = 0; i < gradients.Length; i++)
        {
            if (gradients[i] is { } gradient)
            {
                context.AddGradient(i, gradient);
            }
        }
    }
}
