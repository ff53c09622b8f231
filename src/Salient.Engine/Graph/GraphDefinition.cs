namespace Salient.Engine.Graph;

/// <summary>An imported graph: nodes in execution order, constants, and the one image input.</summary>
internal sealed class GraphDefinition
{
    public required string ModelName { get; init; }

    /// <summary>The default-domain operator set version the model was exported with.</summary>
    public required long Opset { get; init; }

    public required IReadOnlyList<GraphNode> Nodes { get; init; }

    public required IReadOnlyDictionary<string, ConstantValue> Initializers { get; init; }

    public required string InputName { get; init; }

    /// <summary>The declared input shape; -1 where the model leaves a dimension symbolic.</summary>
    public required int[] InputShape { get; init; }

    public required IReadOnlyList<string> OutputNames { get; init; }
}
