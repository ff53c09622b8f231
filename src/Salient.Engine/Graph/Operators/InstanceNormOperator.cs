using System.Numerics.Tensors;
using Salient.Engine.Graph.Backward;

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

        public override void Run(StepContext context)
        {
            var x = context.Input(0).Memory;
            var scale = context.Input(1).Memory;
            var bias = context.Input(2).Memory;
            var y = context.Output(0, shape).Memory;
            LayerNormOperator.ForRows(shape[0] * _channels, (start, end) =>
            {
                for (var r = start; r < end; r++)
                {
                    var yr = y.Span.Slice(r * _plane, _plane);
                    LayerNormOperator.Normalize(x.Span.Slice(r * _plane, _plane), yr, epsilon);
                    TensorPrimitives.Multiply(yr, scale.Span[r % _channels], yr);
                    TensorPrimitives.Add(yr, bias.Span[r % _channels], yr);
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
            var scale = context.Input(1).Span;
            var dx = context.NeedsGradient(0) ? Tensor.Uninitialized(shape) : null;
            var dScale = context.NeedsGradient(1) ? Tensor.Zeros(context.InputShape(1)) : null;
            var dBias = context.NeedsGradient(2) ? Tensor.Zeros(context.InputShape(2)) : null;
            var normalized = new float[_plane];
            var g = new float[_plane];
            for (var r = 0; r < shape[0] * _channels; r++)
            {
                var c = r % _channels;
                var dyr = gradient.Span.Slice(r * _plane, _plane);
                var rstd = LayerNormOperator.Normalize(x.Slice(r * _plane, _plane), normalized, epsilon);
                if (dScale is not null)
                {
                    dScale.Span[c] += TensorPrimitives.Dot(dyr, normalized);
                }

                if (dBias is not null)
                {
                    dBias.Span[c] += TensorPrimitives.Sum(dyr);
                }

                if (dx is not null)
                {
                    TensorPrimitives.Multiply(dyr, scale[c], g);
                    LayerNormOperator.NormalizeBackward(normalized, rstd, g, dx.Span.Slice(r * _plane, _plane));
                }
            }

            LayerNormOperator.AddGradients(context, dx, dScale, dBias);
        }
    }
}
