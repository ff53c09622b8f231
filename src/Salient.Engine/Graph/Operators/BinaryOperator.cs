using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>Add, Sub, Mul and Div with numpy broadcasting; integer shape arithmetic is folded at plan time.</summary>
internal static class BinaryOperator
{
    public static Step? Plan(GraphNode node, PlanContext context)
    {
        var op = node.OpType switch
        {
            "Add" => BinaryOp.Add,
            "Sub" => BinaryOp.Sub,
            "Mul" => BinaryOp.Mul,
            _ => BinaryOp.Div,
        };
        var a = context.Shape(node, 0);
        var b = context.Shape(node, 1);
        var shape = BroadcastShape(a, b) ?? throw context.Error(node, $"shapes [{Tensor.FormatShape(a)}] and [{Tensor.FormatShape(b)}] do not broadcast");

        if (context.IsConstant(node.Inputs[0]) && context.IsConstant(node.Inputs[1])
            && (context.Constant(node, 0).IsInteger || context.Constant(node, 1).IsInteger))
        {
            context.SetConstant(node.Outputs[0], FoldIntegers(op, context.Constant(node, 0), context.Constant(node, 1), shape));
            return null;
        }

        context.SetShape(node.Outputs[0], shape);
        return new BinaryStep(node, op, a, b, shape);
    }

    /// <summary>The numpy broadcast of two shapes, or null when they do not broadcast.</summary>
    public static int[]? BroadcastShape(int[] a, int[] b)
    {
        var rank = Math.Max(a.Length, b.Length);
        var shape = new int[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            var db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
            {
                return null;
            }

            shape[i] = da == 1 ? db : da;
        }

        return shape;
    }

    private static ConstantValue FoldIntegers(BinaryOp op, ConstantValue a, ConstantValue b, int[] shape)
    {
        var x = a.AsInts();
        var y = b.AsInts();
        var length = Tensor.CheckedLength(shape);
        if ((x.Length != 1 && x.Length != length) || (y.Length != 1 && y.Length != length))
        {
            throw new ModelException("Integer shape arithmetic with partial broadcasting is not supported.");
        }

        var result = new long[length];
        for (var i = 0; i < length; i++)
        {
            var l = x[x.Length == 1 ? 0 : i];
            var r = y[y.Length == 1 ? 0 : i];
            result[i] = op switch
            {
                BinaryOp.Add => l + r,
                BinaryOp.Sub => l - r,
                BinaryOp.Mul => l * r,
                _ => r == 0 ? throw new ModelException("Integer division by zero in a shape computation.") : l / r,
            };
        }

        return ConstantValue.FromInts(result, shape);
    }

    private sealed class BinaryStep(GraphNode node, BinaryOp op, int[] aShape, int[] bShape, int[] shape)
        : Step(node, [node.Inputs[0], node.Inputs[1]], [node.Outputs[0]])
    {
        // The left input's buffer can take the result when it already has the result's shape.
        public override int InPlaceInput => aShape.AsSpan().SequenceEqual(shape) ? 0 : -1;

        public override void Run(StepContext context)
        {
            var a = context.Input(0);
            var b = context.Input(1);
            var output = context.Output(0, shape);
            context.Backend.Binary(op, a.Span, aShape, b.Span, bShape, output.Span, shape);
        }
    }
}
