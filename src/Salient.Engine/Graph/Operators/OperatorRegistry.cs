using System.Collections.Concurrent;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// Plans one ONNX node for known input shapes: returns its <see cref="Step"/>, after setting the
/// shapes of its outputs (<see cref="PlanContext.SetShape"/>), or null when it folded the node to
/// constants. Throw <see cref="PlanContext.Error"/> for a node it cannot run.
/// </summary>
public delegate Step? OperatorPlanner(GraphNode node, PlanContext context);

/// <summary>
/// Maps ONNX operator types to their planners: the extension point for operators. Salient's own
/// are registered here; another assembly adds one with <see cref="Register"/> (one planner and the
/// <see cref="Step"/> it returns) before loading the models that use it.
/// </summary>
public static class OperatorRegistry
{
    private static readonly ConcurrentDictionary<string, OperatorPlanner> Planners = new(StringComparer.Ordinal)
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
        ["Div"] = (n, c) => GeluOperator.TryPlan(n, c) ?? BinaryOperator.Plan(n, c),
        ["Pow"] = PowOperator.Plan,
        ["Erf"] = UnaryOperator.Plan,
        ["Sqrt"] = UnaryOperator.Plan,
        ["Reciprocal"] = UnaryOperator.Plan,
        ["Neg"] = UnaryOperator.Plan,
        ["Exp"] = UnaryOperator.Plan,
        ["Log"] = UnaryOperator.Plan,
        ["Tanh"] = UnaryOperator.Plan,
        ["Abs"] = UnaryOperator.Plan,
        ["Equal"] = CompareOperator.Plan,
        ["Less"] = CompareOperator.Plan,
        ["Greater"] = CompareOperator.Plan,
        ["Where"] = WhereOperator.Plan,
        ["ReduceMean"] = (n, c) => LayerNormOperator.TryPlanDecomposed(n, c) ?? ReduceOperator.Plan(n, c),
        ["ReduceSum"] = ReduceOperator.Plan,
        ["ReduceMax"] = ReduceOperator.Plan,
        ["ReduceMin"] = ReduceOperator.Plan,
        ["GlobalMaxPool"] = ReduceOperator.PlanGlobalMaxPool,
        ["LayerNormalization"] = LayerNormOperator.Plan,
        ["InstanceNormalization"] = InstanceNormOperator.Plan,
        ["Resize"] = ResizeOperator.Plan,
        ["Upsample"] = ResizeOperator.Plan,
        ["Einsum"] = EinsumOperator.Plan,
        ["Expand"] = ExpandOperator.Plan,
        ["Tile"] = TileOperator.Plan,
        ["Split"] = SplitOperator.Plan,
        ["Concat"] = ConcatOperator.Plan,
        ["Gemm"] = GemmOperator.Plan,
        ["MatMul"] = GemmOperator.PlanMatMul,
        ["Softmax"] = SoftmaxOperator.Plan,
        ["LogSoftmax"] = SoftmaxOperator.Plan,
        ["Pad"] = PadOperator.Plan,
        ["Flatten"] = ShapeOperators.PlanFlatten,
        ["Reshape"] = ShapeOperators.PlanReshape,
        ["Squeeze"] = ShapeOperators.PlanSqueeze,
        ["Unsqueeze"] = ShapeOperators.PlanUnsqueeze,
        ["Identity"] = ShapeOperators.PlanIdentity,
        ["Dropout"] = ShapeOperators.PlanIdentity,
        ["Constant"] = ConstantFolding.PlanConstant,
        ["Shape"] = ConstantFolding.PlanShape,
        ["Gather"] = GatherOperator.Plan,
        ["Cast"] = ConstantFolding.PlanCast,
        ["Slice"] = SliceOperator.Plan,
        ["Transpose"] = TransposeOperator.Plan,
        ["ConstantOfShape"] = ConstantFolding.PlanConstantOfShape,
    };

    /// <summary>The operator types Salient runs, for error messages and docs.</summary>
    public static IEnumerable<string> Supported => Planners.Keys.Union(ConstantEvaluator.OpTypes).Order(StringComparer.Ordinal);

    /// <summary>Whether a node of <paramref name="opType"/> can be planned.</summary>
    public static bool IsSupported(string opType) => Planners.ContainsKey(opType) || ConstantEvaluator.Folds(opType);

    /// <summary>
    /// Adds the planner of operator <paramref name="opType"/>. Throws when the type already has one:
    /// replacing a built-in operator would change every model that uses it.
    /// </summary>
    public static void Register(string opType, OperatorPlanner planner)
    {
        ArgumentException.ThrowIfNullOrEmpty(opType);
        ArgumentNullException.ThrowIfNull(planner);
        if (ConstantEvaluator.Folds(opType) || !Planners.TryAdd(opType, planner))
        {
            throw new ArgumentException($"Operator '{opType}' is registered already.", nameof(opType));
        }
    }

    internal static Step? Plan(GraphNode node, PlanContext context)
    {
        if (ConstantEvaluator.TryFold(node, context))
        {
            return null;
        }

        if (!Planners.TryGetValue(node.OpType, out var planner))
        {
            if (ConstantEvaluator.Folds(node.OpType))
            {
                throw context.Error(node, $"operator '{node.OpType}' is supported only on constants (shape computations), not on image data");
            }

            throw context.Error(node, $"operator '{node.OpType}' is not supported (supported: {string.Join(", ", Supported)})");
        }

        return planner(node, context);
    }
}
