using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>InstanceNormalization: each (image, channel) plane normalised over its spatial values, then scaled and shifted per channel.</summary>
internal static class InstanceNormOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        if (x.Length < 3 || Tensor.CheckedLength(context.Shape(node, 1)) != x[1] || Tensor.CheckedLength(context.Shape(node, 2)) != x[1])
        {
            throw context.Error(node, $"input [{Tensor.FormatShape(x)}] needs spatial axes and a scale and bias per channel");
        }

        context.SetShape(node.Outputs[0], x);
        return new InstanceNormStep(node, x, node.GetFloat("epsilon", 1e-5f));
    }

    private sealed class InstanceNormStep(GraphNode node, int[] shape, float epsilon) : Step(node, [node.Inputs[0], node.Inputs[1], node.Inputs[2]], [node.Outputs[0]])
    {
        private readonly int _channels = shape[1];
        private readonly int _plane = Strided.Product(shape.AsSpan(2));

        public override int InPlaceInput => 0;

        public override bool ReadsInputInBackward(int index) => index < 2;

        public override bool ReadsOutputInBackward => false;

        public override void Run(StepContext context) =>
            context.Backend.NormalizeRows(RowAffine.PerRow, shape[0] * _channels, _plane, epsilon, context.Input(0).Data, context.Input(1).Data,
                context.Input(2).Data, context.Output(0, shape).Data);

        // The scale is one per channel: against [N, C, ...] it broadcasts as [C, 1, ...].
        public override void Tangent(TangentContext context) =>
            LayerNormOperator.Tangent(context, RowAffine.PerRow, shape[0] * _channels, _plane, epsilon, shape, ScaleShape);

        public override void GradientTangent(SecondOrderContext context) =>
            LayerNormOperator.GradientTangent(context, RowAffine.PerRow, shape[0] * _channels, _plane, epsilon, ScaleShape);

        private int[] ScaleShape => [_channels, .. Enumerable.Repeat(1, shape.Length - 2)];

        public override void Backward(BackwardContext context)
        {
            if (context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            var backend = context.Backend;
            var dx = context.NeedsGradient(0) ? Tensor.Uninitialized(backend, shape) : null;
            var dScale = context.NeedsGradient(1) ? Tensor.Uninitialized(backend, context.InputShape(1)) : null;
            var dBias = context.NeedsGradient(2) ? Tensor.Uninitialized(backend, context.InputShape(2)) : null;
            backend.NormalizeRowsBackward(RowAffine.PerRow, shape[0] * _channels, _plane, epsilon, context.Input(0).Data, context.Input(1).Data,
                gradient.Data, LayerNormOperator.Data(dx), LayerNormOperator.Data(dScale), LayerNormOperator.Data(dBias));
            LayerNormOperator.AddGradients(context, dx, dScale, dBias);
        }
    }
}
