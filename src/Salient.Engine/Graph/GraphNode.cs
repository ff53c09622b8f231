using System.Text;
using Salient.Engine.Onnx.Protos;

namespace Salient.Engine.Graph;

/// <summary>One ONNX node with typed access to its attributes.</summary>
internal sealed class GraphNode
{
    private readonly Dictionary<string, AttributeProto> _attributes;

    public GraphNode(NodeProto proto, int index)
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

    public int Index { get; }

    public string OpType { get; }

    public string Domain { get; }

    public string Name { get; }

    /// <summary>Input value names; an empty string is an omitted optional input.</summary>
    public string[] Inputs { get; }

    public string[] Outputs { get; }

    /// <summary>"Conv node 'conv1'", for error messages.</summary>
    public string Describe() => $"{OpType} node '{Name}'";

    public bool HasInput(int i) => i < Inputs.Length && Inputs[i].Length > 0;

    public bool HasAttribute(string name) => _attributes.ContainsKey(name);

    public long GetInt(string name, long fallback) => _attributes.TryGetValue(name, out var a) ? a.I : fallback;

    public float GetFloat(string name, float fallback) => _attributes.TryGetValue(name, out var a) ? a.F : fallback;

    public long[]? GetInts(string name) => _attributes.TryGetValue(name, out var a) ? [.. a.Ints] : null;

    public float[]? GetFloats(string name) => _attributes.TryGetValue(name, out var a) ? [.. a.Floats] : null;

    public string? GetString(string name) => _attributes.TryGetValue(name, out var a) ? Encoding.UTF8.GetString(a.S.Span) : null;

    public AttributeProto? GetAttribute(string name) => _attributes.GetValueOrDefault(name);
}
