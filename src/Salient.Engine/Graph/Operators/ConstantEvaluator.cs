using Salient.Engine.Onnx.Protos;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// Evaluates, once at plan time, the nodes whose inputs are all constants: the shape arithmetic
/// exporters emit (Shape → Gather → Mod → Range → Equal → Where → Expand → ScatterND, as in Swin's
/// attention masks) and float constants derived from weights (a gathered relative-position bias).
/// Values are held as doubles, which carry int64 shape values and float32 data exactly; comparisons
/// give integer 0/1.
/// </summary>
internal static class ConstantEvaluator
{
    private sealed record Value(int[] Shape, double[] Data, bool IsInteger);

    private static readonly Dictionary<string, Func<GraphNode, PlanContext, Value?[], Value>> Folders = new(StringComparer.Ordinal)
    {
        ["Add"] = (_, _, v) => Binary(v[0]!, v[1]!, (a, b) => a + b, Arithmetic),
        ["Sub"] = (_, _, v) => Binary(v[0]!, v[1]!, (a, b) => a - b, Arithmetic),
        ["Mul"] = (_, _, v) => Binary(v[0]!, v[1]!, (a, b) => a * b, Arithmetic),
        ["Div"] = (_, _, v) => v[0]!.IsInteger && v[1]!.IsInteger
            ? Binary(v[0]!, v[1]!, (a, b) => b == 0 ? throw new ModelException("Integer division by zero in a shape computation.") : Math.Truncate(a / b), Arithmetic)
            : Binary(v[0]!, v[1]!, (a, b) => a / b, Arithmetic),
        ["Mod"] = (n, _, v) => Binary(v[0]!, v[1]!, n.GetInt("fmod", 0) != 0 ? TruncatedMod : FloorMod, Arithmetic),
        ["Pow"] = (_, _, v) => Binary(v[0]!, v[1]!, Math.Pow, (a, _) => a),
        ["Equal"] = (_, _, v) => Binary(v[0]!, v[1]!, (a, b) => a == b ? 1 : 0, Boolean),
        ["Less"] = (_, _, v) => Binary(v[0]!, v[1]!, (a, b) => a < b ? 1 : 0, Boolean),
        ["Greater"] = (_, _, v) => Binary(v[0]!, v[1]!, (a, b) => a > b ? 1 : 0, Boolean),
        ["LessOrEqual"] = (_, _, v) => Binary(v[0]!, v[1]!, (a, b) => a <= b ? 1 : 0, Boolean),
        ["GreaterOrEqual"] = (_, _, v) => Binary(v[0]!, v[1]!, (a, b) => a >= b ? 1 : 0, Boolean),
        ["And"] = (_, _, v) => Binary(v[0]!, v[1]!, (a, b) => a != 0 && b != 0 ? 1 : 0, Boolean),
        ["Or"] = (_, _, v) => Binary(v[0]!, v[1]!, (a, b) => a != 0 || b != 0 ? 1 : 0, Boolean),
        ["Not"] = (_, _, v) => Unary(v[0]!, a => a == 0 ? 1 : 0),
        ["Neg"] = (_, _, v) => Unary(v[0]!, a => -a),
        ["Abs"] = (_, _, v) => Unary(v[0]!, Math.Abs),
        ["Sqrt"] = (_, _, v) => Unary(v[0]!, Math.Sqrt),
        ["Reciprocal"] = (_, _, v) => Unary(v[0]!, a => 1 / a),
        ["Floor"] = (_, _, v) => Unary(v[0]!, Math.Floor),
        ["Ceil"] = (_, _, v) => Unary(v[0]!, Math.Ceiling),
        ["Cast"] = Cast,
        ["Where"] = Where,
        ["Range"] = Range,
        ["Expand"] = Expand,
        ["Tile"] = Tile,
        ["Slice"] = Slice,
        ["Gather"] = Gather,
        ["Concat"] = Concat,
        ["Transpose"] = Transpose,
        ["ScatterND"] = ScatterNd,
    };

    /// <summary>Whether nodes of <paramref name="opType"/> are folded when their inputs are constants.</summary>
    public static bool Folds(string opType) => Folders.ContainsKey(opType);

    /// <summary>The operators folded here.</summary>
    public static IEnumerable<string> OpTypes => Folders.Keys;

    /// <summary>Folds <paramref name="node"/> when it is an operator evaluated here and every input is a constant; false otherwise.</summary>
    public static bool TryFold(GraphNode node, PlanContext context)
    {
        if (!Folders.TryGetValue(node.OpType, out var fold) || node.Outputs.Length != 1
            || !node.Inputs.All(i => i.Length == 0 || context.IsConstant(i)))
        {
            return false;
        }

        var inputs = node.Inputs.Select(i => i.Length == 0 ? null : Read(context.Constants[i])).ToArray();
        var result = fold(node, context, inputs);
        context.SetConstant(node.Outputs[0], result.IsInteger
            ? ConstantValue.FromInts(Array.ConvertAll(result.Data, d => (long)d), result.Shape)
            : ConstantValue.FromFloats(Tensor.Wrap(Array.ConvertAll(result.Data, d => (float)d), result.Shape)));
        return true;
    }

    private static Value Read(ConstantValue constant) => constant.Ints is { } ints
        ? new Value(constant.Shape, Array.ConvertAll(ints, i => (double)i), true)
        : new Value(constant.Shape, Array.ConvertAll(constant.Floats!.Span.ToArray(), f => (double)f), false);

    private static bool Arithmetic(bool a, bool b) => a && b;

    private static bool Boolean(bool a, bool b) => true;

    private static double TruncatedMod(double a, double b) => a % b;

    private static double FloorMod(double a, double b) => b == 0 ? throw new ModelException("Integer modulo by zero in a shape computation.") : a - (b * Math.Floor(a / b));

    private static Value Unary(Value x, Func<double, double> f) => new(x.Shape, Array.ConvertAll(x.Data, d => f(d)), x.IsInteger);

    private static Value Binary(Value a, Value b, Func<double, double, double> f, Func<bool, bool, bool> integer)
    {
        var shape = BinaryOperator.BroadcastShape(a.Shape, b.Shape) ?? throw new ModelException($"Shapes [{Tensor.FormatShape(a.Shape)}] and [{Tensor.FormatShape(b.Shape)}] do not broadcast.");
        var x = Broadcast(a, shape);
        var y = Broadcast(b, shape);
        var result = new double[x.Length];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = f(x[i], y[i]);
        }

        return new Value(shape, result, integer(a.IsInteger, b.IsInteger));
    }

    private static double[] Broadcast(Value x, int[] shape)
    {
        var result = new double[Tensor.CheckedLength(shape)];
        Strided.Gather<double>(x.Data, 0, ExpandOperator.BroadcastStrides(x.Shape, shape), shape, result);
        return result;
    }

    private static Value Copy(Value x, int offset, int[] strides, int[] copyShape, int[] shape)
    {
        var result = new double[Tensor.CheckedLength(shape)];
        Strided.Gather<double>(x.Data, offset, strides, copyShape, result);
        return x with { Shape = shape, Data = result };
    }

    private static Value Cast(GraphNode node, PlanContext context, Value?[] v)
    {
        var to = (TensorProto.Types.DataType)node.GetInt("to", 0);
        var isFloat = to is TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Float16;
        var x = v[0]!;
        return isFloat ? x with { IsInteger = false }
            : to == TensorProto.Types.DataType.Bool ? new Value(x.Shape, Array.ConvertAll(x.Data, d => d != 0 ? 1.0 : 0.0), true)
            : new Value(x.Shape, Array.ConvertAll(x.Data, Math.Truncate), true);
    }

    private static Value Where(GraphNode node, PlanContext context, Value?[] v)
    {
        var shape = BinaryOperator.BroadcastShape(BinaryOperator.BroadcastShape(v[0]!.Shape, v[1]!.Shape) ?? [], v[2]!.Shape)
            ?? throw context.Error(node, "condition and values do not broadcast");
        var c = Broadcast(v[0]!, shape);
        var x = Broadcast(v[1]!, shape);
        var y = Broadcast(v[2]!, shape);
        return new Value(shape, [.. c.Select((ci, i) => ci != 0 ? x[i] : y[i])], v[1]!.IsInteger && v[2]!.IsInteger);
    }

    private static Value Range(GraphNode node, PlanContext context, Value?[] v)
    {
        var (start, limit, delta) = (v[0]!.Data[0], v[1]!.Data[0], v[2]!.Data[0]);
        var count = delta == 0 ? throw context.Error(node, "delta is zero") : (int)Math.Max(Math.Ceiling((limit - start) / delta), 0);
        return new Value([count], [.. Enumerable.Range(0, count).Select(i => start + (i * delta))], v[0]!.IsInteger);
    }

    private static Value Expand(GraphNode node, PlanContext context, Value?[] v)
    {
        var target = v[1]!.Data.Select(d => (int)d).ToArray();
        var shape = BinaryOperator.BroadcastShape(v[0]!.Shape, target) ?? throw context.Error(node, "the shape does not broadcast");
        return v[0]! with { Shape = shape, Data = Broadcast(v[0]!, shape) };
    }

    private static Value Tile(GraphNode node, PlanContext context, Value?[] v)
    {
        var (copyShape, strides, shape) = TileOperator.Layout(v[0]!.Shape, [.. v[1]!.Data.Select(d => (long)d)]);
        return Copy(v[0]!, 0, strides, copyShape, shape);
    }

    private static Value Slice(GraphNode node, PlanContext context, Value?[] v)
    {
        var x = v[0]!;
        var (begin, step, shape) = SliceOperator.Ranges(node, context, x.Shape);
        var strides = Strided.Strides(x.Shape);
        var offset = 0;
        for (var d = 0; d < strides.Length; d++)
        {
            offset += begin[d] * strides[d];
            strides[d] *= step[d];
        }

        return Copy(x, offset, strides, shape, shape);
    }

    private static Value Transpose(GraphNode node, PlanContext context, Value?[] v)
    {
        var x = v[0]!;
        var perm = TransposeOperator.Permutation(node, x.Shape.Length) ?? throw context.Error(node, "perm is not a permutation");
        var own = Strided.Strides(x.Shape);
        var shape = perm.Select(p => x.Shape[p]).ToArray();
        return Copy(x, 0, [.. perm.Select(p => own[p])], shape, shape);
    }

    private static Value Gather(GraphNode node, PlanContext context, Value?[] v)
    {
        var (x, indices) = (v[0]!, v[1]!);
        var axis = (int)node.GetInt("axis", 0);
        axis = axis < 0 ? axis + x.Shape.Length : axis;
        var n = x.Shape[axis];
        var outer = Strided.Product(x.Shape.AsSpan(0, axis));
        var inner = Strided.Product(x.Shape.AsSpan(axis + 1));
        int[] shape = [.. x.Shape.Take(axis), .. indices.Shape, .. x.Shape.Skip(axis + 1)];
        var result = new double[Tensor.CheckedLength(shape)];
        for (var o = 0; o < outer; o++)
        {
            for (var k = 0; k < indices.Data.Length; k++)
            {
                var i = (int)indices.Data[k];
                i = i < 0 ? i + n : i;
                if (i < 0 || i >= n)
                {
                    throw context.Error(node, $"index {indices.Data[k]} is out of range for axis {axis} of [{Tensor.FormatShape(x.Shape)}]");
                }

                x.Data.AsSpan(((o * n) + i) * inner, inner).CopyTo(result.AsSpan(((o * indices.Data.Length) + k) * inner, inner));
            }
        }

        return x with { Shape = shape, Data = result };
    }

    private static Value Concat(GraphNode node, PlanContext context, Value?[] v)
    {
        var parts = v.Where(p => p is not null).Select(p => p!).ToArray();
        var rank = parts[0].Shape.Length;
        var axis = (int)node.GetInt("axis", 0);
        axis = axis < 0 ? axis + rank : axis;
        var extents = parts.Select(p => p.Shape[axis]).ToArray();
        var shape = (int[])parts[0].Shape.Clone();
        shape[axis] = extents.Sum();
        var result = new double[Tensor.CheckedLength(shape)];
        for (var i = 0; i < parts.Length; i++)
        {
            Strided.CopyPart<double>(shape, axis, extents, i, parts[i].Data, result, toWhole: true);
        }

        return new Value(shape, result, parts.All(p => p.IsInteger));
    }

    private static Value ScatterNd(GraphNode node, PlanContext context, Value?[] v)
    {
        var (data, indices, updates) = (v[0]!, v[1]!, v[2]!);
        var depth = indices.Shape[^1];
        var inner = Strided.Product(data.Shape.AsSpan(depth));
        var strides = Strided.Strides(data.Shape);
        var result = (double[])data.Data.Clone();
        for (var u = 0; u < indices.Data.Length / Math.Max(depth, 1); u++)
        {
            var offset = 0;
            for (var d = 0; d < depth; d++)
            {
                var i = (int)indices.Data[(u * depth) + d];
                offset += (i < 0 ? i + data.Shape[d] : i) * strides[d];
            }

            updates.Data.AsSpan(u * inner, inner).CopyTo(result.AsSpan(offset, inner));
        }

        return data with { Data = result };
    }
}
