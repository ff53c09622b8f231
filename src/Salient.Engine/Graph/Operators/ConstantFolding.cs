using Salient.Engine.Onnx;
using Salient.Engine.Onnx.Protos;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// Operators that exporters emit to compute shapes (Shape → Gather → Unsqueeze → Concat → Reshape).
/// With the input size fixed they are evaluated once at plan time and never run.
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

    public static Step? PlanGather(GraphNode node, PlanContext context)
    {
        var data = context.Constant(node, 0);
        var indices = context.Constant(node, 1);
        var axis = (int)node.GetInt("axis", 0);
        if (data.Shape.Length != 1 || axis != 0)
        {
            throw context.Error(node, "Gather is supported only on 1-D shape vectors at plan time");
        }

        var values = data.AsInts();
        var picked = indices.AsInts().Select(i => values[i < 0 ? i + values.Length : i]).ToArray();
        context.SetConstant(node.Outputs[0], ConstantValue.FromInts(picked, indices.Shape));
        return null;
    }

    public static Step? PlanCast(GraphNode node, PlanContext context)
    {
        var to = (TensorProto.Types.DataType)node.GetInt("to", 0);
        var isFloat = to is TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Float16;
        if (!context.IsConstant(node.Inputs[0]))
        {
            if (!isFloat)
            {
                throw context.Error(node, $"casting image data to {to} is not supported");
            }

            return ShapeOperators.PlanIdentity(node, context);
        }

        var value = context.Constant(node, 0);
        context.SetConstant(node.Outputs[0], isFloat
            ? ConstantValue.FromFloats(Tensor.Wrap(value.AsFloats(), value.Shape))
            : ConstantValue.FromInts(value.AsInts(), value.Shape));
        return null;
    }

    public static Step? PlanSlice(GraphNode node, PlanContext context)
    {
        var data = context.Constant(node, 0);
        if (data.Shape.Length != 1)
        {
            throw context.Error(node, "Slice is supported only on 1-D shape vectors at plan time");
        }

        long[] starts, ends, steps;
        if (context.Opset >= 10)
        {
            starts = context.Constant(node, 1).AsInts();
            ends = context.Constant(node, 2).AsInts();
            steps = node.HasInput(4) ? context.Constant(node, 4).AsInts() : [1];
        }
        else
        {
            starts = node.GetInts("starts") ?? [0];
            ends = node.GetInts("ends") ?? [long.MaxValue];
            steps = [1];
        }

        var values = data.AsInts();
        var n = values.Length;
        var step = steps[0];
        if (step == 0)
        {
            throw context.Error(node, "slice step 0");
        }

        var begin = starts[0] < 0 ? starts[0] + n : starts[0];
        var stop = ends[0] < 0 ? ends[0] + n : ends[0];
        var picked = new List<long>();
        if (step > 0)
        {
            for (var i = Math.Clamp(begin, 0, n); i < Math.Clamp(stop, 0, n); i += step)
            {
                picked.Add(values[i]);
            }
        }
        else
        {
            for (var i = Math.Clamp(begin, -1, n - 1); i > Math.Clamp(stop, -1, n - 1); i += step)
            {
                picked.Add(values[i]);
            }
        }

        context.SetConstant(node.Outputs[0], ConstantValue.FromInts([.. picked], [picked.Count]));
        return null;
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
