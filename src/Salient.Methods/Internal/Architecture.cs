using Salient.Engine;
using Salient.Engine.Graph;

namespace Salient.Methods.Internal;

/// <summary>What the methods need to know about a model's graph: its 4-D layers, its default CAM layer and its classifier head.</summary>
internal sealed class Architecture
{
    private static readonly HashSet<string> ViewOps = new(StringComparer.Ordinal) { "Flatten", "Reshape", "Squeeze", "Identity", "Dropout" };

    private readonly Model _model;
    private readonly GraphDefinition _graph;

    public Architecture(Model model)
    {
        _model = model;
        _graph = model.Graph;
    }

    /// <summary>Values of rank 4 ([N,C,H,W]) in execution order: the layers a CAM can use.</summary>
    public IReadOnlyList<string> FeatureLayers()
    {
        var shapes = _model.ValueShapes(_model.BatchInputShape(1));
        return [.. shapes.Where(kv => kv.Value.Length == 4 && kv.Key != _graph.InputName).Select(kv => kv.Key)];
    }

    /// <summary>The given layers after checking they exist, or the default layer when none are given.</summary>
    public IReadOnlyList<string> ResolveLayers(IReadOnlyList<string> layers)
    {
        var valid = FeatureLayers();
        if (layers.Count == 0)
        {
            return [DefaultLayer()];
        }

        foreach (var layer in layers)
        {
            if (!valid.Contains(layer))
            {
                throw new ArgumentException($"Model '{_model.Name}' has no 4-D layer named '{layer}'. Valid layers: {string.Join(", ", valid)}.");
            }
        }

        return layers;
    }

    /// <summary>
    /// The last 4-D activation before global pooling: the input of the first GlobalAveragePool, or
    /// else the last 4-D value with more than one spatial position.
    /// </summary>
    public string DefaultLayer()
    {
        var pool = _graph.Nodes.FirstOrDefault(n => n.OpType == "GlobalAveragePool");
        if (pool is not null)
        {
            return pool.Inputs[0];
        }

        var shapes = _model.ValueShapes(_model.BatchInputShape(1));
        return shapes.LastOrDefault(kv => kv.Value.Length == 4 && kv.Value[2] * kv.Value[3] > 1 && kv.Key != _graph.InputName).Key
            ?? throw new ArgumentException($"Model '{_model.Name}' has no 4-D activation to explain.");
    }

    /// <summary>
    /// The classifier weights W [classes, channels] of a GlobalAveragePool → Linear head fed by
    /// <paramref name="layer"/>, which plain CAM needs; throws saying why when there is no such head.
    /// </summary>
    public float[,] ClassifierWeightsAfter(string layer)
    {
        var pool = OnlyConsumer(_graph, layer);
        if (pool?.OpType != "GlobalAveragePool")
        {
            throw new ArgumentException($"cam needs layer '{layer}' to feed GlobalAveragePool → Linear (Zhou et al.); in '{_model.Name}' it does not. Use gradcam, which needs no particular head.");
        }

        var next = ReaderAfterViews(_graph, pool);
        if (next is null || next.OpType is not ("Gemm" or "MatMul") || !_graph.Initializers.TryGetValue(next.Inputs[1], out var weights) || weights.Floats is null
            || (next.OpType == "Gemm" && next.GetInt("transA", 0) != 0))
        {
            throw new ArgumentException($"cam needs the global pooling after '{layer}' to feed a Linear layer with constant weights; in '{_model.Name}' it feeds {next?.Describe() ?? "nothing"}.");
        }

        var transposed = next.OpType == "Gemm" && next.GetInt("transB", 0) != 0;
        var (rows, cols) = (weights.Shape[0], weights.Shape[1]);
        var (classes, channels) = transposed ? (rows, cols) : (cols, rows);
        var w = new float[classes, channels];
        var span = weights.Floats.Span;
        for (var c = 0; c < classes; c++)
        {
            for (var k = 0; k < channels; k++)
            {
                w[c, k] = transposed ? span[(c * cols) + k] : span[(k * cols) + c];
            }
        }

        return w;
    }

    /// <summary>The node of the final Linear layer: the Gemm or MatMul whose output reaches the logits through views only (TSGB-FC applies to it).</summary>
    public GraphNode? FinalLinear()
    {
        var value = _graph.OutputNames[0];
        while (true)
        {
            var producer = _graph.Nodes.FirstOrDefault(n => n.Outputs.Contains(value));
            if (producer is null)
            {
                return null;
            }

            if (producer.OpType is "Gemm" or "MatMul")
            {
                return producer;
            }

            if (!ViewOps.Contains(producer.OpType) && producer.OpType != "Add")
            {
                return null;
            }

            // MatMul + Add (bias) exports of Linear: follow the data operand.
            value = producer.OpType == "Add" && _graph.Initializers.ContainsKey(producer.Inputs[0]) ? producer.Inputs[1] : producer.Inputs[0];
        }
    }

    /// <summary>
    /// The output of the global pooling of a GlobalAveragePool → Linear head, where a CSG gate sits
    /// and whose values MIS measures; throws saying why when the model has no such head.
    /// </summary>
    /// <param name="graph">The model's graph.</param>
    /// <param name="purpose">What needs the head, for the error message.</param>
    public static string PoolingValue(GraphDefinition graph, string purpose)
    {
        var pool = graph.Nodes.LastOrDefault(n => n.OpType == "GlobalAveragePool");
        var linear = pool is null ? null : ReaderAfterViews(graph, pool);
        var reason = pool is null ? "it has no GlobalAveragePool"
            : linear is null || linear.OpType is not ("Gemm" or "MatMul") ? $"its global pooling feeds {linear?.Describe() ?? "several nodes"}, not one Linear layer"
            : null;
        return reason is null ? pool!.Outputs[0] : throw new ArgumentException($"{purpose} needs a GlobalAveragePool → Linear head; model '{graph.ModelName}' has none: {reason}.");
    }

    /// <summary>The node that reads <paramref name="node"/>'s output once views (Flatten, Reshape, ...) are passed; null unless exactly one does.</summary>
    private static GraphNode? ReaderAfterViews(GraphDefinition graph, GraphNode node)
    {
        var value = node.Outputs[0];
        GraphNode? next;
        while ((next = OnlyConsumer(graph, value)) is not null && ViewOps.Contains(next.OpType))
        {
            value = next.Outputs[0];
        }

        return next;
    }

    /// <summary>The node reading <paramref name="value"/> when exactly one does.</summary>
    private static GraphNode? OnlyConsumer(GraphDefinition graph, string value)
    {
        var readers = graph.Nodes.Where(n => n.Inputs.Contains(value)).Take(2).ToList();
        return readers.Count == 1 ? readers[0] : null;
    }
}
