namespace Salient.Engine.Graph.Backward;

/// <summary>
/// The part of a graph a backward pass must visit: the nodes on some path from a value that needs
/// a gradient to the logits. Shape reads (Shape) carry no gradient, so shape chains stay out.
/// </summary>
internal sealed class GradientRegion
{
    private GradientRegion(HashSet<GraphNode> nodes, HashSet<string> values)
    {
        Nodes = nodes;
        Values = values;
    }

    /// <summary>Nodes whose backward runs.</summary>
    public HashSet<GraphNode> Nodes { get; }

    /// <summary>Values that receive a gradient: the sources and everything computed from them on the way to the logits.</summary>
    public HashSet<string> Values { get; }

    public static GradientRegion Find(GraphDefinition graph, IReadOnlyCollection<string> sources)
    {
        var reached = new HashSet<string>(sources, StringComparer.Ordinal);
        var downstream = new List<GraphNode>();
        foreach (var node in graph.Nodes)
        {
            if (node.OpType is not ("Shape" or "Constant" or "ConstantOfShape") && node.Inputs.Any(reached.Contains))
            {
                downstream.Add(node);
                reached.UnionWith(node.Outputs.Where(o => o.Length > 0));
            }
        }

        // Keep only what leads to the logits: walk back from the first output.
        var needed = new HashSet<string>(StringComparer.Ordinal) { graph.OutputNames[0] };
        var nodes = new HashSet<GraphNode>();
        for (var i = downstream.Count - 1; i >= 0; i--)
        {
            var node = downstream[i];
            if (node.Outputs.Any(needed.Contains))
            {
                nodes.Add(node);
                needed.UnionWith(node.Inputs.Where(reached.Contains));
            }
        }

        needed.IntersectWith(reached);
        needed.UnionWith(sources);
        return new GradientRegion(nodes, needed);
    }
}
