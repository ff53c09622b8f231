using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Graph.Operators;

namespace Salient.Engine.Tests.Graph;

/// <summary>
/// The engine's extension points used from outside it, through its public API only: an operator
/// registered by this assembly, and backward rules that tell steps apart by their kind.
/// </summary>
public sealed class ExtensionPointTests
{
    private const string TripleOp = "SalientTestTriple";

    static ExtensionPointTests() => OperatorRegistry.Register(TripleOp, PlanTriple);

    [Fact]
    public void A_registered_operator_runs_forward_and_backward()
    {
        var model = TripleThenRelu();
        using var x = Tensor.FromSpan([-1f, 2f, -3f, 4f], 1, 4);

        using var y = model.Forward(x);
        using var record = model.RecordForward(x, [model.InputName], []);
        var gradients = model.Backward(record, Ones(), [model.InputName]);
        using var gradient = gradients[model.InputName];

        Assert.Equal([0f, 6f, 0f, 12f], y.Span.ToArray());
        Assert.Equal([0f, 3f, 0f, 3f], gradient.Span.ToArray());
        Assert.Contains(record.Steps, s => s.Node.OpType == TripleOp && s.Kind == StepKind.Other);
    }

    [Fact]
    public void Backward_rules_replace_steps_chosen_by_kind()
    {
        var model = TripleThenRelu();
        using var x = Tensor.FromSpan([-1f, 2f, -3f, 4f], 1, 4);
        var rules = new PassActivations();

        using var record = model.RecordForward(x, [model.InputName], []);
        var gradients = model.Backward(record, Ones(), [model.InputName], rules);
        using var gradient = gradients[model.InputName];

        // The ReLU passes every gradient; the registered operator's own backward still runs.
        Assert.Equal([3f, 3f, 3f, 3f], gradient.Span.ToArray());
        Assert.Equal([StepKind.Activation, StepKind.Other], rules.Seen);
    }

    [Fact]
    public void An_operator_type_is_registered_once() =>
        Assert.Throws<ArgumentException>(() => OperatorRegistry.Register("Relu", PlanTriple));

    private static Model TripleThenRelu() => TinyModels.Load("extension", [1, 4],
        [TinyModels.Node(TripleOp, ["x"], "t"), TinyModels.Node("Relu", ["t"], "y")], [], "y");

    private static Tensor Ones()
    {
        var ones = Tensor.Uninitialized(1, 4);
        ones.Span.Fill(1f);
        return ones;
    }

    private static Step PlanTriple(GraphNode node, PlanContext context)
    {
        var shape = context.Shape(node, 0);
        context.SetShape(node.Outputs[0], shape);
        return new TripleStep(node, shape);
    }

    /// <summary>y = 3x.</summary>
    private sealed class TripleStep(GraphNode node, int[] shape) : Step(node, [node.Inputs[0]], [node.Outputs[0]])
    {
        public override void Run(StepContext context)
        {
            var input = context.Input(0).Span;
            var output = context.Output(0, shape).Span;
            for (var i = 0; i < output.Length; i++)
            {
                output[i] = 3f * input[i];
            }
        }

        public override void Backward(BackwardContext context)
        {
            if (context.NeedsGradient(0) && context.OutputGradient(0) is { } gradient)
            {
                var input = Tensor.Uninitialized(shape);
                for (var i = 0; i < input.Length; i++)
                {
                    input.Span[i] = 3f * gradient.Span[i];
                }

                context.AddGradient(0, input);
            }
        }
    }

    /// <summary>Activations pass their gradient unchanged; every other step keeps its own backward.</summary>
    private sealed class PassActivations : IBackwardRules
    {
        public List<StepKind> Seen { get; } = [];

        public bool TryBackward(Step step, BackwardContext context)
        {
            Seen.Add(step.Kind);
            if (step.Kind != StepKind.Activation || context.OutputGradient(0) is null)
            {
                return false;
            }

            context.AddGradient(0, context.TakeOutputGradient(0));
            return true;
        }
    }
}
