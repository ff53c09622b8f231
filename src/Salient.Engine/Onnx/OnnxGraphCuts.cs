using System.Runtime.InteropServices;
using Google.Protobuf;
using Salient.Engine.Onnx.Protos;

namespace Salient.Engine.Onnx;

/// <summary>
/// Cuts an ONNX model in two at a named value and joins two models at one: the part before a
/// value (a frozen backbone), the part after it (a head trained on the backbone's features), and
/// the two put back together. Parts keep the original node, value and initializer names, so a head
/// cut from a trained model joins its backbone again into the same graph.
/// </summary>
public static class OnnxGraphCuts
{
    /// <summary>
    /// The nodes and initializers that compute <paramref name="value"/> from the model's input; its
    /// only output is <paramref name="value"/>. The input keeps its channels; batch, height and width are free.
    /// </summary>
    public static ModelProto Before(ModelProto model, string value)
    {
        ArgumentNullException.ThrowIfNull(model);
        var part = Pruned(model, [value]);
        var graph = part.Graph;
        graph.Output.Clear();
        graph.Output.Add(new ValueInfoProto { Name = value });
        var input = graph.Input.Single(i => !graph.Initializer.Any(t => t.Name == i.Name));
        var dims = input.Type?.TensorType?.Shape?.Dim;
        if (dims is not { Count: 4 } || dims[1].DimValue <= 0)
        {
            throw new ModelException($"Model '{model.Graph.Name}': the input '{input.Name}' must be an image batch [N,C,H,W] with a known C.");
        }

        graph.Input.Clear();
        graph.Input.Add(Input(input.Name, [(int)dims[1].DimValue, -1, -1]));
        return part;
    }

    /// <summary>
    /// The nodes after <paramref name="value"/>, which becomes the part's input ([N, <paramref name="shape"/>...]);
    /// every output must be computed from it alone.
    /// </summary>
    public static ModelProto After(ModelProto model, string value, IReadOnlyList<int> shape)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(shape);
        var graph = model.Graph;
        var part = new GraphProto { Name = graph.Name };
        part.Input.Add(Input(value, shape));
        part.Initializer.AddRange(graph.Initializer);
        var known = new HashSet<string>(graph.Initializer.Select(i => i.Name).Append(value), StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            // Graph order is topological, so one pass sees every node whose inputs the part can compute.
            if (node.Input.Where(i => i.Length > 0).All(known.Contains))
            {
                part.Node.Add(node.Clone());
                known.UnionWith(node.Output);
            }
        }

        part.Output.AddRange(graph.Output.Select(o => o.Clone()));
        var missing = part.Output.Select(o => o.Name).Where(o => !known.Contains(o)).ToList();
        if (missing.Count > 0)
        {
            throw new ModelException($"Model '{graph.Name}': output(s) {string.Join(", ", missing)} do not follow from '{value}' alone.");
        }

        var result = Wrap(model, part);
        return Pruned(result, [.. part.Output.Select(o => o.Name)]);
    }

    /// <summary>
    /// <paramref name="first"/> up to <paramref name="value"/>, then <paramref name="second"/> fed by
    /// it (its input is renamed to <paramref name="value"/>), with the first model's input as in
    /// <see cref="Before"/>, the second's metadata, and the higher of the two opsets.
    /// </summary>
    public static ModelProto Join(ModelProto first, string value, ModelProto second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        var head = Before(first, value);
        var secondInput = second.Graph.Input.Select(i => i.Name).Except(second.Graph.Initializer.Select(t => t.Name)).Single();
        string Renamed(string name) => name == secondInput ? value : name;
        var headNames = new HashSet<string>(head.Graph.Node.SelectMany(n => n.Output).Concat(head.Graph.Initializer.Select(t => t.Name)), StringComparer.Ordinal);
        var clash = second.Graph.Node.SelectMany(n => n.Output).Concat(second.Graph.Initializer.Select(t => t.Name)).Where(headNames.Contains).ToList();
        if (clash.Count > 0)
        {
            throw new ModelException($"Cannot join '{second.Graph.Name}' after '{first.Graph.Name}': both name {string.Join(", ", clash.Distinct().Take(5))}.");
        }

        var graph = head.Graph;
        graph.Output.Clear();
        graph.Initializer.AddRange(second.Graph.Initializer.Select(t => t.Clone()));
        foreach (var node in second.Graph.Node)
        {
            var copy = node.Clone();
            for (var i = 0; i < copy.Input.Count; i++)
            {
                copy.Input[i] = Renamed(copy.Input[i]);
            }

            graph.Node.Add(copy);
        }

        graph.Output.AddRange(second.Graph.Output.Select(o => o.Clone()));
        head.OpsetImport.Clear();
        head.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = Math.Max(Opset(first), Opset(second)) });
        head.IrVersion = Math.Max(first.IrVersion, second.IrVersion);
        head.MetadataProps.Clear();
        head.MetadataProps.AddRange(second.MetadataProps.Select(p => p.Clone()));
        return head;
    }

    /// <summary>
    /// Reverses the channel order of every convolution that reads the model's input, so a model
    /// trained on BGR images (Caffe, CNTK) gives the same outputs on the RGB images Salient feeds.
    /// </summary>
    public static void ReverseInputChannels(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph;
        var input = graph.Input.Select(i => i.Name).Except(graph.Initializer.Select(t => t.Name)).Single();
        var readers = graph.Node.Where(n => n.Input.Contains(input)).ToList();
        if (readers.Count == 0 || readers.Any(n => n.OpType != "Conv" || n.Input[0] != input))
        {
            throw new ModelException($"Model '{graph.Name}': only a model whose input goes straight into convolutions can have its input channels reversed.");
        }

        foreach (var name in readers.Select(n => n.Input[1]).Distinct())
        {
            var tensor = graph.Initializer.Single(t => t.Name == name);
            var weights = TensorProtoReader.Read(tensor, Environment.CurrentDirectory, $"initializer '{name}'").AsFloats();
            var (outputs, channels) = ((int)tensor.Dims[0], (int)tensor.Dims[1]);
            var window = weights.Length / (outputs * channels);
            var reversed = new float[weights.Length];
            for (var o = 0; o < outputs; o++)
            {
                for (var c = 0; c < channels; c++)
                {
                    weights.AsSpan(((o * channels) + c) * window, window).CopyTo(reversed.AsSpan(((o * channels) + (channels - 1 - c)) * window, window));
                }
            }

            tensor.FloatData.Clear();
            tensor.ExternalData.Clear();
            tensor.DataLocation = TensorProto.Types.DataLocation.Default;
            tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(reversed.AsSpan()));
        }
    }

    private static long Opset(ModelProto model) => model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version ?? 0;

    /// <summary>A copy of <paramref name="model"/> holding only what <paramref name="outputs"/> need.</summary>
    private static ModelProto Pruned(ModelProto model, IReadOnlyList<string> outputs)
    {
        var graph = model.Graph;
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output)
            {
                producers[output] = node;
            }
        }

        var inputs = new HashSet<string>(graph.Input.Select(i => i.Name), StringComparer.Ordinal);
        var needed = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var used = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(outputs);
        while (pending.TryPop(out var value))
        {
            if (!used.Add(value))
            {
                continue;
            }

            if (producers.TryGetValue(value, out var node))
            {
                if (needed.Add(node))
                {
                    foreach (var input in node.Input.Where(i => i.Length > 0))
                    {
                        pending.Push(input);
                    }
                }
            }
            else if (!inputs.Contains(value) && !graph.Initializer.Any(t => t.Name == value))
            {
                throw new ModelException($"Model '{graph.Name}' has no value '{value}'.");
            }
        }

        var part = new GraphProto { Name = graph.Name };
        part.Node.AddRange(graph.Node.Where(needed.Contains).Select(n => n.Clone()));
        part.Initializer.AddRange(graph.Initializer.Where(t => used.Contains(t.Name)).Select(t => t.Clone()));
        part.Input.AddRange(graph.Input.Where(i => used.Contains(i.Name)).Select(i => i.Clone()));
        part.Output.AddRange(graph.Output.Where(o => outputs.Contains(o.Name)).Select(o => o.Clone()));
        return Wrap(model, part);
    }

    private static ModelProto Wrap(ModelProto model, GraphProto graph)
    {
        var result = new ModelProto { IrVersion = model.IrVersion, ProducerName = model.ProducerName, ProducerVersion = model.ProducerVersion, Graph = graph };
        result.OpsetImport.AddRange(model.OpsetImport.Select(o => o.Clone()));
        result.MetadataProps.AddRange(model.MetadataProps.Select(p => p.Clone()));
        return result;
    }

    private static ValueInfoProto Input(string name, IReadOnlyList<int> shape)
    {
        var type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto() } };
        type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N" });
        foreach (var (d, i) in shape.Select((d, i) => (d, i)))
        {
            type.TensorType.Shape.Dim.Add(d > 0 ? new TensorShapeProto.Types.Dimension { DimValue = d } : new TensorShapeProto.Types.Dimension { DimParam = $"D{i + 1}" });
        }

        return new ValueInfoProto { Name = name, Type = type };
    }
}
