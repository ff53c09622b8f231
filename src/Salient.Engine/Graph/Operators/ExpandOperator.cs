using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>Expand (numpy broadcasting to a constant shape) of image data: a copy with zero strides on the broadcast axes.</summary>
internal static class ExpandOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var target = context.Constant(node, 1).AsInts().Select(d => (int)d).ToArray();
        var shape = BinaryOperator.BroadcastShape(x, target) ?? throw context.Error(node, $"[{Tensor.FormatShape(x)}] does not broadcast to [{string.Join(',', target)}]");
        context.SetShape(node.Outputs[0], shape);
        return new StridedCopyStep(node, x, 0, BroadcastStrides(x, shape), shape, shape);
    }

    /// <summary>Strides that read <paramref name="x"/> broadcast to <paramref name="shape"/>: zero on the axes it is repeated along.</summary>
    public static int[] BroadcastStrides(int[] x, int[] shape)
    {
        var own = Strided.Strides(x);
        var lead = shape.Length - x.Length;
        return [.. shape.Select((_, d) => d < lead || x[d - lead] == 1 ? 0 : own[d - lead])];
    }

    /// <summary>
    /// <paramref name="x"/> (of shape <paramref name="xShape"/>) broadcast to <paramref name="shape"/> on the backend: a view of it
    /// when the shapes are equal, else a copy the caller disposes either way.
    /// </summary>
    public static Tensor Broadcast(IKernelBackend backend, Tensor x, int[] xShape, int[] shape)
    {
        if (xShape.AsSpan().SequenceEqual(shape))
        {
            return x.Reshape(shape);
        }

        var result = Tensor.Uninitialized(backend, shape);
        backend.StridedCopy(shape, x.Data, 0, BroadcastStrides(xShape, shape), result.Data, 0, Strided.Strides(shape), accumulate: false);
        return result;
    }
}
