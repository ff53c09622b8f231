using System.Globalization;
using System.Text.Json;
using Salient.Engine;
using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;

namespace Salient.Training.Csg;

/// <summary>
/// The class-specific gate G ∈ [0,1]^{K×C} (filter × class) on the output of the global pooling
/// before the classifier (equivalent to gating the last conv map, docs/csg.md). On the CSG
/// path each image's pooled features are multiplied by its label's gate column; a multi-label image
/// uses the element-wise maximum of its labels' columns (our extension: with one label it is the
/// spec's gate). Inference never uses the gate.
/// </summary>
public sealed class CsgGate : IBackwardRules
{
    /// <summary>The ONNX metadata key the gate is saved under.</summary>
    public const string MetadataKey = "salient.csg";

    private const float ProjectionFloor = 1e-8f;
    private IReadOnlyList<IReadOnlyList<int>> _labels = [];
    private float[] _ungated = [];
    private float[] _applied = [];
    private int[] _chosen = [];

    private CsgGate(string value, int filters, int classes, float[] gate)
    {
        Value = value;
        Filters = filters;
        Classes = classes;
        Gate = gate;
        Gradient = new float[gate.Length];
    }

    /// <summary>The gated value: the global pooling's output, [N, K, 1, 1].</summary>
    public string Value { get; }

    /// <summary>K, the channels of the gated layer.</summary>
    public int Filters { get; }

    /// <summary>C, the classes.</summary>
    public int Classes { get; }

    /// <summary>G, row-major [K, C].</summary>
    public float[] Gate { get; }

    /// <summary>dLoss/dG of the last backward pass (hinge included once <see cref="AddHinge"/> ran).</summary>
    public float[] Gradient { get; }

    /// <summary>Whether images are gated by the forward pass (CSG epochs) or pass through (standard epochs).</summary>
    public bool Active { get; set; }

    /// <summary>
    /// The value a gate on <paramref name="graph"/> sits on, whose values MIS measures too: the output
    /// of the global pooling of a GlobalAveragePool → Linear head. Throws saying why when the model
    /// has none, naming <paramref name="purpose"/>.
    /// </summary>
    public static string GatedValue(GraphDefinition graph, string purpose = "CSG (docs/csg.md)")
    {
        ArgumentNullException.ThrowIfNull(graph);
        var pool = graph.Nodes.LastOrDefault(n => n.OpType == "GlobalAveragePool");
        var linear = pool is null ? null : graph.SoleReaderAfterViews(pool);
        var reason = pool is null ? "it has no GlobalAveragePool"
            : linear is null || linear.OpType is not ("Gemm" or "MatMul") ? $"its global pooling feeds {linear?.Describe() ?? "several nodes"}, not one Linear layer"
            : null;
        return reason is null ? pool!.Outputs[0] : throw new ArgumentException($"{purpose} needs a GlobalAveragePool → Linear head; model '{graph.ModelName}' has none: {reason}.");
    }

    /// <summary>A gate at 0.5 everywhere (the authors' start) on <paramref name="value"/>.</summary>
    public static CsgGate Create(string value, int filters, int classes) =>
        new(value, filters, classes, [.. Enumerable.Repeat(0.5f, filters * classes)]);

    /// <summary>A gate at 0.5 everywhere on <paramref name="graph"/>'s pooling head; throws saying why a model cannot take one.</summary>
    public static CsgGate Create(GraphDefinition graph, int filters, int classes) => Create(GatedValue(graph), filters, classes);

    /// <summary>Sets the labels of the batch about to run.</summary>
    public void Begin(IReadOnlyList<IReadOnlyList<int>> labels)
    {
        _labels = labels;
        Array.Clear(Gradient);
    }

    /// <summary>The forward hook: gates the pooled features of each image by its labels' gate.</summary>
    public void OnValue(string value, Tensor tensor)
    {
        if (!Active || value != Value)
        {
            return;
        }

        var data = tensor.Span;
        var n = _labels.Count;
        if (data.Length != n * Filters)
        {
            throw new InvalidOperationException($"CSG gate: '{Value}' holds {data.Length} values; {n} images × {Filters} filters expected.");
        }

        _ungated = data.ToArray();
        _applied = new float[data.Length];
        _chosen = new int[data.Length];
        for (var i = 0; i < n; i++)
        {
            for (var k = 0; k < Filters; k++)
            {
                var (best, gate) = (-1, float.NegativeInfinity);
                foreach (var c in _labels[i])
                {
                    if (Gate[(k * Classes) + c] > gate)
                    {
                        (best, gate) = (c, Gate[(k * Classes) + c]);
                    }
                }

                var at = (i * Filters) + k;
                (_chosen[at], _applied[at]) = best < 0 ? (-1, 0f) : (best, gate);
                data[at] *= _applied[at];
            }
        }
    }

    /// <summary>The backward hook at the gated value: dG from the ungated features, then the gradient through the gate.</summary>
    public void OnGradient(string value, Tensor gradient)
    {
        if (!Active || value != Value)
        {
            return;
        }

        var g = gradient.Span;
        for (var at = 0; at < g.Length; at++)
        {
            if (_chosen[at] >= 0)
            {
                Gradient[((at % Filters) * Classes) + _chosen[at]] += g[at] * _ungated[at];
            }

            g[at] *= _applied[at];
        }
    }

    /// <summary>Adds λ·max(0, ‖G‖₁ − μ·K·C) to the gate's gradient and returns the term (G ≥ 0, so ‖G‖₁ is the sum).</summary>
    public float AddHinge(float lambda, float mu)
    {
        var excess = Gate.Sum() - (mu * Filters * Classes);
        if (excess <= 0)
        {
            return 0f;
        }

        for (var i = 0; i < Gradient.Length; i++)
        {
            Gradient[i] += lambda;
        }

        return lambda * excess;
    }

    /// <summary>The projection after each CSG step (§1.3), guarded: G[k,:] ← clamp(G[k,:] / max(max_c G[k,c], ε), 0, 1).</summary>
    public void Project()
    {
        for (var k = 0; k < Filters; k++)
        {
            var row = Gate.AsSpan(k * Classes, Classes);
            var max = Math.Max(System.Numerics.Tensors.TensorPrimitives.Max<float>(row), ProjectionFloor);
            for (var c = 0; c < Classes; c++)
            {
                row[c] = Math.Clamp(row[c] / max, 0f, 1f);
            }
        }
    }

    /// <summary>d(G) = ‖G‖₁ / (K·C).</summary>
    public float Density => Gate.Sum() / Gate.Length;

    /// <summary>The gate as JSON for the model's metadata.</summary>
    public string ToJson() => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["value"] = Value,
        ["filters"] = Filters,
        ["classes"] = Classes,
        ["gate"] = Gate,
    });

    /// <summary>Reads a gate saved by <see cref="ToJson"/> (from a model's metadata), or returns null when <paramref name="json"/> is null.</summary>
    public static CsgGate? FromJson(string? json, string source)
    {
        if (json is null)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var filters = root.GetProperty("filters").GetInt32();
            var classes = root.GetProperty("classes").GetInt32();
            var gate = root.GetProperty("gate").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            if (filters <= 0 || classes <= 0 || gate.Length != filters * classes)
            {
                throw new InvalidDataException($"the gate holds {gate.Length} values for {filters} filters × {classes} classes");
            }

            return new CsgGate(root.GetProperty("value").GetString() ?? string.Empty, filters, classes, gate);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or InvalidDataException)
        {
            throw new InvalidDataException($"{source}: the CSG gate metadata '{MetadataKey}' is malformed: {e.Message}", e);
        }
    }

    /// <summary>Restores gate values from a checkpoint of the same shape.</summary>
    public void CopyFrom(CsgGate saved)
    {
        if (saved.Gate.Length != Gate.Length)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"The saved CSG gate is {saved.Filters}×{saved.Classes}; this model needs {Filters}×{Classes}."));
        }

        saved.Gate.CopyTo(Gate, 0);
    }
}
