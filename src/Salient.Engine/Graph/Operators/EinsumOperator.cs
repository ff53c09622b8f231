using Salient.Engine.Graph.Backward;

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

        public override void Run(StepContext context)
        {
            var output = context.Output(0, shape);
            output.Span.Clear();
            Contract([.. terms.Select((t, i) => (t, context.Input(i).Memory))], result, output.Span);
        }

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

                var operands = new List<(string, Memory<float>)> { (result, gradient.Memory) };
                operands.AddRange(terms.Select((t, k) => (t, k)).Where(p => p.k != i).Select(p => (p.t, context.Input(p.k).Memory)));
                var dx = Tensor.Zeros(context.InputShape(i));
                Contract([.. operands], terms[i], dx.Span);
                context.AddGradient(i, dx);
            }
        }

        /// <summary>target[t] += Π operand[...] over every assignment of the subscripts, those of <paramref name="target"/> first.</summary>
        private void Contract((string Term, Memory<float> Data)[] operands, string target, Span<float> output)
        {
            var letters = target.Concat(operands.SelectMany(o => o.Term)).Distinct().ToArray();
            var dims = letters.Select(l => sizes[l]).ToArray();
            var targetStrides = StridesIn(target, letters);
            var operandStrides = operands.Select(o => StridesIn(o.Term, letters)).ToArray();
            var inner = dims[^1];
            var index = new int[letters.Length];
            var count = Tensor.CheckedLength(dims) / Math.Max(inner, 1);
            var offsets = new int[operands.Length];
            for (var r = 0; r < count; r++)
            {
                var at = 0;
                for (var d = 0; d < letters.Length - 1; d++)
                {
                    at += index[d] * targetStrides[d];
                }

                for (var k = 0; k < operands.Length; k++)
                {
                    offsets[k] = 0;
                    for (var d = 0; d < letters.Length - 1; d++)
                    {
                        offsets[k] += index[d] * operandStrides[k][d];
                    }
                }

                for (var i = 0; i < inner; i++)
                {
                    var product = 1f;
                    for (var k = 0; k < operands.Length; k++)
                    {
                        product *= operands[k].Data.Span[offsets[k] + (i * operandStrides[k][^1])];
                    }

                    output[at + (i * targetStrides[^1])] += product;
                }

                for (var d = letters.Length - 2; d >= 0 && ++index[d] == dims[d]; d--)
                {
                    index[d] = 0;
                }
            }
        }

        /// <summary>For each of <paramref name="letters"/>, its stride in a row-major tensor with subscripts <paramref name="term"/> (0 when absent).</summary>
        private int[] StridesIn(string term, char[] letters)
        {
            var own = Strided.Strides([.. term.Select(l => sizes[l])]);
            return [.. letters.Select(l => term.IndexOf(l, StringComparison.Ordinal) is var p and >= 0 ? own[p] : 0)];
        }
    }
}
