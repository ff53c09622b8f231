using Salient.Engine.Devices;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// Einsum with explicit subscripts (MaxViT's attention: "bghid,bghjd->bghij"), one or two operands,
/// no ellipsis. Every product is summed over the subscripts missing from the result; the gradient of
/// an operand is the same contraction of the result's gradient with the other operand.
/// </summary>
internal static class EinsumOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var equation = (node.GetString("equation") ?? "").Replace(" ", "", StringComparison.Ordinal);
        var sides = equation.Split("->");
        var terms = sides[0].Split(',');
        if (sides.Length != 2 || equation.Contains('.', StringComparison.Ordinal) || terms.Length != node.Inputs.Length || terms.Length > 2
            || terms.Concat([sides[1]]).Any(t => t.Distinct().Count() != t.Length || !t.All(char.IsLetter)))
        {
            throw context.Error(node, $"equation '{equation}' is not supported (explicit '->' output, one or two operands, no ellipsis or repeated subscripts)");
        }

        var sizes = new Dictionary<char, int>();
        for (var i = 0; i < terms.Length; i++)
        {
            var shape = context.Shape(node, i);
            if (shape.Length != terms[i].Length)
            {
                throw context.Error(node, $"operand {i} of shape [{Tensor.FormatShape(shape)}] does not have the {terms[i].Length} axes '{terms[i]}' names");
            }

            foreach (var (letter, size) in terms[i].Zip(shape))
            {
                if (sizes.TryGetValue(letter, out var known) && known != size)
                {
                    throw context.Error(node, $"subscript '{letter}' has sizes {known} and {size}");
                }

                sizes[letter] = size;
            }
        }

        if (sides[1].Any(l => !sizes.ContainsKey(l)))
        {
            throw context.Error(node, $"the output of '{equation}' names a subscript no operand has");
        }

        var outShape = sides[1].Select(l => sizes[l]).ToArray();
        context.SetShape(node.Outputs[0], outShape);
        return new EinsumStep(node, terms, sides[1], sizes, outShape);
    }

    private sealed class EinsumStep(GraphNode node, string[] terms, string result, Dictionary<char, int> sizes, int[] shape)
        : Step(node, node.Inputs, [node.Outputs[0]])
    {
        public override bool ReadsOutputInBackward => false;

        // Linear in each operand alone: the product rule.
        public override void Tangent(TangentContext context) => context.ProductRule();

        // One operand: linear. Two: bilinear, each operand's gradient linear in the other.
        public override void GradientTangent(SecondOrderContext context)
        {
            if (terms.Length == 1)
            {
                context.ThroughBackward();
            }
            else
            {
                context.Bilinear(0, 1);
            }
        }

        public override void Run(StepContext context) =>
            Contract(context.Backend, [.. terms.Select((t, i) => (t, context.Input(i).Data))], result, context.Output(0, shape).Data);

        public override void Backward(BackwardContext context)
        {
            if (context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            for (var i = 0; i < terms.Length; i++)
            {
                if (!context.NeedsGradient(i))
                {
                    continue;
                }

                var operands = new List<(string, BufferView)> { (result, gradient.Data) };
                operands.AddRange(terms.Select((t, k) => (t, k)).Where(p => p.k != i).Select(p => (p.t, context.Input(p.k).Data)));
                var dx = Tensor.Uninitialized(context.Backend, context.InputShape(i));
                Contract(context.Backend, [.. operands], terms[i], dx.Data);
                context.AddGradient(i, dx);
            }
        }

        /// <summary>target = Σ Π operand[...] over every assignment of the subscripts, those of <paramref name="target"/> first and kept.</summary>
        private void Contract(IKernelBackend backend, (string Term, BufferView Data)[] operands, string target, BufferView output)
        {
            var letters = target.Concat(operands.SelectMany(o => o.Term)).Distinct().ToArray();
            var dims = letters.Select(l => sizes[l]).ToArray();
            var (a, b) = (operands[0], operands.Length > 1 ? operands[1] : default);
            backend.Contract(dims, target.Length, a.Data, StridesIn(a.Term, letters), b.Data, b.Term is null ? [] : StridesIn(b.Term, letters), output);
        }

        /// <summary>For each of <paramref name="letters"/>, its stride in a row-major tensor with subscripts <paramref name="term"/> (0 when absent).</summary>
        private int[] StridesIn(string term, char[] letters)
        {
            var own = Strided.Strides([.. term.Select(l => sizes[l])]);
            return [.. letters.Select(l => term.IndexOf(l, StringComparison.Ordinal) is var p and >= 0 ? own[p] : 0)];
        }
    }
}
