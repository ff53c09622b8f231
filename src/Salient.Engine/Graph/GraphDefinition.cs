namespace Salient.Engine.Graph;

/// <summary>
/// An imported graph: nodes in execution order, constants, and the one image input. Methods read
/// it to find layers and heads (<see cref="Model.Graph"/>); operator planners see it through
/// <see cref="PlanContext.Graph"/>.
/// </summary>
public sealed record GraphDefinition
{
    /// <summary>The name errors give the model (its file name).</summary>
    public required string ModelName { get; init; }

    /// <summary>The default-domain operator set version the model was exported with.</summary>
    public required long Opset { get; init; }

    /// <summary>The nodes in execution order.</summary>
    public required IReadOnlyList<GraphNode> Nodes { get; init; }

    /// <summary>The graph's initializers (weights and other constants) by name.</summary>
    public required IReadOnlyDictionary<string, ConstantValue> Initializers { get; init; }

    /// <summary>The name of the image input.</summary>
    public required string InputName { get; init; }

    /// <summary>The declared input shape; -1 where the model leaves a dimension symbolic.</summary>
    public required int[] InputShape { get; init; }

    /// <summary>The graph's outputs; the first is taken as the logits.</summary>
    public required IReadOnlyList<string> OutputNames { get; init; }

    /// <summary>The model's metadata_props (key → value), e.g. a CSG gate or training record.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Operators that only change how a value is viewed (its shape), not its data.</summary>
    public static IReadOnlySet<string> ViewOperators { get; } = new HashSet<string>(StringComparer.Ordinal) { "Flatten", "Reshape", "Squeeze", "Identity", "Dropout" };

    /// <summary>The node reading <paramref name="value"/> when exactly one does; else null.</summary>
    public GraphNode? SoleReader(string value)
    {
        var readers = Nodes.Where(n => n.Inputs.Contains(value)).Take(2).ToList();
        return readers.Count == 1 ? readers[0] : null;
    }

    /// <summary>The node that reads <paramref name="node"/>'s output once views (<see cref="ViewOperators"/>) are passed; null unless exactly one does.</summary>
    public GraphNode? SoleReaderAfterViews(GraphNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var value = node.Outputs[0];
        GraphNode? next;
        while ((next = SoleReader(value)) is not null && ViewOperators.Contains(next.OpType))
        {
            value = next.Outputs[0];
        }

        return next;
    }

    /// <summary>Throws naming the expected shape unless <paramref name="shape"/> fits the declared input (the batch may always vary).</summary>
    public void CheckInputShape(ReadOnlySpan<int> shape)
    {
        var declared = InputShape;
        var fits = shape.Length == declared.Length;
        for (var i = 0; fits && i < shape.Length; i++)
        {
            fits = shape[i] > 0 && (i == 0 || declared[i] < 0 || declared[i] == shape[i]);
        }

        if (!fits)
        {
            var expected = string.Join(',', declared.Select((d, i) => i == 0 ? "N" : d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            throw new ModelException($"Model '{ModelName}' expects input '{InputName}' of shape [{expected}]; got [{Tensor.FormatShape(shape)}].");
        }
    }
}
