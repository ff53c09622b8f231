namespace Salient.Engine.Graph.Operators;

/// <summary>Slice of image data with constant starts, ends, axes and steps (a strided copy); constant tensors are folded by <see cref="ConstantEvaluator"/>.</summary>
internal static class SliceOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var (begin, step, shape) = Ranges(node, context, x);
        var strides = Strided.Strides(x);
        var offset = 0;
        for (var d = 0; d < x.Length; d++)
        {
            offset += begin[d] * strides[d];
            strides[d] *= step[d];
        }

        context.SetShape(node.Outputs[0], shape);
        return new StridedCopyStep(node, x, offset, strides, shape, shape);
    }

    /// <summary>For each axis of <paramref name="x"/>: the first index taken, the step, and how many are taken (ONNX's clamping rules).</summary>
    public static (int[] Begin, int[] Step, int[] Shape) Ranges(GraphNode node, PlanContext context, int[] x)
    {
        long[] starts, ends, axes, steps;
        if (context.Opset >= 10)
        {
            starts = context.Constant(node, 1).AsInts();
            ends = context.Constant(node, 2).AsInts();
            axes = node.HasInput(3) ? context.Constant(node, 3).AsInts() : [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
            steps = node.HasInput(4) ? context.Constant(node, 4).AsInts() : [.. starts.Select(_ => 1L)];
        }
        else
        {
            starts = node.GetInts("starts") ?? [];
            ends = node.GetInts("ends") ?? [];
            axes = node.GetInts("axes") ?? [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
            steps = [.. starts.Select(_ => 1L)];
        }

        var begin = new int[x.Length];
        var step = Enumerable.Repeat(1, x.Length).ToArray();
        var shape = (int[])x.Clone();
        for (var k = 0; k < axes.Length; k++)
        {
            var axis = (int)(axes[k] < 0 ? axes[k] + x.Length : axes[k]);
            if (axis < 0 || axis >= x.Length || steps[k] == 0)
            {
                throw context.Error(node, $"axis {axes[k]} with step {steps[k]} does not fit rank {x.Length}");
            }

            long n = x[axis];
            var s = steps[k];
            var start = starts[k] < 0 ? starts[k] + n : starts[k];
            var end = ends[k] < 0 ? ends[k] + n : ends[k];
            (start, end) = s > 0 ? (Math.Clamp(start, 0, n), Math.Clamp(end, 0, n)) : (Math.Clamp(start, 0, n - 1), Math.Clamp(end, -1, n - 1));
            var count = s > 0 ? (end - start + s - 1) / s : (start - end + (-s) - 1) / (-s);
            begin[axis] = (int)start;
            step[axis] = (int)s;
            shape[axis] = (int)Math.Max(0, count);
        }

        return (begin, step, shape);
    }
}
