using Salient.Engine.Graph.Backward;

namespace Salient.Engine.Graph.Operators;

/// <summary>Split of image data along one axis; sizes from the attribute (before opset 13), the input (13 on), or equal parts.</summary>
internal static class SplitOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var axis = Strided.Axis(node, context, x.Length, 0);

        var parts = node.Outputs.Length;
        var sizes = (context.Opset >= 13 ? node.HasInput(1) ? context.Constant(node, 1).AsInts() : null : node.GetInts("split"))?.Select(s => (int)s).ToArray();
        if (sizes is null)
        {
            // Equal parts, the last one smaller when the axis does not divide (opset 18's rule).
            var each = (x[axis] + parts - 1) / parts;
            sizes = [.. Enumerable.Range(0, parts).Select(i => Math.Clamp(x[axis] - (i * each), 0, each))];
        }

        if (sizes.Length != parts || sizes.Sum() != x[axis] || sizes.Any(s => s < 0))
        {
            throw context.Error(node, $"split [{string.Join(',', sizes)}] does not cut axis {axis} of [{Tensor.FormatShape(x)}] into {parts} parts");
        }

        for (var i = 0; i < parts; i++)
        {
            var shape = (int[])x.Clone();
            shape[axis] = sizes[i];
            context.SetShape(node.Outputs[i], shape);
        }

        return new SplitStep(node, x, axis, sizes);
    }

    private sealed class SplitStep(GraphNode node, int[] inShape, int axis, int[] sizes) : Step(node, [node.Inputs[0]], node.Outputs)
    {
        private readonly PartCopy _parts = new(inShape, axis, sizes);

        public override bool ReadsInputInBackward(int index) => false;

        public override bool ReadsOutputInBackward => false;

        // Linear in its input: the same computation carries the tangent.
        public override void Tangent(TangentContext context) => context.Linear();

        // Linear in its inputs: the gradient tangent takes the gradient's way back, with no curvature term.
        public override void GradientTangent(SecondOrderContext context) => context.ThroughBackward();

        public override bool ReadsTangentsInSecondOrder => false;

        private int[] PartShape(int i)
        {
            var shape = (int[])inShape.Clone();
            shape[axis] = sizes[i];
            return shape;
        }

        public override void Run(StepContext context)
        {
            var input = context.Input(0).Data;
            for (var i = 0; i < sizes.Length; i++)
            {
                var part = context.Output(i, PartShape(i));
                _parts.FromWhole(context.Backend, i, input, part.Data);
            }
        }

        public override void Backward(BackwardContext context)
        {
            if (!context.NeedsGradient(0))
            {
                return;
            }

            var input = Tensor.Zeros(context.Backend, inShape);
            for (var i = 0; i < sizes.Length; i++)
            {
                if (context.OutputGradient(i) is { } gradient)
                {
                    _parts.ToWhole(context.Backend, i, gradient.Data, input.Data);
                }
            }

            context.AddGradient(0, input);
        }
    }
}
