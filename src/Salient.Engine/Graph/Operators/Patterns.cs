namespace Salient.Engine.Graph.Operators;

/// <summary>Matching helpers for the planners that fuse a pattern of nodes into one step (decomposed LayerNorm, GELU).</summary>
internal static class Patterns
{
    /// <summary>The only node reading <paramref name="value"/> when it satisfies <paramref name="match"/>; else null.</summary>
    public static GraphNode? Only(PlanContext context, string value, Func<GraphNode, bool> match) =>
        context.Readers(value) is [var only] && match(only) ? only : null;

    /// <summary>The operand of a binary node that is not <paramref name="value"/>.</summary>
    public static string Other(GraphNode binary, string value) => binary.Inputs[0] == value ? binary.Inputs[1] : binary.Inputs[0];

    /// <summary>The value of a one-element constant, or null when <paramref name="name"/> is not one.</summary>
    public static float? Scalar(PlanContext context, string name) =>
        context.IsConstant(name) && context.Constants[name] is { } c && Tensor.CheckedLength(c.Shape) == 1 ? c.AsFloats()[0] : null;
}
