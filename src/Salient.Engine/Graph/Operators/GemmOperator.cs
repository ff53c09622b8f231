using Salient.Engine.Devices;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>Gemm (Y = alpha·op(A)·op(B) + beta·C) and MatMul with a 2-D right operand (others: <see cref="BatchedMatMulOperator"/>).</summary>
internal static class GemmOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var a = context.Shape(node, 0);
        var b = context.Shape(node, 1);
        var transA = node.GetInt("transA", 0) != 0;
        var transB = node.GetInt("transB", 0) != 0;
        if (a.Length != 2 || b.Length != 2)
        {
            throw context.Error(node, $"operands [{Tensor.FormatShape(a)}] and [{Tensor.FormatShape(b)}] must both be 2-D");
        }

        var (m, k) = transA ? (a[1], a[0]) : (a[0], a[1]);
        var (kb, n) = transB ? (b[1], b[0]) : (b[0], b[1]);
        if (k != kb)
        {
            throw context.Error(node, $"inner dimensions differ: [{Tensor.FormatShape(a)}]{(transA ? "ᵀ" : string.Empty)} · [{Tensor.FormatShape(b)}]{(transB ? "ᵀ" : string.Empty)}");
        }

        int[]? cShape = null;
        if (node.HasInput(2))
        {
            cShape = context.Shape(node, 2);
            if (BinaryOperator.BroadcastShape(cShape, [m, n]) is not { } s || s[0] != m || s[1] != n)
            {
                throw context.Error(node, $"C of shape [{Tensor.FormatShape(cShape)}] does not broadcast to [{m},{n}]");
            }
        }

        context.SetShape(node.Outputs[0], [m, n]);
        var inputs = node.Inputs.Where(i => i.Length > 0).ToArray();
        return new GemmStep(node, inputs, transA, transB, m, n, k, node.GetFloat("alpha", 1f), node.GetFloat("beta", 1f), cShape);
    }

    public static Step PlanMatMul(GraphNode node, PlanContext context)
    {
        var a = context.Shape(node, 0);
        var b = context.Shape(node, 1);
        if (b.Length != 2)
        {
            return BatchedMatMulOperator.Plan(node, context);
        }

        if (a.Length < 2 || b.Length != 2 || a[^1] != b[0])
        {
            throw context.Error(node, $"operands [{Tensor.FormatShape(a)}] and [{Tensor.FormatShape(b)}] are not [...,M,K]·[K,N]");
        }

        var shape = a[..^1].Append(b[1]).ToArray();
        context.SetShape(node.Outputs[0], shape);
        var m = a[..^1].Aggregate(1, (x, y) => x * y);
        return new GemmStep(node, [node.Inputs[0], node.Inputs[1]], false, false, m, b[1], b[0], 1f, 0f, null, shape);
    }

    internal sealed class GemmStep(GraphNode node, string[] inputs, bool transA, bool transB, int m, int n, int k, float alpha, float beta, int[]? cShape, int[]? outShape = null)
        : Step(node, inputs, [node.Outputs[0]])
    {
        // beta as the same host buffer every run, so a device backend uploads it once (IKernelBackend).
        private readonly BufferView _beta = BufferView.Host(new[] { beta });

        public override StepKind Kind => StepKind.Linear;

        public override bool WeightsTransposed => transB;

        // alpha·op(A)·op(B) is linear in A and in B alone (the product rule), beta·C in C.
        public override void Tangent(TangentContext context)
        {
            if (cShape is null)
            {
                context.ProductRule();
            }
            else
            {
                context.ProductRule(additive: 2);
            }
        }

        // Bilinear in A and B (C enters additively): each one's gradient tangent gains g run back with the other replaced by its tangent.
        public override void GradientTangent(SecondOrderContext context) => context.Bilinear(0, 1);

        public override void Backward(BackwardContext context)
        {
            if (context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            var dy = gradient.Data;
            var (lda, ldb) = (transA ? m : k, transB ? k : n);
            if (context.NeedsGradient(0))
            {
                // dA = alpha·dY·op(B)ᵀ, or its transpose when A is stored transposed.
                var a = Tensor.Uninitialized(context.Backend, context.Input(0).Shape);
                if (transA)
                {
                    context.Backend.Gemm(transB, true, k, m, n, alpha, context.Input(1).Data, ldb, dy, n, 0f, a.Data, m);
                }
                else
                {
                    context.Backend.Gemm(false, !transB, m, k, n, alpha, dy, n, context.Input(1).Data, ldb, 0f, a.Data, k);
                }

                context.AddGradient(0, a);
            }

            if (context.NeedsGradient(1))
            {
                var b = Tensor.Uninitialized(context.Backend, context.Input(1).Shape);
                if (transB)
                {
                    context.Backend.Gemm(true, transA, n, k, m, alpha, dy, n, context.Input(0).Data, lda, 0f, b.Data, k);
                }
                else
                {
                    context.Backend.Gemm(!transA, false, k, n, m, alpha, context.Input(0).Data, lda, dy, n, 0f, b.Data, n);
                }

                context.AddGradient(1, b);
            }

            if (cShape is not null && context.NeedsGradient(2))
            {
                var c = Tensor.Uninitialized(context.Backend, cShape);
                context.Backend.ReduceToShape(dy, [m, n], c.Data, cShape);
                context.Backend.Map(new MapFunction(MapFunctionKind.Scale, beta), c.Data, c.Data);
                context.AddGradient(2, c);
            }
        }

        public override void Run(StepContext context)
        {
            var output = context.Output(0, outShape ?? [m, n]);
            var y = output.Data;
            var accumulate = 0f;
            if (cShape is not null && beta != 0f)
            {
                // Y starts as beta·C broadcast to [m, n]; the GEMM then accumulates onto it.
                context.Backend.Binary(BinaryOp.Mul, context.Input(2).Data, cShape, _beta, [1], y, [m, n]);
                accumulate = 1f;
            }

            context.Backend.Gemm(transA, transB, m, n, k, alpha, context.Input(0).Data, transA ? m : k,
                context.Input(1).Data, transB ? k : n, accumulate, y, n);
        }
    }
}
