using System.Numerics.Tensors;
using Salient.Engine.Graph.Backward;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// Layer normalisation over the trailing axes: LayerNormalization (opset 17), and the form older
/// exporters write it in, ReduceMean → Sub → Pow 2 → ReduceMean → Add ε → Sqrt → Div, then an
/// optional Mul by a constant scale and Add of a constant bias, fused into one step that reads the
/// row once for its mean and once for its variance, instead of nine passes over the tensor.
/// </summary>
internal static class LayerNormOperator
{
    private const int RowsPerTask = 64;

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

    /// <summary>Normalises <paramref name="x"/> to zero mean and unit (biased) variance into <paramref name="y"/>; returns 1/σ.</summary>
    public static float Normalize(ReadOnlySpan<float> x, Span<float> y, float epsilon)
    {
        var n = x.Length;
        TensorPrimitives.Subtract(x, TensorPrimitives.Sum(x) / n, y);
        var rstd = 1f / MathF.Sqrt((TensorPrimitives.SumOfSquares(y) / n) + epsilon);
        TensorPrimitives.Multiply(y, rstd, y);
        return rstd;
    }

    /// <summary>
    /// The input gradient of a normalisation, given the normalised values x̂, 1/σ and g = dy·scale:
    /// dx = (g − mean(g) − x̂·mean(g·x̂))/σ. <paramref name="dx"/> may be <paramref name="g"/>.
    /// </summary>
    public static void NormalizeBackward(ReadOnlySpan<float> normalized, float rstd, ReadOnlySpan<float> g, Span<float> dx)
    {
        var n = normalized.Length;
        var meanG = TensorPrimitives.Sum(g) / n;
        var meanGx = TensorPrimitives.Dot(g, normalized) / n;
        for (var i = 0; i < n; i++)
        {
            dx[i] = (g[i] - meanG - (normalized[i] * meanGx)) * rstd;
        }
    }

    private sealed class LayerNormStep(GraphNode node, string[] inputs, string output, int[] shape, int cols, float epsilon, bool hasScale, bool hasBias, bool fused = false)
        : Step(node, inputs, [output])
    {
        private readonly int _rows = Tensor.CheckedLength(shape) / Math.Max(cols, 1);

        public override string Label => fused ? "LayerNormalization(fused)" : Node.OpType;

        public override int InPlaceInput => 0;

        public override bool ReadsInputInBackward(int index) => index == 0 || (index == 1 && hasScale);

        public override bool ReadsOutputInBackward => false;

        public override void Run(StepContext context)
        {
            var x = context.Input(0).Memory;
            var scale = hasScale ? context.Input(1).Memory : Memory<float>.Empty;
            var bias = hasBias ? context.Input(2).Memory : Memory<float>.Empty;
            var y = context.Output(0, shape).Memory;
            ForRows(_rows, (start, end) =>
            {
                for (var r = start; r < end; r++)
                {
                    var yr = y.Span.Slice(r * cols, cols);
                    Normalize(x.Span.Slice(r * cols, cols), yr, epsilon);
                    if (hasScale)
                    {
                        TensorPrimitives.Multiply(yr, scale.Span, yr);
                    }

                    if (hasBias)
                    {
                        TensorPrimitives.Add(yr, bias.Span, yr);
                    }
                }
            });
        }

        public override void Backward(BackwardContext context)
        {
            if (context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            var x = context.Input(0).Span;
            var dy = gradient.Span;
            var scale = hasScale ? context.Input(1).Span : default;
            var dx = context.NeedsGradient(0) ? Tensor.Uninitialized(shape) : null;
            var dScale = hasScale && context.NeedsGradient(1) ? Tensor.Zeros(context.InputShape(1)) : null;
            var dBias = hasBias && context.NeedsGradient(2) ? Tensor.Zeros(context.InputShape(2)) : null;
            var normalized = new float[cols];
            var g = new float[cols];
            for (var r = 0; r < _rows; r++)
            {
                var dyr = dy.Slice(r * cols, cols);
                var rstd = Normalize(x.Slice(r * cols, cols), normalized, epsilon);
                if (dScale is not null)
                {
                    TensorPrimitives.MultiplyAdd(dyr, normalized, dScale.Span, dScale.Span);
                }

                if (dBias is not null)
                {
                    TensorPrimitives.Add(dBias.Span, dyr, dBias.Span);
                }

                if (dx is not null)
                {
                    if (hasScale)
                    {
                        TensorPrimitives.Multiply(dyr, scale, g);
                    }
                    else
                    {
                        dyr.CopyTo(g);
                    }

                    NormalizeBackward(normalized, rstd, g, dx.Span.Slice(r * cols, cols));
                }
            }

            AddGradients(context, dx, dScale, dBias);
        }
    }

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

    /// <summary>Runs <paramref name="body"/> over row ranges, in parallel when there are enough rows to pay for it.</summary>
    public static void ForRows(int rows, Action<int, int> body)
    {
        if (rows < 2 * RowsPerTask)
        {
            body(0, rows);
            return;
        }

        Parallel.For(0, (rows + RowsPerTask - 1) / RowsPerTask, t => body(t * RowsPerTask, Math.Min(rows, (t + 1) * RowsPerTask)));
    }
}
