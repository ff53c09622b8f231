using Salient.Engine.Devices;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// BatchNormalization. For inference, folded at plan time into one scale and shift per channel; in a
/// training plan, normalized with batch statistics while the running ones (initializers) follow them.
/// </summary>
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
        var epsilon = node.GetFloat("epsilon", 1e-5f);
        var spatial = x.Skip(2).Aggregate(1, (a, b) => a * b);
        if (context.Training)
        {
            for (var i = 1; i <= 4; i++)
            {
                Vector(node, context, i, channels);
            }

            context.SetShape(node.Outputs[0], x);
            return new BatchNormTrainingStep(node, x, spatial, epsilon, node.GetFloat("momentum", 0.9f));
        }

        var gamma = Vector(node, context, 1, channels);
        var beta = Vector(node, context, 2, channels);
        var mean = Vector(node, context, 3, channels);
        var variance = Vector(node, context, 4, channels);
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
        // Host parameters as the same buffers every run, so a device backend uploads them once (IKernelBackend).
        private readonly BufferView _scale = BufferView.Host(scale);
        private readonly BufferView _shift = BufferView.Host(shift);
        private readonly BufferView _noShift = BufferView.Host(new float[scale.Length]);

        public ReadOnlySpan<float> Scale => scale;

        public ReadOnlySpan<float> Shift => shift;

        public override StepKind Kind => StepKind.BatchNorm;

        public override FusedActivation Activation => activation;

        public override string Label => LabelWith(activation);

        public override bool ReadsInputInBackward(int index) => false;


        // A per-channel scale and an element-wise activation: a diagonal Jacobian, so the backward pass's product is the tangent's.
        public override void Tangent(TangentContext context) => context.ThroughSymmetricJacobian();

        // A per-channel affine map (inference statistics) and a piecewise-linear activation: no curvature term.
        public override void GradientTangent(SecondOrderContext context) => context.PiecewiseLinear(activation);

        public override bool ReadsTangentsInSecondOrder => false;

        public override string? SecondOrderGap => SecondOrderContext.ActivationGap(activation);

        public override bool ReadsOutputInBackward => activation.Kind != ActivationKind.None;

        public override void Backward(BackwardContext context)
        {
            if (context.NeedsGradient(0) && context.GradientBeforeActivation(activation) is { } pre)
            {
                // y = x·scale + shift per channel, so dx = dy·scale (in place over a gradient this step owns).
                var input = pre.Owned ? pre.Gradient : Tensor.Uninitialized(context.Backend, shape);
                context.Backend.ChannelAffine(shape[0], shape[1], spatial, pre.Gradient.Data, _scale, _noShift, input.Data, FusedActivation.None);
                context.AddGradient(0, input);
            }
        }

        public override int InPlaceInput => 0;

        public override void Run(StepContext context)
        {
            var output = context.Output(0, shape);
            context.Backend.ChannelAffine(shape[0], shape[1], spatial, context.Input(0).Data, _scale, _shift, output.Data, activation);
        }
    }

    /// <summary>
    /// Training batch norm. Each run moves the running statistics (inputs 3 and 4) towards the
    /// batch's, as ONNX and PyTorch do: running = running·momentum + batch·(1 − momentum), with
    /// the unbiased variance.
    /// </summary>
    internal sealed class BatchNormTrainingStep(GraphNode node, int[] shape, int spatial, float epsilon, float momentum)
        : Step(node, node.Inputs[..5], [node.Outputs[0]])
    {
        public override StepKind Kind => StepKind.BatchNormTraining;

        public override void Run(StepContext context)
        {
            var channels = shape[1];
            var output = context.Output(0, shape);
            // The batch statistics come to the host for the running averages, which live there (training runs on the CPU).
            var mean = new float[channels];
            var variance = new float[channels];
            context.Backend.BatchNormTraining(shape[0], channels, spatial, context.Input(0).Data, context.Input(1).Data, context.Input(2).Data,
                epsilon, output.Data, BufferView.Host(mean), BufferView.Host(variance));

            var count = (float)shape[0] * spatial;
            var unbiased = count > 1 ? count / (count - 1) : 1f;
            var runningMean = context.Input(3).Span;
            var runningVariance = context.Input(4).Span;
            for (var c = 0; c < channels; c++)
            {
                runningMean[c] = (runningMean[c] * momentum) + (mean[c] * (1 - momentum));
                runningVariance[c] = (runningVariance[c] * momentum) + (variance[c] * unbiased * (1 - momentum));
            }
        }

        public override void Backward(BackwardContext context)
        {
            if (context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            var channels = shape[1];
            var input = Tensor.Uninitialized(context.Backend, shape);
            var gamma = Tensor.Uninitialized(context.Backend, channels);
            var beta = Tensor.Uninitialized(context.Backend, channels);
            context.Backend.BatchNormTrainingBackward(shape[0], channels, spatial, context.Input(0).Data, context.Input(1).Data, epsilon,
                gradient.Data, input.Data, gamma.Data, beta.Data);
            AddOrDrop(context, 0, input);
            AddOrDrop(context, 1, gamma);
            AddOrDrop(context, 2, beta);
        }

        private static void AddOrDrop(BackwardContext context, int index, Tensor gradient)
        {
            if (context.NeedsGradient(index))
            {
                context.AddGradient(index, gradient);
            }
            else
            {
                gradient.Dispose();
            }
        }
    }
}
