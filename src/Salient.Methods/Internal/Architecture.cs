using Salient.Engine;
using Salient.Engine.Graph;

namespace Salient.Methods.Internal;

/// <summary>What the methods need to know about a model's graph: its 4-D layers, its default CAM layer and its classifier head.</summary>
internal sealed class Architecture
{

    private readonly Model _model;
    private readonly GraphDefinition _graph;
    private readonly LayerReshape _reshape;

    public Architecture(Model model, LayerReshape reshape = LayerReshape.Auto)
    {
        _model = model;
        _graph = model.Graph;
        _reshape = reshape;
    }

    /// <summary>
    /// The values a CAM can use, in execution order: [N,C,H,W] activations, and under the reshape
    /// rule token sequences [N, L, C] whose L is a square grid (plus a class token) or channels-last [N,H,W,C] ones.
    /// </summary>
    public IReadOnlyList<string> FeatureLayers()
    {
        var shapes = _model.ValueShapes(_model.BatchInputShape(1));
        return [.. shapes.Where(kv => kv.Key != _graph.InputName && Grid(kv.Value) is not null).Select(kv => kv.Key)];
    }

    /// <summary>Whether the layer's activation is reshaped into maps (so methods that write activations back, as Ablation-CAM, cannot use it).</summary>
    public bool IsReshaped(string layer) => Grid(_model.ShapeOf(layer, _model.BatchInputShape(1)).ToArray()) is { Reshaped: true };

    /// <summary>
    /// The layer's activation (or gradient) <paramref name="value"/> as [N, C, H, W] maps, as
    /// pytorch-grad-cam's reshape_transform makes them: the value itself when it already is, else a copy.
    /// </summary>
    public LayerMaps Maps(string layer, Tensor value)
    {
        var shape = value.ShapeArray();
        var grid = Grid(shape) ?? throw new ArgumentException($"Layer '{layer}' of shape [{string.Join(',', shape)}] cannot be reshaped to [N, C, H, W] under --reshape {_reshape}.");
        if (!grid.Reshaped)
        {
            return new LayerMaps(value, false);
        }

        var n = shape[0];
        var maps = Tensor.Uninitialized(n, grid.Channels, grid.Height, grid.Width);
        var plane = grid.Height * grid.Width;
        var perImage = value.Length / n;
        var source = value.Span;
        var target = maps.Span;
        for (var b = 0; b < n; b++)
        {
            // Token (or pixel) p of channel c sits at (skip + p)·C + c: a transpose of each image's [H·W, C] block.
            for (var p = 0; p < plane; p++)
            {
                var row = source.Slice((b * perImage) + ((grid.Skip + p) * grid.Channels), grid.Channels);
                for (var c = 0; c < grid.Channels; c++)
                {
                    target[(((b * grid.Channels) + c) * plane) + p] = row[c];
                }
            }
        }

        return new LayerMaps(maps, true);
    }

    private sealed record GridShape(int Channels, int Height, int Width, int Skip, bool Reshaped);

    /// <summary>How a value of <paramref name="shape"/> maps to [N, C, H, W] under the reshape rule, or null when it does not.</summary>
    private GridShape? Grid(int[] shape)
    {
        switch (shape.Length, _reshape)
        {
            case (4, LayerReshape.Auto or LayerReshape.None):
                return new GridShape(shape[1], shape[2], shape[3], 0, false);
            case (4, LayerReshape.ChannelsLast):
                return new GridShape(shape[3], shape[1], shape[2], 0, true);
            case (3, LayerReshape.Auto or LayerReshape.Tokens):
                var tokens = shape[1];
                foreach (var skip in new[] { 1, 0 })
                {
                    var side = (int)Math.Round(Math.Sqrt(tokens - skip));
                    if (tokens - skip > 1 && side * side == tokens - skip)
                    {
                        return new GridShape(shape[2], side, side, skip, true);
                    }
                }

                return null;
            default:
                return null;
        }
    }

    /// <summary>The given layers after checking they exist (and fit the reshape rule), or the default layer when none are given.</summary>
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
                throw new ArgumentException($"Model '{_model.Name}' has no layer named '{layer}' that gives [N, C, H, W] maps under --reshape {_reshape.ToString().ToLowerInvariant()}"
                    + $" (4-D activations; token sequences [N, 1+H·W, C] with tokens; [N, H, W, C] with channels-last). Valid layers: {string.Join(", ", valid)}.");
            }
        }

        return layers;
    }

    /// <summary>
    /// The default CAM layer: the input of the first global average pooling (GlobalAveragePool, or a
    /// ReduceMean over H and W); for a vision transformer without one, the last layer norm that feeds
    /// the last attention's softmax, as a token sequence (pytorch-grad-cam's blocks[-1].norm1); else
    /// the last 4-D value with more than one spatial position.
    /// </summary>
    public string DefaultLayer()
    {
        var pool = _graph.Nodes.FirstOrDefault(IsGlobalAveragePool);
        if (pool is not null)
        {
            return pool.Inputs[0];
        }

        var shapes = _model.ValueShapes(_model.BatchInputShape(1));
        if (_reshape != LayerReshape.None && LastAttentionNorm(shapes) is { } norm)
        {
            return norm;
        }

        return shapes.LastOrDefault(kv => kv.Value.Length == 4 && kv.Value[2] * kv.Value[3] > 1 && kv.Key != _graph.InputName).Key
            ?? throw new ArgumentException($"Model '{_model.Name}' has no 4-D activation to explain.");
    }

    /// <summary>
    /// The layers with a per-channel bias on [N, C, H, W] outputs, in graph order, as FullGrad takes
    /// them: every Conv with a constant bias, and every BatchNormalization with its bias after folding
    /// the statistics, B − mean·scale/√(var + ε) (what it adds when its input is zero).
    /// </summary>
    public IReadOnlyList<(string Value, float[] Bias)> BiasLayers()
    {
        float[]? Constant(GraphNode node, int input) =>
            node.HasInput(input) && _graph.Initializers.TryGetValue(node.Inputs[input], out var c) && c.Floats is not null ? c.AsFloats() : null;

        var layers = new List<(string, float[])>();
        foreach (var node in _graph.Nodes)
        {
            if (node.OpType == "Conv" && Constant(node, 2) is { } bias && _model.ShapeOf(node.Outputs[0], _model.BatchInputShape(1)).Count == 4)
            {
                layers.Add((node.Outputs[0], bias));
            }
            else if (node.OpType == "BatchNormalization" && node.Outputs.Length == 1 && Constant(node, 1) is { } scale && Constant(node, 2) is { } shift
                && Constant(node, 3) is { } mean && Constant(node, 4) is { } variance && _model.ShapeOf(node.Outputs[0], _model.BatchInputShape(1)).Count == 4)
            {
                var epsilon = node.GetFloat("epsilon", 1e-5f);
                layers.Add((node.Outputs[0], [.. shift.Select((b, c) => (float)(b - (mean[c] * scale[c] / Math.Sqrt(variance[c] + (double)epsilon))))]));
            }
        }

        return layers;
    }

    /// <summary>Whether <paramref name="node"/> averages an [N, C, H, W] value over its spatial positions.</summary>
    public bool IsGlobalAveragePool(GraphNode node) =>
        node.OpType == "GlobalAveragePool" || node.IsSpatialMean(
            v => _graph.Initializers.ContainsKey(v) ? null : _model.ShapeOf(v, _model.BatchInputShape(1)).ToArray(),
            v => _graph.Initializers.TryGetValue(v, out var c) ? c.AsInts() : null);

    /// <summary>The last layer-norm output among the values the last Softmax depends on, when it is a token sequence.</summary>
    private string? LastAttentionNorm(IReadOnlyDictionary<string, int[]> shapes)
    {
        var softmax = _graph.Nodes.LastOrDefault(n => n.OpType == "Softmax");
        if (softmax is null)
        {
            return null;
        }

        var producers = _graph.Nodes.SelectMany(n => n.Outputs.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n);
        var ancestors = new HashSet<GraphNode>();
        var pending = new Stack<GraphNode>([softmax]);
        while (pending.TryPop(out var node))
        {
            foreach (var input in node.Inputs)
            {
                if (producers.TryGetValue(input, out var producer) && ancestors.Add(producer))
                {
                    pending.Push(producer);
                }
            }
        }

        return ancestors.OrderByDescending(n => n.Index).Select(n => n.Outputs[0])
            .FirstOrDefault(v => IsLayerNormOutput(v, producers) && shapes.TryGetValue(v, out var s) && s.Length == 3 && Grid(s) is not null);
    }

    /// <summary>A LayerNormalization's output, or the last node of the decomposed form (…/Sqrt → Div, then Mul, Add).</summary>
    private static bool IsLayerNormOutput(string value, Dictionary<string, GraphNode> producers)
    {
        var node = producers.GetValueOrDefault(value);
        for (var hop = 0; hop < 3 && node is not null; hop++)
        {
            if (node.OpType == "LayerNormalization" || (node.OpType == "Div" && producers.GetValueOrDefault(node.Inputs[1])?.OpType == "Sqrt"))
            {
                return true;
            }

            node = node.OpType is "Add" or "Mul" ? producers.GetValueOrDefault(node.Inputs[0]) : null;
        }

        return false;
    }

    /// <summary>
    /// The classifier weights W [classes, channels] of a GlobalAveragePool → Linear head fed by
    /// <paramref name="layer"/>, which plain CAM needs; throws saying why when there is no such head.
    /// </summary>
    public float[,] ClassifierWeightsAfter(string layer)
    {
        var pool = _graph.SoleReader(layer);
        if (pool is null || !IsGlobalAveragePool(pool))
        {
            throw new ArgumentException($"cam needs layer '{layer}' to feed a global average pooling (GlobalAveragePool or ReduceMean over H, W) → Linear (Zhou et al.); in '{_model.Name}' it does not. Use gradcam, which needs no particular head.");
        }

        var next = _graph.SoleReaderAfterViews(pool);
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

            if (!GraphDefinition.ViewOperators.Contains(producer.OpType) && producer.OpType != "Add")
            {
                return null;
            }

            // MatMul + Add (bias) exports of Linear: follow the data operand.
            value = producer.OpType == "Add" && _graph.Initializers.ContainsKey(producer.Inputs[0]) ? producer.Inputs[1] : producer.Inputs[0];
        }
    }
}

/// <summary>A layer's activation as [N, C, H, W] maps; a reshaped copy is disposed with it, the value itself is not.</summary>
internal readonly struct LayerMaps(Tensor value, bool owned) : IDisposable
{
    public Tensor Value => value;

    public void Dispose()
    {
        if (owned)
        {
            value.Dispose();
        }
    }
}
