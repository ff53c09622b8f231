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
        if (!data.IsInteger)
        {
            throw context.Error(node, "Slice is supported only on integer shape tensors at plan time");
        }

        long[] starts, ends, axes, steps;
        if (context.Opset >= 10)
        {
            starts = context.Constant(node, 1).AsInts();
            ends = context.Constant(node, 2).AsInts();
            axes = node.HasInput(3) ? context.Constant(node, 3).AsInts() : [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
            steps = node.HasInput(4) ? context.Constant(node, 4).AsInts() : [.. starts.Select(_ => 1L)];
        }
        else
        {
            starts = node.GetInts("starts") ?? [];
            ends = node.GetInts("ends") ?? [];
            axes = node.GetInts("axes") ?? [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
            steps = [.. starts.Select(_ => 1L)];
        }

        var shape = data.Shape;
        var picks = shape.Select(d => Enumerable.Range(0, d).ToArray()).ToArray();
        for (var k = 0; k < axes.Length; k++)
        {
            var axis = (int)(axes[k] < 0 ? axes[k] + shape.Length : axes[k]);
            var n = shape[axis];
            var step = steps[k];
            if (step == 0)
            {
                throw context.Error(node, "slice step 0");
            }

            var begin = starts[k] < 0 ? starts[k] + n : starts[k];
            var stop = ends[k] < 0 ? ends[k] + n : ends[k];
            var list = new List<int>();
            if (step > 0)
            {
                for (var i = Math.Clamp(begin, 0, n); i < Math.Clamp(stop, 0, n); i += step)
                {
                    list.Add((int)i);
                }
            }
            else
            {
                for (var i = Math.Clamp(begin, -1, n - 1); i > Math.Clamp(stop, -1, n - 1); i += step)
                {
                    list.Add((int)i);
                }
            }

            picks[axis] = [.. list];
        }

        context.SetConstant(node.Outputs[0], Gather(data, picks));
        return null;
    }

    public static Step? PlanTranspose(GraphNode node, PlanContext context)
    {
        if (!context.IsConstant(node.Inputs[0]) || !context.Constant(node, 0).IsInteger)
        {
            throw context.Error(node, "Transpose is supported only on integer shape tensors at plan time");
        }

        var data = context.Constant(node, 0);
        var rank = data.Shape.Length;
        var perm = node.GetInts("perm")?.Select(p => (int)p).ToArray() ?? [.. Enumerable.Range(0, rank).Reverse()];
        var shape = perm.Select(p => data.Shape[p]).ToArray();
        var strides = Strides(data.Shape);
        var values = data.AsInts();
        var result = new long[values.Length];
        var index = new int[rank];
        for (var i = 0; i < result.Length; i++)
        {
            var source = 0;
            for (var d = 0; d < rank; d++)
            {
                source += index[d] * strides[perm[d]];
            }

            result[i] = values[source];
            for (var d = rank - 1; d >= 0 && ++index[d] == shape[d]; d--)
            {
                index[d] = 0;
            }
        }

        context.SetConstant(node.Outputs[0], ConstantValue.FromInts(result, shape));
        return null;
    }

    /// <summary>The sub-tensor of <paramref name="data"/> at the given indices along each axis.</summary>
    private static ConstantValue Gather(ConstantValue data, int[][] picks)
    {
        var values = data.AsInts();
        var strides = Strides(data.Shape);
        var shape = picks.Select(p => p.Length).ToArray();
        var result = new long[Tensor.CheckedLength(shape)];
        var index = new int[shape.Length];
        for (var i = 0; i < result.Length; i++)
        {
            var source = 0;
            for (var d = 0; d < shape.Length; d++)
            {
                source += picks[d][index[d]] * strides[d];
            }

            result[i] = values[source];
            for (var d = shape.Length - 1; d >= 0 && ++index[d] == shape[d]; d--)
            {
                index[d] = 0;
            }
        }

        return ConstantValue.FromInts(result, shape);
    }

    private static int[] Strides(int[] shape)
    {
        var strides = new int[shape.Length];
        for (int d = shape.Length - 1, s = 1; d >= 0; s *= shape[d], d--)
        {
            strides[d] = s;
        }

        return strides;
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
