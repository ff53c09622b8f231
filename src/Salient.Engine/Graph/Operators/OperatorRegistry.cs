namespace Salient.Engine.Graph.Operators;

/// <summary>Maps ONNX operator types to their planners. A planner returns a step, or null when it folded the node to constants.</summary>
internal static class OperatorRegistry
{
    private static readonly Dictionary<string, Func<GraphNode, PlanContext, Step?>> Planners = new(StringComparer.Ordinal)
    {
        ["Conv"] = ConvOperator.Plan,
        ["BatchNormalization"] = BatchNormOperator.Plan,
        ["Relu"] = ActivationOperator.Plan,
        ["LeakyRelu"] = ActivationOperator.Plan,
        ["Clip"] = ActivationOperator.Plan,
        ["Sigmoid"] = ActivationOperator.Plan,
        ["HardSigmoid"] = ActivationOperator.Plan,
        ["HardSwish"] = ActivationOperator.Plan,
        ["MaxPool"] = PoolOperator.Plan,
        ["AveragePool"] = PoolOperator.Plan,
        ["GlobalAveragePool"] = PoolOperator.PlanGlobal,
        ["Add"] = BinaryOperator.Plan,
        ["Sub"] = BinaryOperator.Plan,
        ["Mul"] = BinaryOperator.Plan,
        ["Div"] = BinaryOperator.Plan,
        ["Concat"] = ConcatOperator.Plan,
        ["Gemm"] = GemmOperator.Plan,
        ["MatMul"] = GemmOperator.PlanMatMul,
        ["Softmax"] = SoftmaxOperator.Plan,
        ["Pad"] = PadOperator.Plan,
        ["Flatten"] = ShapeOperators.PlanFlatten,
        ["Reshape"] = ShapeOperators.PlanReshape,
        ["Squeeze"] = ShapeOperators.PlanSqueeze,
        ["Unsqueeze"] = ShapeOperators.PlanUnsqueeze,
        ["Identity"] = ShapeOperators.PlanIdentity,
        ["Dropout"] = ShapeOperators.PlanIdentity,
        ["Constant"] = ConstantFolding.PlanConstant,
        ["Shape"] = ConstantFolding.PlanShape,
        ["Gather"] = ConstantFolding.PlanGather,
        ["Cast"] = ConstantFolding.PlanCast,
        ["Slice"] = ConstantFolding.PlanSlice,
        ["Transpose"] = ConstantFolding.PlanTranspose,
        ["ConstantOfShape"] = ConstantFolding.PlanConstantOfShape,
    };

    /// <summary>The operator types Salient runs, for error messages and docs.</summary>
    public static IEnumerable<string> Supported => Planners.Keys.Order(StringComparer.Ordinal);

    public static bool IsSupported(string opType) => Planners.ContainsKey(opType);

    public static Step? Plan(GraphNode node, PlanContext context)
    {
        if (!Planners.TryGetValue(node.OpType, out var planner))
        {
            throw context.Error(node, $"operator '{node.OpType}' is not supported (supported: {string.Join(", ", Supported)})");
        }

        return planner(node, context);
    }
}
