using Salient.Engine;
using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;

namespace Salient.Tests;

/// <summary>
/// y = x³ as an operator registered from outside the engine, on the host: a forward pass, a backward
/// pass and a forward-mode rule, and no second-order rule, for the tests of what refuses a
/// Hessian-vector product.
/// </summary>
internal static class CubeOperator
{
    /// <summary>Registers the operator as <paramref name="op"/> (once a process).</summary>
    public static void Register(string op) => TinyModels.RegisterShapePreserving(op, (node, shape) => new CubeStep(node, shape));

    private sealed class CubeStep(GraphNode node, int[] shape) : Step(node, [node.Inputs[0]], [node.Outputs[0]])
    {
        public override void Run(StepContext context) => Apply(context.Input(0), null, context.Output(0, shape), 1f);

        public override void Backward(BackwardContext context)
        {
            if (context.NeedsGradient(0) && context.OutputGradient(0) is { } gradient)
            {
                var input = Tensor.Uninitialized(shape);
                Apply(context.Input(0), gradient, input, 3f);
                context.AddGradient(0, input);
            }
        }

        public override void Tangent(TangentContext context)
        {
            var tangent = Tensor.Uninitialized(shape);
            Apply(context.Input(0), context.InputTangent(0)!, tangent, 3f);
            context.SetOutputTangent(0, tangent);
        }

        // result = scale·x²·(factor, or x itself): the cube, or its derivative times a gradient or tangent.
        private static void Apply(Tensor x, Tensor? factor, Tensor result, float scale)
        {
            var (values, times) = (x.Span.ToArray(), factor?.Span.ToArray());
            var into = result.Span;
            for (var i = 0; i < into.Length; i++)
            {
                into[i] = scale * values[i] * values[i] * (times is null ? values[i] : times[i]);
            }
        }
    }
}
