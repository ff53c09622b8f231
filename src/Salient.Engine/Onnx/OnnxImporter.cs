using Google.Protobuf;
using Salient.Engine.Graph;
using Salient.Engine.Graph.Operators;
using Salient.Engine.Onnx.Protos;

namespace Salient.Engine.Onnx;

/// <summary>Reads an ONNX file into a <see cref="GraphDefinition"/>, checking what can be checked before any input arrives.</summary>
public static class OnnxImporter
{
    /// <summary>The default-domain opsets whose CNN operators Salient implements.</summary>
    private const long MinOpset = 7;
    private const long MaxOpset = 21;

    internal static GraphDefinition Load(string path) =>
        Import(ReadProto(path), Path.GetFileName(path), Path.GetDirectoryName(Path.GetFullPath(path))!);

    /// <summary>Parses an ONNX file without checking it (training keeps the proto to export from).</summary>
    public static ModelProto ReadProto(string path)
    {
        var name = Path.GetFileName(path);
        ModelProto model;
        try
        {
            // Parsing from the stream lets each weight land in exactly one array (no whole-file buffer).
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            if (stream.Length == 0)
            {
                throw new ModelException($"Model '{name}' is an empty file.");
            }

            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelException($"Model '{name}' is not a valid ONNX file: {e.Message}", e);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new ModelException($"Model '{name}' cannot be read: {e.Message}", e);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelException($"Model '{path}' does not exist.", e);
        }

        return model;
    }

    /// <summary>Checks and imports a parsed model; external weight files are looked up in <paramref name="directory"/>.</summary>
    internal static GraphDefinition Import(ModelProto model, string name, string directory)
    {
        if (model.IrVersion <= 0 || model.Graph is null || model.Graph.Node.Count == 0)
        {
            throw new ModelException($"Model '{name}' is not an ONNX model: it has no IR version or no graph nodes.");
        }

        var opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version ?? 0;
        if (opset is < MinOpset or > MaxOpset)
        {
            throw new ModelException($"Model '{name}' uses ONNX opset {opset}; Salient supports opsets {MinOpset} to {MaxOpset}.");
        }

        var graph = model.Graph;
        var initializers = new Dictionary<string, ConstantValue>(StringComparer.Ordinal);
        foreach (var tensor in graph.Initializer)
        {
            initializers[tensor.Name] = TensorProtoReader.Read(tensor, directory, $"Model '{name}'");
        }

        // Older exporters list initializers among the inputs too; the image input is what remains.
        var inputs = graph.Input.Where(i => !initializers.ContainsKey(i.Name)).ToList();
        if (inputs.Count != 1)
        {
            throw new ModelException($"Model '{name}' has {inputs.Count} inputs ({string.Join(", ", inputs.Select(i => i.Name))}); Salient explains models with one image input.");
        }

        var input = inputs[0];
        var elemType = input.Type?.TensorType?.ElemType ?? 0;
        if (elemType != (int)TensorProto.Types.DataType.Float)
        {
            throw new ModelException($"Model '{name}': input '{input.Name}' has element type {(TensorProto.Types.DataType)elemType}; Salient feeds float32.");
        }

        var dims = input.Type!.TensorType.Shape?.Dim;
        var inputShape = dims is null ? [] : dims.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0 ? (int)d.DimValue : -1).ToArray();

        var nodes = new List<GraphNode>(graph.Node.Count);
        for (var i = 0; i < graph.Node.Count; i++)
        {
            var node = new GraphNode(graph.Node[i], i);
            if (node.Domain is not ("" or "ai.onnx"))
            {
                throw new ModelException($"Model '{name}': {node.Describe()} is from operator domain '{node.Domain}', which Salient does not support.");
            }

            if (!OperatorRegistry.IsSupported(node.OpType))
            {
                throw new ModelException($"Model '{name}': {node.Describe()} uses operator '{node.OpType}', which Salient does not support (supported: {string.Join(", ", OperatorRegistry.Supported)}).");
            }

            nodes.Add(node);
        }

        return new GraphDefinition
        {
            ModelName = name,
            Opset = opset,
            Nodes = SortTopologically(nodes, initializers.Keys.Append(input.Name), name),
            Initializers = initializers,
            InputName = input.Name,
            InputShape = inputShape,
            OutputNames = [.. graph.Output.Select(o => o.Name)],
            Metadata = model.MetadataProps.GroupBy(p => p.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal),
        };
    }

    /// <summary>ONNX requires topological order, but not every exporter delivers it; a cycle or a dangling input is an error.</summary>
    private static List<GraphNode> SortTopologically(List<GraphNode> nodes, IEnumerable<string> available, string name)
    {
        var known = new HashSet<string>(available, StringComparer.Ordinal) { string.Empty };
        var sorted = new List<GraphNode>(nodes.Count);
        var pending = nodes;
        while (pending.Count > 0)
        {
            var next = new List<GraphNode>();
            foreach (var node in pending)
            {
                if (node.Inputs.All(known.Contains))
                {
                    sorted.Add(node);
                    known.UnionWith(node.Outputs);
                }
                else
                {
                    next.Add(node);
                }
            }

            if (next.Count == pending.Count)
            {
                var stuck = next[0];
                var missing = stuck.Inputs.First(i => !known.Contains(i));
                throw new ModelException($"Model '{name}': {stuck.Describe()} reads '{missing}', which no node, initializer or input produces.");
            }

            pending = next;
        }

        return sorted;
    }
}
