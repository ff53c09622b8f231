using Salient.Engine.Onnx;
using Salient.Engine.Onnx.Protos;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// Operators that exporters emit to compute shapes (Shape → Gather → Unsqueeze → Concat → Reshape).
/// With the input size fixed they are evaluated once at plan time and never run; the arithmetic
/// between them is folded by <see cref="ConstantEvaluator"/>.
/// </summary>
internal static class ConstantFolding
{
    public static Step? PlanConstant(GraphNode node, PlanContext context)
    {
        ConstantValue value;
        if (node.GetAttribute("value") is { T: { } tensor })
        {
            value = TensorProtoReader.Read(tensor, ".", $"Model '{context.Graph.ModelName}': {node.Describe()}");
        }
        else if (node.HasAttribute("value_float"))
        {
            value = ConstantValue.FromFloats(Tensor.Wrap(new[] { node.GetFloat("value_float", 0f) }));
        }
        else if (node.GetFloats("value_floats") is { } floats)
        {
            value = ConstantValue.FromFloats(Tensor.Wrap(floats, floats.Length));
        }
        else if (node.HasAttribute("value_int"))
        {
            value = ConstantValue.FromInts([node.GetInt("value_int", 0)], []);
        }
        else if (node.GetInts("value_ints") is { } ints)
        {
            value = ConstantValue.FromInts(ints, [ints.Length]);
        }
        else
        {
            throw context.Error(node, "has no value attribute Salient reads (value, value_float(s), value_int(s))");
        }

        context.SetConstant(node.Outputs[0], value);
        return null;
    }

    public static Step? PlanShape(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var start = Clamp(node.GetInt("start", 0), x.Length);
        var end = Clamp(node.GetInt("end", x.Length), x.Length);
        var dims = x[start..Math.Max(start, end)].Select(d => (long)d).ToArray();
        context.SetConstant(node.Outputs[0], ConstantValue.FromInts(dims, [dims.Length]));
        return null;
    }

    /// <summary>Cast of image data to a float type is the identity; constants are cast by <see cref="ConstantEvaluator"/>.</summary>
    public static Step? PlanCast(GraphNode node, PlanContext context)
    {
        var to = (TensorProto.Types.DataType)node.GetInt("to", 0);
        if (to is not (TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Float16))
        {
            throw context.Error(node, $"casting image data to {to} is not supported");
        }

        return ShapeOperators.PlanIdentity(node, context);
    }

    public static Step? PlanConstantOfShape(GraphNode node, PlanContext context)
    {
        var shape = context.Constant(node, 0).AsInts().Select(d => (int)d).ToArray();
        var fill = node.GetAttribute("value") is { T: { } t }
            ? TensorProtoReader.Read(t, ".", $"Model '{context.Graph.ModelName}': {node.Describe()}")
            : null;
        var length = Tensor.CheckedLength(shape);
        context.SetConstant(node.Outputs[0], fill is { IsInteger: true } || fill is null
            ? ConstantValue.FromInts(Enumerable.Repeat(fill?.AsInts()[0] ?? 0L, length).ToArray(), shape)
            : ConstantValue.FromFloats(Tensor.Wrap(Enumerable.Repeat(fill.AsFloats()[0], length).ToArray(), shape)));
        return null;
    }

    private static int Clamp(long axis, int rank) => (int)Math.Clamp(axis < 0 ? axis + rank : axis, 0, rank);
}
