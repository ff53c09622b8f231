using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

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

        // Softmax's Jacobian, diag(y) − y·yᵀ per row, is symmetric: the backward pass's product is the tangent's.
        // LogSoftmax's, I − 1·pᵀ with p = e^y, is not: its tangent is ẋ − ⟨p, ẋ⟩ per row.
        public override void Tangent(TangentContext context)
        {
            if (!log)
            {
                context.ThroughSymmetricJacobian();
                return;
            }

            var backend = context.Backend;
            using var p = Probabilities(backend, context.Output(0));
            using var t = Rows(backend, context.InputTangent(0)!);
            using var pt = RowSums(backend, p, t);
            using var moved = Tensor.Uninitialized(backend, RowShape);
            backend.Binary(BinaryOp.Sub, t.Data, Matrix, pt.Data, Column, moved.Data, Matrix);
            context.SetOutputTangent(0, Unrowed(backend, moved));
        }

        /// <summary>
        /// Softmax's backward pass is g_x = y ⊙ (g − ⟨g, y⟩) per row; its tangent adds the curvature
        /// term ẏ ⊙ (g − ⟨g, y⟩) − y·⟨g, ẏ⟩, with ẏ the output's forward tangent. LogSoftmax's is
        /// g_x = g − p·Σg with p = e^y, whose tangent adds −(p ⊙ ẏ)·Σg (ṗ = p ⊙ ẏ).
        /// </summary>
        public override void GradientTangent(SecondOrderContext context)
        {
            context.ThroughBackward();
            if (!context.NeedsGradient(0) || context.OutputGradient(0) is not { } gradient || context.OutputTangent(0) is not { } tangent)
            {
                return;
            }

            var backend = context.Backend;
            var (matrix, column) = (Matrix, Column);
            using var g = Rows(backend, gradient);
            using var t = Rows(backend, tangent);
            using var term = Tensor.Uninitialized(backend, RowShape);
            if (log)
            {
                using var p = Probabilities(backend, context.Output(0));
                using var sum = Tensor.Uninitialized(backend, column);
                backend.ReduceRows(RowReduction.Sum, _rows, cols, g.Data, sum.Data);
                backend.Binary(BinaryOp.Mul, p.Data, matrix, t.Data, matrix, term.Data, matrix);
                backend.Binary(BinaryOp.Mul, term.Data, matrix, sum.Data, column, term.Data, matrix);
                backend.Map(new MapFunction(MapFunctionKind.Scale, -1f), term.Data, term.Data);
                context.AddGradientTangent(0, Unrowed(backend, term));
                return;
            }

            using var y = Rows(backend, context.Output(0));
            using var gy = RowSums(backend, g, y);
            using var gt = RowSums(backend, g, t);
            using var product = Tensor.Uninitialized(backend, matrix);
            backend.Binary(BinaryOp.Sub, g.Data, matrix, gy.Data, column, product.Data, matrix);
            backend.Binary(BinaryOp.Mul, product.Data, matrix, t.Data, matrix, term.Data, matrix);
            backend.Binary(BinaryOp.Mul, y.Data, matrix, gt.Data, column, product.Data, matrix);
            backend.Map(new MapFunction(MapFunctionKind.Scale, -1f), product.Data, product.Data);
            backend.Accumulate(MapFusion.Sum, product.Data, term.Data);
            context.AddGradientTangent(0, Unrowed(backend, term));
        }

        private int[] Matrix => [_rows, cols];

        private int[] Column => [_rows, 1];

        // ⟨u, v⟩ per row, as a column.
        private Tensor RowSums(IKernelBackend backend, Tensor u, Tensor v)
        {
            using var product = Tensor.Uninitialized(backend, Matrix);
            backend.Binary(BinaryOp.Mul, u.Data, Matrix, v.Data, Matrix, product.Data, Matrix);
            var sums = Tensor.Uninitialized(backend, Column);
            backend.ReduceRows(RowReduction.Sum, _rows, cols, product.Data, sums.Data);
            return sums;
        }

        // A LogSoftmax's probabilities, e^y, in rows.
        private Tensor Probabilities(IKernelBackend backend, Tensor output)
        {
            var p = Tensor.Uninitialized(backend, RowShape);
            using var y = Rows(backend, output);
            backend.Unary(UnaryFunction.Exp, y.Data, p.Data);
            return p;
        }

        // Rows (RowShape) back in the tensor's layout, as a new tensor.
        private Tensor Unrowed(IKernelBackend backend, Tensor rows)
        {
            var result = Tensor.Uninitialized(backend, shape);
            if (inner == 1)
            {
                backend.Copy(rows.Data, result.Data);
            }
            else
            {
                Unrows(backend, rows, result);
            }

            return result;
        }

        // The [outer, inner, cols] order of the [outer, cols, inner] data: the normalised axis last.
        private int[] RowShape => [outer, inner, cols];

        private int[] RowStrides => [cols * inner, 1, inner];

        public override void Run(StepContext context)
        {
            var backend = context.Backend;
            using var x = Rows(backend, context.Input(0));
            var output = context.Output(0, shape);
            using var y = inner == 1 ? output.Reshape(RowShape) : Tensor.Uninitialized(backend, RowShape);
            if (log)
            {
                backend.LogSoftmax(_rows, cols, x.Data, y.Data);
            }
            else
            {
                backend.Softmax(_rows, cols, x.Data, y.Data);
            }

            Unrows(backend, y, output);
        }

        public override void Backward(BackwardContext context)
        {
            if (!context.NeedsGradient(0) || context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            // Softmax: dx = y ⊙ (dy − Σ dy·y); LogSoftmax: dx = dy − softmax·Σ dy. Row by row.
            var backend = context.Backend;
            var input = Tensor.Uninitialized(backend, shape);
            using var y = Rows(backend, context.Output(0));
            using var dy = Rows(backend, gradient);
            using var dx = inner == 1 ? input.Reshape(RowShape) : Tensor.Uninitialized(backend, RowShape);
            backend.SoftmaxBackward(log, _rows, cols, y.Data, dy.Data, dx.Data);
            Unrows(backend, dx, input);
            context.AddGradient(0, input);
        }

        /// <summary>The values with the normalised axis last: a view of the data when it already is, else a copy.</summary>
        private Tensor Rows(IKernelBackend backend, Tensor data)
        {
            if (inner == 1)
            {
                return data.Reshape(RowShape);
            }

            var rows = Tensor.Uninitialized(backend, RowShape);
            backend.StridedCopy(RowShape, data.Data, 0, RowStrides, rows.Data, 0, Strided.Strides(RowShape), accumulate: false);
            return rows;
        }

        /// <summary>Puts rows computed by <see cref="Rows"/> back in the tensor's layout (nothing to do when they are the tensor).</summary>
        private void Unrows(IKernelBackend backend, Tensor rows, Tensor data)
        {
            if (inner != 1)
            {
                backend.StridedCopy(RowShape, rows.Data, 0, Strided.Strides(RowShape), data.Data, 0, RowStrides, accumulate: false);
            }
        }
    }
}
