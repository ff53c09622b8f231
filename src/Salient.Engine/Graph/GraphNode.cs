using System.Text;
using Salient.Engine.Onnx.Protos;

namespace Salient.Engine.Graph;

/// <summary>One ONNX node of an imported graph, with typed access to its attributes.</summary>
public sealed class GraphNode
{
    private readonly Dictionary<string, AttributeProto> _attributes;

    internal GraphNode(NodeProto proto, int index)
    {
        Index = index;
        OpType = proto.OpType;
        Domain = proto.Domain;
        Name = string.IsNullOrEmpty(proto.Name) ? $"#{index}" : proto.Name;
        Inputs = [.. proto.Input];
        Outputs = [.. proto.Output];
        _attributes = [];
        foreach (var a in proto.Attribute)
        {
            _attributes[a.Name] = a;
        }
    }

    /// <summary>The node's position in the graph's execution order.</summary>
    public int Index { get; }

    /// <summary>The ONNX operator, e.g. "Conv".</summary>
    public string OpType { get; }

    /// <summary>The operator's domain; empty for the default ONNX domain.</summary>
    public string Domain { get; }

    /// <summary>The node's name, or "#index" when the file leaves it empty.</summary>
    public string Name { get; }

    /// <summary>Input value names; an empty string is an omitted optional input.</summary>
    public string[] Inputs { get; }

    /// <summary>Output value names; an empty string is an omitted optional output.</summary>
    public string[] Outputs { get; }

    /// <summary>"Conv node 'conv1'", for error messages.</summary>
    public string Describe() => $"{OpType} node '{Name}'";

    /// <summary>Whether input <paramref name="i"/> is given (not omitted).</summary>
    public bool HasInput(int i) => i < Inputs.Length && Inputs[i].Length > 0;

    /// <summary>Whether the node has an attribute of that name.</summary>
    public bool HasAttribute(string name) => _attributes.ContainsKey(name);

    /// <summary>An integer attribute, or <paramref name="fallback"/> when the node has none of that name.</summary>
    public long GetInt(string name, long fallback) => _attributes.TryGetValue(name, out var a) ? a.I : fallback;

    /// <summary>A float attribute, or <paramref name="fallback"/> when the node has none of that name.</summary>
    public float GetFloat(string name, float fallback) => _attributes.TryGetValue(name, out var a) ? a.F : fallback;

    /// <summary>An integer-list attribute, or null.</summary>
    public long[]? GetInts(string name) => _attributes.TryGetValue(name, out var a) ? [.. a.Ints] : null;

    /// <summary>A float-list attribute, or null.</summary>
    public float[]? GetFloats(string name) => _attributes.TryGetValue(name, out var a) ? [.. a.Floats] : null;

    /// <summary>A string attribute (UTF-8), or null.</summary>
    public string? GetString(string name) => _attributes.TryGetValue(name, out var a) ? Encoding.UTF8.GetString(a.S.Span) : null;

    /// <summary>
    /// Whether the node averages an [N, C, H, W] value over H and W (a ReduceMean written for a global
    /// average pooling), given the shapes (<paramref name="shapeOf"/>) and integer constants
    /// (<paramref name="constantInts"/>) of values, each null when unknown.
    /// </summary>
    public bool IsSpatialMean(Func<string, int[]?> shapeOf, Func<string, long[]?> constantInts) =>
        Operators.ReduceOperator.IsSpatialMean(this, shapeOf, constantInts);

    /// <summary>The raw ONNX attribute, or null.</summary>
    public AttributeProto? GetAttribute(string name) => _attributes.GetValueOrDefault(name);
}
