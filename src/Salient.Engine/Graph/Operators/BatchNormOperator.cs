using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>Inference BatchNormalization, folded at plan time into one scale and shift per channel.</summary>
internal static class BatchNormOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        if (node.GetInt("training_mode", 0) != 0 || node.Outputs.Skip(1).Any(o => o.Length > 0))
        {
            throw context.Error(node, "training-mode batch normalization is not supported for inference");
        }

        if (x.Length < 2)
        {
            throw context.Error(node, $"input [{Tensor.FormatShape(x)}] has no channel axis");
        }

        var channels = x[1];
        var gamma = Vector(node, context, 1, channels);
        var beta = Vector(node, context, 2, channels);
        var mean = Vector(node, context, 3, channels);
        var variance = Vector(node, context, 4, channels);
        var epsilon = node.GetFloat("epsilon", 1e-5f);
        var scale = new float[channels];
        var shift = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            scale[c] = gamma[c] / MathF.Sqrt(variance[c] + epsilon);
            shift[c] = beta[c] - (mean[c] * scale[c]);
        }

        context.TryFuseActivation(node, out var activation, out var output);
        context.SetShape(node.Outputs[0], x);
        context.SetShape(output, x);
        var spatial = x.Skip(2).Aggregate(1, (a, b) => a * b);
        return new ChannelAffineStep(node, [node.Inputs[0]], [output], x, spatial, scale, shift, activation);
    }

    private static float[] Vector(GraphNode node, PlanContext context, int input, int channels)
    {
        var values = context.Constant(node, input).AsFloats();
        return values.Length == channels ? values : throw context.Error(node, $"input {input} must hold {channels} values, it holds {values.Length}");
    }

    internal sealed class ChannelAffineStep(GraphNode node, string[] inputs, string[] outputs, int[] shape, int spatial, float[] scale, float[] shift, FusedActivation activation)
        : Step(node, inputs, outputs)
    {
        public override void Backward(BackwardContext context)
        {
            System.Diagnostics.Debug.Assert(activation.Kind == ActivationKind.None, "fused step in a gradient region");
            if (context.NeedsGradient(0) && context.OutputGradient(0) is { } gradient)
            {
                // y = x·scale + shift per channel, so dx = dy·scale.
                var input = Tensor.Uninitialized(shape);
                context.Backend.ChannelAffine(shape[0], shape[1], spatial, gradient.Span, scale, new float[shape[1]], input.Span, FusedActivation.None);
                context.AddGradient(0, input);
            }
        }

        public override int InPlaceInput => 0;

        public override void Run(StepContext context)
        {
            var output = context.Output(0, shape);
            context.Backend.ChannelAffine(shape[0], shape[1], spatial, context.Input(0).Span, scale, shift, output.Span, activation);
        }
    }
}
