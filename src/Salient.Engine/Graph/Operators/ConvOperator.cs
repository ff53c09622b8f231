using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;
using Salient.Engine.Memory;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// ONNX Conv (2-D), with a following activation fused in when nothing observes the value between,
/// and a following residual Add (and its activation) when the Add's other input is already computed.
/// </summary>
internal static class ConvOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        if (x.Length != 4)
        {
            throw context.Error(node, $"only 2-D convolution on [N,C,H,W] input is supported, the input is [{Tensor.FormatShape(x)}]");
        }

        var weight = context.Constant(node, 1).Floats ?? throw context.Error(node, "weights must be float");
        var w = weight.Shape;
        var groups = (int)node.GetInt("group", 1);
        if (w.Length != 4 || groups <= 0 || x[1] != w[1] * groups || w[0] % groups != 0)
        {
            throw context.Error(node, $"weights [{Tensor.FormatShape(w)}] with {groups} group(s) do not fit input [{Tensor.FormatShape(x)}]");
        }

        Tensor? bias = null;
        if (node.HasInput(2))
        {
            bias = context.Constant(node, 2).Floats;
            if (bias is null || bias.Length != w[0])
            {
                throw context.Error(node, $"bias must hold {w[0]} floats");
            }
        }

        var kernel = Spatial.Ints(node, "kernel_shape", [w[2], w[3]]);
        if (kernel[0] != w[2] || kernel[1] != w[3])
        {
            throw context.Error(node, $"kernel_shape [{string.Join(',', kernel)}] disagrees with weights [{Tensor.FormatShape(w)}]");
        }

        var strides = Spatial.Ints(node, "strides", [1, 1]);
        var dilations = Spatial.Ints(node, "dilations", [1, 1]);
        var pads = Spatial.Pads(node, context, x, kernel, strides, dilations);
        var g = new Conv2dGeometry(x[0], x[1], x[2], x[3], w[0], w[2], w[3], strides[0], strides[1],
            pads[0], pads[1], pads[2], pads[3], dilations[0], dilations[1], groups);
        if (g.OutHeight <= 0 || g.OutWidth <= 0)
        {
            throw context.Error(node, $"input [{Tensor.FormatShape(x)}] is too small for a {w[2]}x{w[3]} kernel");
        }

        context.TryFuseActivation(node, out var activation, out var output);
        int[] shape = [g.Batch, g.OutChannels, g.OutHeight, g.OutWidth];
        context.SetShape(node.Outputs[0], shape);
        context.SetShape(output, shape);
        // Weights and bias are inputs too, so a training pass can ask for their gradients.
        return new ConvStep(node, node.Inputs.Where(i => i.Length > 0).ToArray(), [output], g, weight, bias, activation, context.Prepared);
    }

    /// <summary>
    /// <paramref name="next"/>, planned right after <paramref name="previous"/>, folded into it when
    /// <paramref name="previous"/> is a plain convolution whose output only <paramref name="next"/>
    /// reads: an inference batch norm goes into the weights and bias; a residual Add (with its
    /// activation) makes the convolution accumulate onto the Add's other input, in that input's
    /// buffer when it dies there. Each saves a pass over the activations. Inside a gradient region
    /// only the batch norm may fold (when the plan fuses there): input gradients through the folded
    /// weights are the batch norm's and the convolution's. Null when they cannot fuse.
    /// </summary>
    public static Step? TryFuse(Step previous, Step next, PlanContext context)
    {
        if (previous is not ConvStep { Residual: false } conv || conv.Activation.Kind != ActivationKind.None
            || context.SoleFusableReader(conv.Node, conv.Outputs[0], inRegionToo: next is BatchNormOperator.ChannelAffineStep) != next.Node)
        {
            return null;
        }

        switch (next)
        {
            case BatchNormOperator.ChannelAffineStep norm when norm.Inputs[0] == conv.Outputs[0]:
                var (weight, bias) = context.Folded.GetOrAdd(norm.Node, () => Fold(conv, norm));
                return new ConvStep(conv.Node, conv.Inputs, norm.Outputs, conv.Geometry, weight, bias, norm.Activation, conv.Prepared, normFolded: true);
            case BinaryOperator.BinaryStep { IsPlainAdd: true } sum:
                var skip = sum.Inputs[0] == conv.Outputs[0] ? sum.Inputs[1] : sum.Inputs[0];
                return skip == conv.Outputs[0] || context.IsConstant(skip)
                    ? null
                    : new ConvStep(conv.Node, [.. conv.Inputs, skip], sum.Outputs, conv.Geometry, conv.Weight, conv.Bias, sum.Activation, conv.Prepared,
                        residual: true, normFolded: conv.NormFolded);
            default:
                return null;
        }
    }

    // y·scale + shift per output channel = conv with weights·scale and bias·scale + shift. The weights
    // are folded when read (ChannelScaledMemory), not kept: the kernels read them to make the forms they
    // keep in the model's cache, so a folded copy beside the loaded one would only cost memory. The bias
    // (one float a channel) is a plain array the model keeps.
    private static (Tensor Weight, Tensor Bias) Fold(ConvStep conv, BatchNormOperator.ChannelAffineStep norm)
    {
        var channels = conv.Geometry.OutChannels;
        var bias = new float[channels];
        for (var oc = 0; oc < channels; oc++)
        {
            bias[oc] = ((conv.Bias?.Span[oc] ?? 0f) * norm.Scale[oc]) + norm.Shift[oc];
        }

        var weight = new ChannelScaledMemory(conv.Weight.Memory, norm.Scale);
        return (Tensor.Wrap(weight.Memory, conv.Weight.Shape), Tensor.Wrap(bias, channels));
    }

    // prepared: the model's cache of weights in the backend's form (null in training plans, whose weights change).
    internal sealed class ConvStep(GraphNode node, string[] inputs, string[] outputs, Conv2dGeometry geometry, Tensor weight, Tensor? bias,
        FusedActivation activation, PreparedWeights? prepared, bool residual = false, bool normFolded = false)
        : Step(node, inputs, outputs)
    {
        public Conv2dGeometry Geometry => geometry;

        public override StepKind Kind => StepKind.Convolution;

        public override Conv2dGeometry? ConvolutionGeometry => geometry;

        public override FusedActivation Activation => activation;

        /// <summary>Whether the last input is a residual the convolution adds onto (a fused Add).</summary>
        public bool Residual => residual;

        /// <summary>Whether a batch norm is folded into <see cref="Weight"/> and <see cref="Bias"/>.</summary>
        public bool NormFolded => normFolded;

        public override int InPlaceInput => residual ? Inputs.Length - 1 : -1;

        // The input gradient needs the weights and, through a fused activation, the output; the
        // input itself only for weight gradients.
        public override bool ReadsInputInBackward(int index) => false;

        public override bool ReadsOutputInBackward => activation.Kind != ActivationKind.None;

        public override string Label =>
            LabelWith(activation, (normFolded ? "+BatchNormalization" : "") + (residual ? "+Add" : ""));

        public Tensor Weight => weight;

        public Tensor? Bias => bias;

        public PreparedWeights? Prepared => prepared;

        public override void Backward(BackwardContext context)
        {
            // Steps a backward pass visits may carry a ReLU or Clip or a folded batch norm (input
            // gradients only: the folded weights are not the model's parameters), never an Add.
            System.Diagnostics.Debug.Assert(!residual, "residual Add fused in a gradient region");
            if (normFolded && (context.NeedsGradient(1) || (Inputs.Length > 2 && context.NeedsGradient(2))))
            {
                throw new InvalidOperationException($"{Node.Describe()}: weight gradients through a folded batch norm; training plans never fold.");
            }

            if (context.GradientBeforeActivation(activation) is not { } pre)
            {
                return;
            }

            using var owned = pre;
            var gradient = pre.Gradient;

            if (context.NeedsGradient(0))
            {
                var input = Tensor.Uninitialized(context.Backend, context.InputShape(0));
                context.Backend.Conv2dBackwardData(geometry, weight.Data, gradient.Data, input.Data, prepared);
                context.AddGradient(0, input);
            }

            var biasWanted = !normFolded && bias is not null && context.NeedsGradient(2);
            if (context.NeedsGradient(1) || biasWanted)
            {
                var weights = Tensor.Uninitialized(context.Backend, weight.Shape);
                var biases = biasWanted ? Tensor.Uninitialized(context.Backend, bias!.Shape) : null;
                context.Backend.Conv2dBackwardWeights(geometry, context.Input(0).Data, gradient.Data, weights.Data, biases is null ? default : biases.Data);
                if (context.NeedsGradient(1))
                {
                    context.AddGradient(1, weights);
                }
                else
                {
                    weights.Dispose();
                }

                if (biases is not null)
                {
                    context.AddGradient(2, biases);
                }
            }
        }

        // Linear in its input and residual (the weights are constants), then a piecewise-linear activation: no curvature term.
        public override void GradientTangent(SecondOrderContext context) => context.PiecewiseLinear(activation);

        public override bool ReadsTangentsInSecondOrder => false;

        public override string? SecondOrderGap => SecondOrderContext.ActivationGap(activation);

        /// <summary>
        /// The convolution of the input's tangent (no bias: the weights are constant), plus the
        /// residual's tangent, then the fused activation's derivative judged from the output.
        /// </summary>
        public override void Tangent(TangentContext context)
        {
            var backend = context.Backend;
            Tensor? tangent = null;
            if (context.InputTangent(0) is { } input)
            {
                tangent = Tensor.Uninitialized(backend, context.OutputShape(0));
                backend.Conv2d(geometry, input.Data, weight.Data, default, tangent.Data, FusedActivation.None, accumulate: false, prepared);
            }

            if (residual && context.InputTangent(Inputs.Length - 1) is { } skip)
            {
                if (tangent is null)
                {
                    tangent = skip.Clone();
                }
                else
                {
                    backend.Accumulate(MapFusion.Sum, skip.Data, tangent.Data);
                }
            }

            if (tangent is null)
            {
                // Only the weights or bias would move: not a tangent this pass computes.
                base.Tangent(context);
                return;
            }

            if (activation.Kind != ActivationKind.None)
            {
                var output = context.Output(0).Data;
                backend.ActivateBackward(activation, output, output, tangent.Data, tangent.Data);
            }

            context.SetOutputTangent(0, tangent);
        }

        public override void Run(StepContext context)
        {
            var g = geometry;
            var output = context.Output(0, [g.Batch, g.OutChannels, g.OutHeight, g.OutWidth]);
            if (residual && context.Input(Inputs.Length - 1) is var skip && !ReferenceEquals(output, skip))
            {
                context.Backend.Copy(skip.Data, output.Data);
            }

            context.Backend.Conv2d(g, context.Input(0).Data, weight.Data, bias is null ? default : bias.Data, output.Data, activation, residual, prepared);
        }
    }
}
