using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>MaxPool, AveragePool (2-D) and GlobalAveragePool.</summary>
internal static class PoolOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        if (x.Length != 4)
        {
            throw context.Error(node, $"only 2-D pooling on [N,C,H,W] input is supported, the input is [{Tensor.FormatShape(x)}]");
        }

        if (node.Outputs.Length > 1 && node.Outputs[1].Length > 0)
        {
            throw context.Error(node, "the Indices output of MaxPool is not supported");
        }

        var kernel = Spatial.Ints(node, "kernel_shape", [0, 0]);
        if (kernel[0] == 0)
        {
            throw context.Error(node, "kernel_shape is required");
        }

        var strides = Spatial.Ints(node, "strides", [1, 1]);
        var dilations = Spatial.Ints(node, "dilations", [1, 1]);
        var pads = Spatial.Pads(node, context, x, kernel, strides, dilations);
        var g = new Pool2dGeometry(x[0], x[1], x[2], x[3], kernel[0], kernel[1], strides[0], strides[1],
            pads[0], pads[1], pads[2], pads[3], dilations[0], dilations[1], node.GetInt("ceil_mode", 0) != 0);
        if (g.OutHeight <= 0 || g.OutWidth <= 0)
        {
            throw context.Error(node, $"input [{Tensor.FormatShape(x)}] is too small for a {kernel[0]}x{kernel[1]} window");
        }

        context.SetShape(node.Outputs[0], [g.Batch, g.Channels, g.OutHeight, g.OutWidth]);
        return node.OpType == "MaxPool"
            ? new MaxPoolStep(node, g)
            : new AvgPoolStep(node, g, node.GetInt("count_include_pad", 0) != 0);
    }

    public static Step PlanGlobal(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        if (x.Length < 3)
        {
            throw context.Error(node, $"input [{Tensor.FormatShape(x)}] has no spatial axes");
        }

        var shape = x.Select((d, i) => i < 2 ? d : 1).ToArray();
        context.SetShape(node.Outputs[0], shape);
        return new GlobalAvgPoolStep(node, shape, x[0] * x[1], x.Skip(2).Aggregate(1, (a, b) => a * b));
    }

    internal sealed class MaxPoolStep(GraphNode node, Pool2dGeometry g) : Step(node, [node.Inputs[0]], [node.Outputs[0]])
    {
        public override StepKind Kind => StepKind.MaxPool;

        public override Pool2dGeometry? PoolGeometry => g;

        public override void Backward(BackwardContext context)
        {
            if (context.NeedsGradient(0) && context.OutputGradient(0) is { } gradient)
            {
                var input = Tensor.Uninitialized(context.Backend, context.Input(0).Shape);
                context.Backend.MaxPool2dBackward(g, context.Input(0).Data, context.Output(0).Data, gradient.Data, input.Data);
                context.AddGradient(0, input);
            }
        }

        // Piecewise linear: each output moves with its window's maximum.
        public override void Tangent(TangentContext context)
        {
            var tangent = Tensor.Uninitialized(context.Backend, [g.Batch, g.Channels, g.OutHeight, g.OutWidth]);
            context.Backend.MaxPool2dTangent(g, context.Input(0).Data, context.Output(0).Data, context.InputTangent(0)!.Data, tangent.Data);
            context.SetOutputTangent(0, tangent);
        }

        // Piecewise linear: the recorded routing carries the gradient tangent, no curvature term (almost everywhere).
        public override void GradientTangent(SecondOrderContext context) => context.ThroughBackward();

        public override bool ReadsTangentsInSecondOrder => false;

        public override void Run(StepContext context)
        {
            var output = context.Output(0, [g.Batch, g.Channels, g.OutHeight, g.OutWidth]);
            context.Backend.MaxPool2d(g, context.Input(0).Data, output.Data);
        }
    }

    internal sealed class AvgPoolStep(GraphNode node, Pool2dGeometry g, bool countIncludePad) : Step(node, [node.Inputs[0]], [node.Outputs[0]])
    {
        public override StepKind Kind => StepKind.AveragePool;

        public override Pool2dGeometry? PoolGeometry => g;

        public bool CountIncludePad => countIncludePad;

        // Linear in its input: the same computation carries the tangent.
        public override void Tangent(TangentContext context) => context.Linear();

        // Linear in its inputs: the gradient tangent takes the gradient's way back, with no curvature term.
        public override void GradientTangent(SecondOrderContext context) => context.ThroughBackward();

        public override bool ReadsTangentsInSecondOrder => false;

        public override void Backward(BackwardContext context)
        {
            if (context.NeedsGradient(0) && context.OutputGradient(0) is { } gradient)
            {
                var input = Tensor.Uninitialized(context.Backend, context.Input(0).Shape);
                context.Backend.AvgPool2dBackward(g, countIncludePad, gradient.Data, input.Data);
                context.AddGradient(0, input);
            }
        }

        public override void Run(StepContext context)
        {
            var output = context.Output(0, [g.Batch, g.Channels, g.OutHeight, g.OutWidth]);
            context.Backend.AvgPool2d(g, countIncludePad, context.Input(0).Data, output.Data);
        }
    }

    internal sealed class GlobalAvgPoolStep(GraphNode node, int[] shape, int planes, int planeSize) : Step(node, [node.Inputs[0]], [node.Outputs[0]])
    {
        public override StepKind Kind => StepKind.GlobalAveragePool;

        // Linear in its input: the same computation carries the tangent.
        public override void Tangent(TangentContext context) => context.Linear();

        // Linear in its inputs: the gradient tangent takes the gradient's way back, with no curvature term.
        public override void GradientTangent(SecondOrderContext context) => context.ThroughBackward();

        public override bool ReadsTangentsInSecondOrder => false;

        public override void Backward(BackwardContext context)
        {
            if (context.NeedsGradient(0) && context.OutputGradient(0) is { } gradient)
            {
                var input = Tensor.Uninitialized(context.Backend, context.Input(0).Shape);
                context.Backend.GlobalAvgPoolBackward(planes, planeSize, gradient.Data, input.Data);

                context.AddGradient(0, input);
            }
        }

        public override void Run(StepContext context)
        {
            var output = context.Output(0, shape);
            context.Backend.GlobalAvgPool(planes, planeSize, context.Input(0).Data, output.Data);
        }
    }
}
