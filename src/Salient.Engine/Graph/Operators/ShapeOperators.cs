using Salient.Engine.Graph.Backward;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// Operators that only relabel the shape: Flatten, Reshape, Squeeze, Unsqueeze, Identity and
/// inference-mode Dropout. On float data they are views; on integer constants they fold.
/// </summary>
internal static class ShapeOperators
{
    public static Step? PlanFlatten(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var axis = (int)node.GetInt("axis", 1);
        axis = axis < 0 ? axis + x.Length : axis;
        if (axis < 0 || axis > x.Length)
        {
            throw context.Error(node, $"axis {node.GetInt("axis", 1)} is out of range for rank {x.Length}");
        }

        return View(node, context, [x.Take(axis).Aggregate(1, (a, b) => a * b), x.Skip(axis).Aggregate(1, (a, b) => a * b)]);
    }

    public static Step? PlanReshape(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var target = context.Constant(node, 1).AsInts();
        var allowZero = node.GetInt("allowzero", 0) != 0;
        var shape = new int[target.Length];
        var inferred = -1;
        for (var i = 0; i < target.Length; i++)
        {
            switch (target[i])
            {
                case 0 when !allowZero:
                    shape[i] = i < x.Length ? x[i] : throw context.Error(node, $"shape entry {i} copies a dimension the input lacks");
                    break;
                case -1 when inferred < 0:
                    inferred = i;
                    shape[i] = 1;
                    break;
                case >= 0 and <= int.MaxValue:
                    shape[i] = (int)target[i];
                    break;
                default:
                    throw context.Error(node, $"shape [{string.Join(',', target)}] is invalid");
            }
        }

        var length = Tensor.CheckedLength(x);
        var known = shape.Aggregate(1, (a, b) => a * b);
        if (inferred >= 0)
        {
            shape[inferred] = known == 0 ? 0 : length / known;
        }

        if (shape.Aggregate(1, (a, b) => a * b) != length)
        {
            throw context.Error(node, $"cannot reshape [{Tensor.FormatShape(x)}] to [{string.Join(',', target)}]");
        }

        return View(node, context, shape);
    }

    public static Step? PlanSqueeze(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var axes = Axes(node, context, x.Length) ?? [.. Enumerable.Range(0, x.Length).Where(i => x[i] == 1)];
        if (axes.Any(a => x[a] != 1))
        {
            throw context.Error(node, $"cannot squeeze axes [{string.Join(',', axes)}] of [{Tensor.FormatShape(x)}]");
        }

        return View(node, context, [.. x.Where((_, i) => !axes.Contains(i))]);
    }

    public static Step? PlanUnsqueeze(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var rank = x.Length + (context.Opset >= 13 ? context.Constant(node, 1).AsInts().Length : node.GetInts("axes")?.Length ?? 0);
        var axes = Axes(node, context, rank) ?? throw context.Error(node, "axes are required");
        var shape = new int[rank];
        for (int i = 0, source = 0; i < rank; i++)
        {
            shape[i] = axes.Contains(i) ? 1 : x[source++];
        }

        return View(node, context, shape);
    }

    public static Step? PlanIdentity(GraphNode node, PlanContext context)
    {
        if (node.OpType == "Dropout" && node.Outputs.Length > 1 && node.Outputs[1].Length > 0
            && (context.Readers(node.Outputs[1]).Count > 0 || context.Graph.OutputNames.Contains(node.Outputs[1])))
        {
            throw context.Error(node, "the mask output of Dropout is not supported");
        }

        // An unread mask (exports of F.dropout keep it) is all ones in inference: its shape is all the plan needs.
        foreach (var mask in node.Outputs.Skip(1).Where(o => o.Length > 0))
        {
            context.SetShape(mask, context.Shape(node, 0));
        }

        return View(node, context, context.Shape(node, 0));
    }

    /// <summary>Axes from the attribute (older opsets) or the constant input (opset 13 on), made non-negative.</summary>
    private static int[]? Axes(GraphNode node, PlanContext context, int rank)
    {
        var axes = context.Opset >= 13 && node.OpType is "Squeeze" or "Unsqueeze"
            ? node.HasInput(1) ? context.Constant(node, 1).AsInts() : null
            : node.GetInts("axes");
        return axes?.Select(a => (int)(a < 0 ? a + rank : a)).ToArray();
    }

    private static ViewStep? View(GraphNode node, PlanContext context, int[] shape)
    {
        // A relabelled constant (exporters emit Identity for shared weights) is a constant too.
        if (context.IsConstant(node.Inputs[0]))
        {
            var constant = context.Constant(node, 0);
            context.SetConstant(node.Outputs[0], constant.Ints is { } ints
                ? ConstantValue.FromInts(ints, shape)
                : ConstantValue.FromFloats(constant.Floats!.Reshape(shape)));
            return null;
        }

        context.SetShape(node.Outputs[0], shape);
        return new ViewStep(node, shape);
    }

    private sealed class ViewStep(GraphNode node, int[] shape) : Step(node, [node.Inputs[0]], [node.Outputs[0]])
    {
        public override bool IsView => true;

        public override void Run(StepContext context) => context.SetOutput(0, context.Input(0).Reshape(shape));

        // Linear in its input: the same computation carries the tangent.
        public override void Tangent(TangentContext context) => context.Linear();

        // Linear in its inputs: the gradient tangent takes the gradient's way back, with no curvature term.
        public override void GradientTangent(SecondOrderContext context) => context.ThroughBackward();

        public override bool ReadsTangentsInSecondOrder => false;

        public override void Backward(BackwardContext context)
        {
            // A copy, since the output's gradient may also be asked for by name.
            if (context.NeedsGradient(0) && context.OutputGradient(0) is { } gradient)
            {
                context.AddGradient(0, gradient.Clone().TakeStorage(context.Input(0).Shape));
            }
        }
    }
}
