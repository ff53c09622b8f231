using Google.Protobuf;
using Salient.Engine;
using Salient.Engine.Onnx.Protos;

namespace Salient.Tests;

/// <summary>Builds tiny ONNX models in memory (written to a temp file) for hand-checkable tests.</summary>
internal static class TinyModels
{
    /// <summary>Builds the model, writes it to <paramref name="keepAt"/> (or a temp file, deleted after loading) and loads it.</summary>
    public static Model Load(string name, int[] inputShape, IEnumerable<NodeProto> nodes, IEnumerable<TensorProto> initializers, string output, string? keepAt = null)
    {
        var graph = new GraphProto { Name = name };
        graph.Node.AddRange(nodes);
        graph.Initializer.AddRange(initializers);
        var type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto() } };
        foreach (var d in inputShape)
        {
            type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        graph.Input.Add(new ValueInfoProto { Name = "x", Type = type });
        graph.Output.Add(new ValueInfoProto { Name = output });
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 13 });
        var path = keepAt ?? Path.Combine(Path.GetTempPath(), $"salient-{name}-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        try
        {
            return Model.Load(path);
        }
        finally
        {
            if (keepAt is null)
            {
                File.Delete(path);
            }
        }
    }

    /// <summary>
    /// Registers operator <paramref name="op"/>, one input and an output of its shape, planned as the
    /// step <paramref name="create"/> makes for the node and that shape: a test's own operator, once a process.
    /// </summary>
    public static void RegisterShapePreserving(string op, Func<Salient.Engine.Graph.GraphNode, int[], Salient.Engine.Graph.Step> create) =>
        Salient.Engine.Graph.Operators.OperatorRegistry.Register(op, (node, context) =>
        {
            var shape = context.Shape(node, 0);
            context.SetShape(node.Outputs[0], shape);
            return create(node, shape);
        });

    public static TensorProto Floats(string name, int[] dims, params float[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims.Select(d => (long)d));
        t.FloatData.AddRange(values);
        return t;
    }

    public static NodeProto Node(string op, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        return node;
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };
}
