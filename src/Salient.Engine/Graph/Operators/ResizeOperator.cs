using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// Resize (opset 10 on) and Upsample (before it) in nearest and linear modes, on any axes: one 1-D
/// resampling per resized axis, each output index reading one (nearest) or two (linear) input
/// indices with weights; the backward pass is the transposed resampling, axes in reverse order.
/// </summary>
internal static class ResizeOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var mode = node.GetString("mode") ?? "nearest";
        if (mode is not ("nearest" or "linear" or "bilinear"))
        {
            throw context.Error(node, $"mode '{mode}' is not supported (nearest, linear)");
        }

        var (transform, nearest) = node.OpType == "Upsample" || context.Opset < 11
            ? ("asymmetric", "floor")
            : (node.GetString("coordinate_transformation_mode") ?? "half_pixel", node.GetString("nearest_mode") ?? "round_prefer_floor");
        var (scales, sizes) = ScalesAndSizes(node, context, x);
        var shape = new int[x.Length];
        var axes = new List<AxisResampling>();
        for (var d = 0; d < x.Length; d++)
        {
            shape[d] = sizes is not null ? sizes[d] : (int)Math.Floor(x[d] * scales![d]);
            var scale = sizes is not null ? (double)shape[d] / x[d] : scales![d];
            if (shape[d] <= 0)
            {
                throw context.Error(node, $"axis {d} would have size {shape[d]}");
            }

            if (shape[d] != x[d] || scale != 1.0)
            {
                var (index, weight, taps) = Sample(x[d], shape[d], scale, transform, mode == "nearest" ? nearest : null)
                    ?? throw context.Error(node, $"coordinate_transformation_mode '{transform}' with nearest_mode '{nearest}' is not supported");
                // Axes before d already have their output sizes: each resampling reads the previous one's result.
                axes.Add(new AxisResampling(Strided.Product(shape.AsSpan(0, d)), x[d], shape[d], Strided.Product(x.AsSpan(d + 1)), taps, index, weight));
            }
        }

        context.SetShape(node.Outputs[0], shape);
        return new ResizeStep(node, x, shape, [.. axes]);
    }

    private static (double[]? Scales, int[]? Sizes) ScalesAndSizes(GraphNode node, PlanContext context, int[] x)
    {
        if (node.OpType == "Upsample" && context.Opset < 9)
        {
            return (node.GetFloats("scales")?.Select(s => (double)s).ToArray() ?? throw context.Error(node, "scales are required"), null);
        }

        // Upsample 9 and Resize 10: X, scales. Resize 11 on: X, roi, scales, sizes.
        var scalesInput = node.OpType == "Upsample" || context.Opset < 11 ? 1 : 2;
        if (node.HasInput(scalesInput) && context.Constant(node, scalesInput).AsFloats() is { Length: > 0 } scales)
        {
            return scales.Length == x.Length ? ([.. scales.Select(s => (double)s)], null) : throw context.Error(node, $"{scales.Length} scales do not fit rank {x.Length}");
        }

        if (node.HasInput(3) && context.Constant(node, 3).AsInts() is { } sizes && sizes.Length == x.Length)
        {
            return (null, [.. sizes.Select(s => (int)s)]);
        }

        throw context.Error(node, "neither scales nor sizes (one per axis) are given");
    }

    private static (int[] Index, float[] Weight, int Taps)? Sample(int inSize, int outSize, double scale, string transform, string? nearest)
    {
        var taps = nearest is null ? 2 : 1;
        var index = new int[outSize * taps];
        var weight = new float[outSize * taps];
        for (var o = 0; o < outSize; o++)
        {
            double? mapped = transform switch
            {
                "half_pixel" => ((o + 0.5) / scale) - 0.5,
                "pytorch_half_pixel" => outSize > 1 ? ((o + 0.5) / scale) - 0.5 : 0,
                "align_corners" => outSize > 1 ? o * (inSize - 1) / (double)(outSize - 1) : 0,
                "asymmetric" => o / scale,
                "tf_half_pixel_for_nn" => (o + 0.5) / scale,
                _ => null,
            };
            if (mapped is not { } source)
            {
                return null;
            }

            if (nearest is not null)
            {
                double? rounded = nearest switch
                {
                    "round_prefer_floor" => source - Math.Floor(source) == 0.5 ? Math.Floor(source) : Math.Round(source, MidpointRounding.AwayFromZero),
                    "round_prefer_ceil" => Math.Round(source, MidpointRounding.AwayFromZero) is var r && source - Math.Floor(source) == 0.5 ? Math.Ceiling(source) : r,
                    "floor" => Math.Floor(source),
                    "ceil" => Math.Ceiling(source),
                    _ => null,
                };
                if (rounded is not { } at)
                {
                    return null;
                }

                index[o] = (int)Math.Clamp(at, 0, inSize - 1);
                weight[o] = 1f;
                continue;
            }

            // Linear: outside the input the edge value repeats.
            source = Math.Clamp(source, 0, inSize - 1);
            var low = (int)Math.Floor(source);
            var high = Math.Min(low + 1, inSize - 1);
            var frac = (float)(source - low);
            (index[2 * o], index[(2 * o) + 1]) = (low, high);
            (weight[2 * o], weight[(2 * o) + 1]) = (1f - frac, frac);
        }

        return (index, weight, taps);
    }

    private sealed class ResizeStep(GraphNode node, int[] inShape, int[] shape, AxisResampling[] axes) : Step(node, [node.Inputs[0]], [node.Outputs[0]])
    {
        public override bool ReadsInputInBackward(int index) => false;

        public override bool ReadsOutputInBackward => false;

        // Linear in its input: the same computation carries the tangent.
        public override void Tangent(TangentContext context) => context.Linear();

        // Linear in its inputs: the gradient tangent takes the gradient's way back, with no curvature term.
        public override void GradientTangent(SecondOrderContext context) => context.ThroughBackward();

        public override bool ReadsTangentsInSecondOrder => false;

        public override void Run(StepContext context)
        {
            var backend = context.Backend;
            var output = context.Output(0, shape);
            if (axes.Length == 0)
            {
                backend.Copy(context.Input(0).Data, output.Data);
                return;
            }

            // One axis at a time; the last writes the output.
            Tensor? current = null;
            for (var k = 0; k < axes.Length; k++)
            {
                var a = axes[k];
                var next = k == axes.Length - 1 ? output : Tensor.Uninitialized(backend, a.Outer * a.OutSize * a.Inner);
                backend.ResampleAxis(a, current?.Data ?? context.Input(0).Data, next.Data);
                current?.Dispose();
                current = next == output ? null : next;
            }
        }

        public override void Backward(BackwardContext context)
        {
            if (!context.NeedsGradient(0) || context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            // The transposed resamplings, axes in reverse order; the first axis's writes the input gradient.
            var backend = context.Backend;
            var input = Tensor.Uninitialized(backend, inShape);
            if (axes.Length == 0)
            {
                backend.Copy(gradient.Data, input.Data);
            }

            Tensor? current = null;
            for (var k = axes.Length - 1; k >= 0; k--)
            {
                var a = axes[k];
                var previous = k == 0 ? input : Tensor.Uninitialized(backend, a.Outer * a.InSize * a.Inner);
                backend.ResampleAxisBackward(a, current?.Data ?? gradient.Data, previous.Data);
                current?.Dispose();
                current = previous == input ? null : previous;
            }

            context.AddGradient(0, input);
        }
    }
}
