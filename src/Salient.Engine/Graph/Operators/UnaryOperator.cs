using Salient.Engine.Devices;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>Element-wise functions without parameters: Erf, Sqrt, Reciprocal, Neg, Exp, Log, Tanh, Abs (<see cref="IKernelBackend.Unary"/>).</summary>
internal static class UnaryOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var function = Enum.Parse<UnaryFunction>(node.OpType);
        var shape = context.Shape(node, 0);
        context.SetShape(node.Outputs[0], shape);
        return new UnaryStep(node, function, shape);
    }

    private sealed class UnaryStep(GraphNode node, UnaryFunction function, int[] shape) : Step(node, [node.Inputs[0]], [node.Outputs[0]])
    {
        public override int InPlaceInput => 0;

        // Element-wise, so its Jacobian is diagonal: the backward pass's product is the tangent's.
        public override void Tangent(TangentContext context) => context.ThroughSymmetricJacobian();

        /// <summary>
        /// Neg is linear and Abs piecewise linear: no curvature term. Tanh's is tanh''(x)·ẋ·g with
        /// tanh'' = tanh'·(−2y); the others' come from <see cref="SecondDerivative"/>.
        /// </summary>
        public override void GradientTangent(SecondOrderContext context)
        {
            context.ThroughBackward();
            switch (function)
            {
                case UnaryFunction.Neg or UnaryFunction.Abs:
                    break;
                case UnaryFunction.Tanh:
                    context.ElementWiseCurvature((gradient, result) => context.Backend.UnaryBackward(function, default, context.Output(0).Data, gradient, result), -2f, 0f);
                    break;
                default:
                    context.ElementWiseCurvature(d => SecondDerivative(context.Backend, function, context.Input(0).Data, context.Output(0).Data, d, shape));
                    break;
            }
        }

        public override bool ReadsTangentsInSecondOrder => function is not (UnaryFunction.Neg or UnaryFunction.Abs);

        public override bool ReadsInputInBackward(int index) => function is UnaryFunction.Erf or UnaryFunction.Log or UnaryFunction.Abs;

        public override bool ReadsOutputInBackward => function is UnaryFunction.Sqrt or UnaryFunction.Reciprocal or UnaryFunction.Exp or UnaryFunction.Tanh;

        public override void Run(StepContext context) => context.Backend.Unary(function, context.Input(0).Data, context.Output(0, shape).Data);

        public override void Backward(BackwardContext context)
        {
            if (!context.NeedsGradient(0) || context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            var input = ReadsInputInBackward(0) ? context.Input(0).Data : default;
            var output = ReadsOutputInBackward ? context.Output(0).Data : default;
            var dx = Tensor.Uninitialized(context.Backend, shape);
            context.Backend.UnaryBackward(function, input, output, gradient.Data, dx.Data);
            context.AddGradient(0, dx);
        }
    }

    /// <summary>
    /// Writes f''(x) of <paramref name="function"/> into <paramref name="result"/> (of <paramref name="shape"/>),
    /// from the values its backward pass reads (<paramref name="input"/> x or <paramref name="output"/> y):
    /// Exp y, Log −1/x², Sqrt −1/(4y³), Reciprocal 2y³, Erf −(4/√π)·x·e^(−x²), GELU φ(x)·(2 − x²) with
    /// φ(x) = e^(−x²/2)/√(2π).
    /// </summary>
    public static void SecondDerivative(IKernelBackend backend, UnaryFunction function, BufferView input, BufferView output, Tensor result, int[] shape)
    {
        var d = result.Data;
        switch (function)
        {
            case UnaryFunction.Exp:
                backend.Copy(output, d);
                break;
            case UnaryFunction.Log:
                backend.Unary(UnaryFunction.Reciprocal, input, d);
                backend.Map(new MapFunction(MapFunctionKind.Square), d, d);
                backend.Map(new MapFunction(MapFunctionKind.Scale, -1f), d, d);
                break;
            case UnaryFunction.Sqrt:
                backend.Unary(UnaryFunction.Reciprocal, output, d);
                Cube(backend, d, shape);
                backend.Map(new MapFunction(MapFunctionKind.Scale, -0.25f), d, d);
                break;
            case UnaryFunction.Reciprocal:
                backend.Copy(output, d);
                Cube(backend, d, shape);
                backend.Map(new MapFunction(MapFunctionKind.Scale, 2f), d, d);
                break;
            case UnaryFunction.Erf:
                // e^(−x²)·x, then the constant.
                backend.Map(new MapFunction(MapFunctionKind.Square), input, d);
                backend.Map(new MapFunction(MapFunctionKind.Scale, -1f), d, d);
                backend.Unary(UnaryFunction.Exp, d, d);
                backend.Binary(BinaryOp.Mul, d, shape, input, shape, d, shape);
                backend.Map(new MapFunction(MapFunctionKind.Scale, -4f / MathF.Sqrt(MathF.PI)), d, d);
                break;
            case UnaryFunction.Gelu:
                // 2φ − x²·φ.
                using (var square = Tensor.Uninitialized(backend, shape))
                {
                    backend.Map(new MapFunction(MapFunctionKind.Square), input, square.Data);
                    backend.Map(new MapFunction(MapFunctionKind.Scale, -0.5f), square.Data, d);
                    backend.Unary(UnaryFunction.Exp, d, d);
                    backend.Map(new MapFunction(MapFunctionKind.Scale, 1f / MathF.Sqrt(2f * MathF.PI)), d, d);
                    backend.Binary(BinaryOp.Mul, square.Data, shape, d, shape, square.Data, shape);
                    backend.Map(new MapFunction(MapFunctionKind.Scale, 2f), d, d);
                    backend.Binary(BinaryOp.Sub, d, shape, square.Data, shape, d, shape);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(function), function, "its second derivative is written as the curvature of a linear or piecewise-linear step");
        }
    }

    // t ← t³, in place.
    private static void Cube(IKernelBackend backend, BufferView t, int[] shape)
    {
        using var square = Tensor.Uninitialized(backend, shape);
        backend.Map(new MapFunction(MapFunctionKind.Square), t, square.Data);
        backend.Binary(BinaryOp.Mul, t, shape, square.Data, shape, t, shape);
    }
}
