using System.Numerics.Tensors;
using Salient.Engine.Devices;
using Salient.Engine.Graph.Backward;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// Softmax and LogSoftmax. From opset 13 they normalise one axis, any axis (one not last is moved
/// last for the computation and back); before that they flatten to 2-D at the axis (default 1) and
/// normalise each row, which for the last axis is the same thing.
/// </summary>
internal static class SoftmaxOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var axis = Strided.Axis(node, context, x.Length, context.Opset >= 13 ? -1 : 1);

        var outer = Strided.Product(x.AsSpan(0, axis));
        var (cols, inner) = context.Opset >= 13 ? (x[axis], Strided.Product(x.AsSpan(axis + 1))) : (Strided.Product(x.AsSpan(axis)), 1);
        context.SetShape(node.Outputs[0], x);
        return new SoftmaxStep(node, x, outer, cols, inner, node.OpType == "LogSoftmax");
    }

    private sealed class SoftmaxStep(GraphNode node, int[] shape, int outer, int cols, int inner, bool log) : Step(node, [node.Inputs[0]], [node.Outputs[0]])
    {
        private readonly int _rows = outer * inner;

        public override int InPlaceInput => 0;

        public override bool ReadsInputInBackward(int index) => false;

        // The [outer, inner, cols] order of the [outer, cols, inner] data: the normalised axis last.
        private int[] RowShape => [outer, inner, cols];

        private int[] RowStrides => [cols * inner, 1, inner];

        public override void Run(StepContext context)
        {
            var output = context.Output(0, shape);
            if (!log && inner == 1)
            {
                // The normalised axis is already last: the backend's softmax, on the device.
                context.Backend.Softmax(_rows, cols, context.Input(0).Data, output.Data);
                return;
            }

            var x = Rows(context.Input(0).Span);
            var rows = inner == 1 ? null : new float[x.Length];
            var y = rows is null ? output.Span : rows;
            if (log)
            {
                // The output may be the input's storage: the exponentials go to a scratch row.
                var scratch = new float[cols];
                for (var r = 0; r < _rows; r++)
                {
                    var xr = x.Slice(r * cols, cols);
                    var max = TensorPrimitives.Max(xr);
                    TensorPrimitives.Subtract(xr, max, scratch);
                    TensorPrimitives.Exp(scratch, scratch);
                    TensorPrimitives.Subtract(xr, MathF.Log(TensorPrimitives.Sum(scratch)) + max, y.Slice(r * cols, cols));
                }
            }
            else
            {
                // Another axis than the last: the reordering and this softmax run on the host (docs/architecture.md).
                context.Backend.Softmax(_rows, cols, BufferView.Host(x.ToArray()), BufferView.Host(rows!));
            }

            Unrows(y, output.Span);
        }

        public override void Backward(BackwardContext context)
        {
            if (!context.NeedsGradient(0) || context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            // Softmax: dx = y ⊙ (dy − Σ dy·y); LogSoftmax: dx = dy − softmax·Σ dy. Row by row.
            var input = Tensor.Uninitialized(shape);
            var y = Rows(context.Output(0).Span);
            var dy = Rows(gradient.Span);
            var dx = inner == 1 ? input.Span : new float[y.Length];
            for (var r = 0; r < _rows; r++)
            {
                var yr = y.Slice(r * cols, cols);
                var dyr = dy.Slice(r * cols, cols);
                var dxr = dx.Slice(r * cols, cols);
                if (log)
                {
                    TensorPrimitives.Exp(yr, dxr);
                    TensorPrimitives.Multiply(dxr, -TensorPrimitives.Sum(dyr), dxr);
                    TensorPrimitives.Add(dxr, dyr, dxr);
                }
                else
                {
                    TensorPrimitives.Subtract(dyr, TensorPrimitives.Dot(dyr, yr), dxr);
                    TensorPrimitives.Multiply(dxr, yr, dxr);
                }
            }

            Unrows(dx, input.Span);
            context.AddGradient(0, input);
        }

        /// <summary>The values with the normalised axis last: the data itself when it already is, else a copy.</summary>
        private ReadOnlySpan<float> Rows(ReadOnlySpan<float> data)
        {
            if (inner == 1)
            {
                return data;
            }

            var rows = new float[data.Length];
            Strided.Gather(data, 0, RowStrides, RowShape, rows);
            return rows;
        }

        /// <summary>Puts rows computed by <see cref="Rows"/> back in the tensor's layout (nothing to do when they are the tensor).</summary>
        private void Unrows(Span<float> rows, Span<float> data)
        {
            if (inner != 1)
            {
                Strided.Gather<float>(rows, 0, [cols * inner, 1, cols], [outer, cols, inner], data);
            }
        }
    }
}
