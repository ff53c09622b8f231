using Salient.Engine.Graph.Backward;

namespace Salient.Engine.Graph.Operators;

/// <summary>Pad in constant, reflect and edge modes, any rank; pads come as an attribute before opset 11 and as a constant input after.</summary>
internal static class PadOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var mode = node.GetString("mode") ?? "constant";
        if (mode is not ("constant" or "reflect" or "edge"))
        {
            throw context.Error(node, $"pad mode '{mode}' is not one of constant, reflect, edge");
        }

        long[] pads;
        var value = 0f;
        if (context.Opset < 11)
        {
            pads = node.GetInts("pads") ?? throw context.Error(node, "pads are required");
            value = node.GetFloat("value", 0f);
        }
        else
        {
            pads = context.Constant(node, 1).AsInts();
            if (node.HasInput(2))
            {
                value = context.Constant(node, 2).AsFloats().Single();
            }

            if (node.HasInput(3))
            {
                throw context.Error(node, "the axes input of Pad is not supported");
            }
        }

        if (pads.Length != 2 * x.Length)
        {
            throw context.Error(node, $"{pads.Length} pads do not fit rank {x.Length}");
        }

        var begin = pads.Take(x.Length).Select(p => (int)p).ToArray();
        var shape = x.Select((d, i) => d + begin[i] + (int)pads[x.Length + i]).ToArray();
        if (shape.Any(d => d <= 0) || (mode == "reflect" && x.Where((d, i) => Math.Max(begin[i], shape[i] - d - begin[i]) >= d && (begin[i] != 0 || shape[i] != d)).Any()))
        {
            throw context.Error(node, $"pads [{string.Join(',', pads)}] do not fit input [{Tensor.FormatShape(x)}] in mode {mode}");
        }

        context.SetShape(node.Outputs[0], shape);
        return new PadStep(node, x, shape, begin, mode, value);
    }

    private sealed class PadStep(GraphNode node, int[] inShape, int[] shape, int[] begin, string mode, float value)
        : Step(node, [node.Inputs[0]], [node.Outputs[0]])
    {
        private readonly Lazy<int[]> _sources = new(() => SourceIndices(inShape, shape, begin, mode));

        public override bool ReadsInputInBackward(int index) => false;

        public override bool ReadsOutputInBackward => false;

        public override void Run(StepContext context) =>
            context.Backend.IndexedGather(_sources.Value, value, context.Input(0).Data, context.Output(0, shape).Data);

        // Linear in the input; the padding constant is constant: its tangent is zero in every mode.
        public override void Tangent(TangentContext context)
        {
            var tangent = Tensor.Uninitialized(context.Backend, shape);
            context.Backend.IndexedGather(_sources.Value, 0f, context.InputTangent(0)!.Data, tangent.Data);
            context.SetOutputTangent(0, tangent);
        }

        public override void GradientTangent(SecondOrderContext context) => context.ThroughBackward();

        public override bool ReadsTangentsInSecondOrder => false;

        public override void Backward(BackwardContext context)
        {
            if (!context.NeedsGradient(0) || context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            // Each input element collects the gradient of every output that copied it.
            var input = Tensor.Zeros(context.Backend, inShape);
            context.Backend.IndexedScatterAdd(_sources.Value, gradient.Data, input.Data);
            context.AddGradient(0, input);
        }

        /// <summary>For each output element, the input element it copies, or -1 for the constant.</summary>
        private static int[] SourceIndices(int[] inShape, int[] shape, int[] begin, string mode)
        {
            var rank = shape.Length;
            var inStrides = new int[rank];
            for (int d = rank - 1, s = 1; d >= 0; s *= inShape[d], d--)
            {
                inStrides[d] = s;
            }

            var sources = new int[Tensor.CheckedLength(shape)];
            var index = new int[rank];
            for (var i = 0; i < sources.Length; i++)
            {
                var source = 0;
                for (var d = 0; d < rank && source >= 0; d++)
                {
                    var k = Map(index[d] - begin[d], inShape[d], mode);
                    source = k < 0 ? -1 : source + (k * inStrides[d]);
                }

                sources[i] = source;
                for (var d = rank - 1; d >= 0 && ++index[d] == shape[d]; d--)
                {
                    index[d] = 0;
                }
            }

            return sources;
        }

        /// <summary>The input index an output position reads along one axis, or -1 for the constant.</summary>
        private static int Map(int i, int size, string mode)
        {
            if (i >= 0 && i < size)
            {
                return i;
            }

            return mode switch
            {
                "edge" => Math.Clamp(i, 0, size - 1),
                "reflect" => i < 0 ? -i : (2 * (size - 1)) - i,
                _ => -1,
            };
        }
    }
}
