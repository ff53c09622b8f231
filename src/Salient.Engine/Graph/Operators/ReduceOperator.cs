using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// ReduceMean, ReduceSum, ReduceMax and ReduceMin over any axes (an attribute, or from ReduceSum's
/// opset 13 and the others' opset 18 a constant input), and GlobalMaxPool (ReduceMax over the
/// spatial axes). The reduced axes are moved last when they are not already, then each row reduces.
/// Max and Min send the gradient to the maxima (split between ties, as torch.amax), GlobalMaxPool
/// to the first one (as max pooling).
/// </summary>
internal static class ReduceOperator
{
    private enum Reduction
    {
        Mean,
        Sum,
        Max,
        Min,
    }

    public static Step Plan(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var reduction = Enum.Parse<Reduction>(node.OpType["Reduce".Length..]);
        var listed = node.HasInput(1) ? context.Constant(node, 1).AsInts() : node.GetInts("axes");
        int[] axes;
        if (listed is null || listed.Length == 0)
        {
            if (node.GetInt("noop_with_empty_axes", 0) != 0)
            {
                return ShapeOperators.PlanIdentity(node, context)!;
            }

            axes = [.. Enumerable.Range(0, x.Length)];
        }
        else
        {
            axes = [.. listed.Select(a => (int)(a < 0 ? a + x.Length : a)).Distinct().Order()];
            if (axes.Any(a => a < 0 || a >= x.Length))
            {
                throw context.Error(node, $"axes [{string.Join(',', listed)}] are out of range for rank {x.Length}");
            }
        }

        return Build(node, context, x, axes, node.GetInt("keepdims", 1) != 0, reduction, firstMaximum: false);
    }

    public static Step PlanGlobalMaxPool(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        if (x.Length < 3)
        {
            throw context.Error(node, $"input [{Tensor.FormatShape(x)}] has no spatial axes");
        }

        return Build(node, context, x, [.. Enumerable.Range(2, x.Length - 2)], keepDims: true, Reduction.Max, firstMaximum: true);
    }

    /// <summary>Whether <paramref name="node"/> averages an [N, C, H, W] value over H and W (a global average pooling written as a mean).</summary>
    public static bool IsSpatialMean(GraphNode node, Func<string, int[]?> shapeOf, Func<string, long[]?> constantInts)
    {
        if (node.OpType != "ReduceMean" || shapeOf(node.Inputs[0]) is not { Length: 4 })
        {
            return false;
        }

        var axes = node.HasInput(1) ? constantInts(node.Inputs[1]) : node.GetInts("axes");
        return axes is { Length: 2 } && axes.Select(a => a < 0 ? a + 4 : a).Order().SequenceEqual([2L, 3L]);
    }

    private static ReduceStep Build(GraphNode node, PlanContext context, int[] x, int[] axes, bool keepDims, Reduction reduction, bool firstMaximum)
    {
        var kept = Enumerable.Range(0, x.Length).Where(d => !axes.Contains(d)).ToArray();
        var keptShape = x.Select((d, i) => axes.Contains(i) ? 1 : d).ToArray();
        var shape = keepDims ? keptShape : [.. kept.Select(d => x[d])];
        context.SetShape(node.Outputs[0], shape);
        return new ReduceStep(node, x, [.. kept, .. axes], shape, reduction, firstMaximum);
    }

    private sealed class ReduceStep(GraphNode node, int[] inShape, int[] order, int[] shape, Reduction reduction, bool firstMaximum)
        : Step(node, [node.Inputs[0]], [node.Outputs[0]])
    {
        private readonly int _rows = Tensor.CheckedLength(shape);
        private readonly int _cols = Tensor.CheckedLength(inShape) / Math.Max(Tensor.CheckedLength(shape), 1);
        private readonly bool _inOrder = order.SequenceEqual(Enumerable.Range(0, inShape.Length));

        public override bool ReadsInputInBackward(int index) => reduction is Reduction.Max or Reduction.Min;

        public override bool ReadsOutputInBackward => reduction is Reduction.Max or Reduction.Min;

        private RowReduction ReductionKind => reduction switch
        {
            Reduction.Mean => RowReduction.Mean,
            Reduction.Sum => RowReduction.Sum,
            Reduction.Max => RowReduction.Max,
            _ => RowReduction.Min,
        };

        // The input in the ordered layout, [kept..., reduced...].
        private int[] OrderedShape => [.. order.Select(d => inShape[d])];

        public override void Run(StepContext context)
        {
            using var x = Ordered(context.Backend, context.Input(0));
            context.Backend.ReduceRows(ReductionKind, _rows, _cols, x.Data, context.Output(0, shape).Data);
        }

        // Sums and means are linear, maxima and minima piecewise linear (the recorded pick routes the
        // gradient tangent as it routes the gradient): no curvature term.
        public override void GradientTangent(SecondOrderContext context) => context.ThroughBackward();

        public override bool ReadsTangentsInSecondOrder => false;

        /// <summary>
        /// Sums and means are linear. A maximum or minimum moves with the element its row picks: the
        /// one its backward pass routes a gradient of one to (the same tie rule), so its tangent is the
        /// row sum of that route times the input's tangent.
        /// </summary>
        public override void Tangent(TangentContext context)
        {
            if (reduction is Reduction.Sum or Reduction.Mean)
            {
                context.Linear();
                return;
            }

            var backend = context.Backend;
            using var x = Ordered(backend, context.Input(0));
            using var t = Ordered(backend, context.InputTangent(0)!);
            using var ones = Tensor.Uninitialized(backend, shape);
            backend.Fill(ones.Data, 1f);
            using var route = Tensor.Uninitialized(backend, OrderedShape);
            backend.ReduceRowsBackward(ReductionKind, firstMaximum, _rows, _cols, x.Data, context.Output(0).Data, ones.Data, route.Data);
            using var picked = Tensor.Uninitialized(backend, OrderedShape);
            backend.Binary(BinaryOp.Mul, route.Data, OrderedShape, t.Data, OrderedShape, picked.Data, OrderedShape);
            var tangent = Tensor.Uninitialized(backend, shape);
            backend.ReduceRows(RowReduction.Sum, _rows, _cols, picked.Data, tangent.Data);
            context.SetOutputTangent(0, tangent);
        }

        public override void Backward(BackwardContext context)
        {
            if (!context.NeedsGradient(0) || context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            // The gradient of each row, in the reduced (ordered) layout first, then back in the input's.
            var backend = context.Backend;
            using var x = reduction is Reduction.Max or Reduction.Min ? Ordered(backend, context.Input(0)) : null;
            var ordered = Tensor.Uninitialized(backend, OrderedShape);
            backend.ReduceRowsBackward(ReductionKind, firstMaximum, _rows, _cols, x?.Data ?? default, x is null ? default : context.Output(0).Data, gradient.Data, ordered.Data);
            if (_inOrder)
            {
                context.AddGradient(0, ordered.TakeStorage(inShape));
                return;
            }

            var dx = Tensor.Zeros(backend, inShape);
            backend.StridedCopy(OrderedShape, ordered.Data, 0, Strided.Strides(OrderedShape), dx.Data, 0, OrderStrides(), accumulate: true);
            ordered.Dispose();
            context.AddGradient(0, dx);
        }

        /// <summary>The input with the kept axes first and the reduced ones last: a view of the input when already so, else a copy.</summary>
        private Tensor Ordered(IKernelBackend backend, Tensor x)
        {
            if (_inOrder)
            {
                return x.Reshape(inShape);
            }

            var copy = Tensor.Uninitialized(backend, OrderedShape);
            backend.StridedCopy(OrderedShape, x.Data, 0, OrderStrides(), copy.Data, 0, Strided.Strides(OrderedShape), accumulate: false);
            return copy;
        }

        private int[] OrderStrides()
        {
            var own = Strided.Strides(inShape);
            return [.. order.Select(d => own[d])];
        }
    }
}
