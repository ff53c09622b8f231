using System.Runtime.InteropServices;
using Google.Protobuf;
using Salient.Engine.Onnx.Protos;

namespace Salient.Engine.Onnx;

/// <summary>
/// Stores a model's float weights in half precision, in standard ONNX: each float initializer W
/// becomes a FLOAT16 initializer <c>W.fp16</c> and a <c>Cast(to=FLOAT)</c> node that gives W back,
/// so the file is half the size and any runtime computes in float as before, on weights rounded
/// to half precision. <see cref="Widened"/> turns those pairs back into float initializers, so the
/// model can be joined, trained further or cut again as if it had never been stored so.
/// </summary>
public static class OnnxHalfStorage
{
    /// <summary>The suffix of the half-precision initializers' names.</summary>
    public const string Suffix = ".fp16";

    /// <summary>
    /// Initializers with fewer elements than this stay in float: the Cast node would outweigh what
    /// they save, and they include the batch-norm statistics, whose small variances lose most in half.
    /// </summary>
    public const int MinElements = 1024;

    /// <summary>
    /// A copy of <paramref name="model"/> whose float initializers of at least
    /// <see cref="MinElements"/> elements are stored in half precision behind Cast nodes. Throws
    /// <see cref="ModelException"/> naming a weight that half precision cannot hold (beyond ±65504).
    /// </summary>
    public static ModelProto Narrowed(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        model = model.Clone();
        var graph = model.Graph;
        var casts = new List<NodeProto>();
        foreach (var tensor in graph.Initializer.ToList())
        {
            if (tensor.DataType != (int)TensorProto.Types.DataType.Float || tensor.Dims.Aggregate(1L, (a, d) => a * d) < MinElements)
            {
                continue;
            }

            var name = tensor.Name;
            var floats = TensorProtoReader.Read(tensor, Environment.CurrentDirectory, $"initializer '{name}'").AsFloats();
            var halves = new Half[floats.Length];
            for (var i = 0; i < floats.Length; i++)
            {
                halves[i] = (Half)floats[i];
                if (Half.IsInfinity(halves[i]) && float.IsFinite(floats[i]))
                {
                    throw new ModelException($"Model '{graph.Name}': initializer '{name}' holds {floats[i]}, beyond half precision's range; it cannot be stored in half.");
                }
            }

            tensor.Name = name + Suffix;
            tensor.DataType = (int)TensorProto.Types.DataType.Float16;
            tensor.FloatData.Clear();
            tensor.ExternalData.Clear();
            tensor.DataLocation = TensorProto.Types.DataLocation.Default;
            tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(halves.AsSpan()));
            var cast = new NodeProto { OpType = "Cast", Name = name + Suffix + "/Cast", Input = { tensor.Name }, Output = { name } };
            cast.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)TensorProto.Types.DataType.Float });
            casts.Add(cast);
            RemoveInput(graph, name);
        }

        // Graph order is topological: the casts come before every node that reads a weight.
        for (var i = casts.Count - 1; i >= 0; i--)
        {
            graph.Node.Insert(0, casts[i]);
        }

        return model;
    }

    /// <summary>
    /// <paramref name="model"/> with every <c>Cast(to=FLOAT)</c> of a FLOAT16 initializer turned into
    /// a float initializer under the Cast's output name, holding the same (half-rounded) values: a
    /// copy, or the model itself when it has no FLOAT16 initializer.
    /// </summary>
    public static ModelProto Widened(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!model.Graph.Initializer.Any(t => t.DataType == (int)TensorProto.Types.DataType.Float16))
        {
            return model;
        }

        model = model.Clone();
        var graph = model.Graph;
        var halves = graph.Initializer.Where(t => t.DataType == (int)TensorProto.Types.DataType.Float16).ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var node in graph.Node.ToList())
        {
            if (node.OpType != "Cast" || node.Input.Count != 1 || !halves.TryGetValue(node.Input[0], out var half)
                || node.Attribute.SingleOrDefault(a => a.Name == "to")?.I != (long)TensorProto.Types.DataType.Float)
            {
                continue;
            }

            var floats = TensorProtoReader.Read(half, Environment.CurrentDirectory, $"initializer '{half.Name}'").AsFloats();
            var widened = new TensorProto { Name = node.Output[0], DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(floats.AsSpan())) };
            widened.Dims.AddRange(half.Dims);
            graph.Node.Remove(node);
            if (!graph.Node.Any(n => n.Input.Contains(half.Name)))
            {
                graph.Initializer.Remove(half);
                RemoveInput(graph, half.Name);
            }

            graph.Initializer.Add(widened);
        }

        return model;
    }

    /// <summary>Older exporters list initializers among the inputs too; a renamed one must leave them.</summary>
    private static void RemoveInput(GraphProto graph, string name)
    {
        if (graph.Input.FirstOrDefault(i => i.Name == name) is { } input)
        {
            graph.Input.Remove(input);
        }
    }
}
