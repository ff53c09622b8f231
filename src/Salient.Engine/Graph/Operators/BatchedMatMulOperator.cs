using Salient.Engine.Graph.Backward;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// MatMul of stacks of matrices, [..., M, K]·[..., K, N] with numpy broadcasting of the leading
/// axes (attention's Q·Kᵀ and weights·V): one GEMM per matrix of the output. A 2-D right operand
/// (a Linear layer) is <see cref="GemmOperator.PlanMatMul"/>'s single GEMM.
/// </summary>
internal static class BatchedMatMulOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var a = context.Shape(node, 0);
        var b = context.Shape(node, 1);
        if (a.Length < 2 || b.Length < 2 || a[^1] != b[^2]
            || BinaryOperator.BroadcastShape(a[..^2], b[..^2]) is not { } batch)
        {
            throw context.Error(node, $"operands [{Tensor.FormatShape(a)}] and [{Tensor.FormatShape(b)}] are not [...,M,K]·[...,K,N]");
        }

        int[] shape = [.. batch, a[^2], b[^1]];
        context.SetShape(node.Outputs[0], shape);
        return new BatchedMatMulStep(node, a, b, batch, shape);
    }

    private sealed class BatchedMatMulStep(GraphNode node, int[] aShape, int[] bShape, int[] batch, int[] shape)
        : Step(node, [node.Inputs[0], node.Inputs[1]], [node.Outputs[0]])
    {
        private readonly int _m = aShape[^2];
        private readonly int _k = aShape[^1];
        private readonly int _n = bShape[^1];
        private readonly int[] _aIndex = MatrixIndices(aShape[..^2], batch);
        private readonly int[] _bIndex = MatrixIndices(bShape[..^2], batch);

        public override bool ReadsOutputInBackward => false;

        // Linear in each operand alone: the product rule.
        public override void Tangent(TangentContext context) => context.ProductRule();

        // Bilinear: each operand's gradient tangent gains g run back with the other replaced by its tangent.
        public override void GradientTangent(SecondOrderContext context) => context.Bilinear(0, 1);

        /// <summary>For each output matrix, the index of the operand matrix it reads (broadcast axes repeat it).</summary>
        private static int[] MatrixIndices(int[] own, int[] batch)
        {
            var count = Tensor.CheckedLength(batch);
            var indices = new int[count];
            var ownStrides = ExpandOperator.BroadcastStrides(own, batch);
            var ordinal = Enumerable.Range(0, Tensor.CheckedLength(own)).ToArray();
            Strided.Gather<int>(ordinal, 0, ownStrides, batch, indices);
            return indices;
        }

        public override void Run(StepContext context)
        {
            var a = context.Input(0).Data;
            var b = context.Input(1).Data;
            var y = context.Output(0, shape).Data;
            for (var i = 0; i < _aIndex.Length; i++)
            {
                context.Backend.Gemm(false, false, _m, _n, _k, 1f, a.Slice(_aIndex[i] * _m * _k, _m * _k), _k,
                    b.Slice(_bIndex[i] * _k * _n, _k * _n), _n, 0f, y.Slice(i * _m * _n, _m * _n), _n);
            }
        }

        public override void Backward(BackwardContext context)
        {
            if (context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            var dy = gradient.Data;
            if (context.NeedsGradient(0))
            {
                // dA = dY·Bᵀ, summed over the matrices A was broadcast to.
                var da = Tensor.Zeros(context.Backend, aShape);
                var b = context.Input(1).Data;
                for (var i = 0; i < _aIndex.Length; i++)
                {
                    context.Backend.Gemm(false, true, _m, _k, _n, 1f, dy.Slice(i * _m * _n, _m * _n), _n,
                        b.Slice(_bIndex[i] * _k * _n, _k * _n), _n, 1f, da.Data.Slice(_aIndex[i] * _m * _k, _m * _k), _k);
                }

                context.AddGradient(0, da);
            }

            if (context.NeedsGradient(1))
            {
                // dB = Aᵀ·dY.
                var db = Tensor.Zeros(context.Backend, bShape);
                var a = context.Input(0).Data;
                for (var i = 0; i < _bIndex.Length; i++)
                {
                    context.Backend.Gemm(true, false, _k, _n, _m, 1f, a.Slice(_aIndex[i] * _m * _k, _m * _k), _k,
                        dy.Slice(i * _m * _n, _m * _n), _n, 1f, db.Data.Slice(_bIndex[i] * _k * _n, _k * _n), _n);
                }

                context.AddGradient(1, db);
            }
        }
    }
}
