using Salient.Engine;
using Salient.Engine.Graph;

namespace Salient.Methods.Internal;

/// <summary>
/// What the network computes from a layer on, as a function of that layer's value (weights and
/// shapes held constant): whether it is affine, or piecewise affine, which decides whether a method's
/// shortcut through the layer's Jacobian is exact (Shapley-CAM's Hessian term, DFF's concept logits).
/// </summary>
internal static class NetworkTail
{
    /// <summary>Operators whose output is affine in their inputs.</summary>
    private static readonly HashSet<string> Affine = new(StringComparer.Ordinal)
    {
        "AveragePool", "GlobalAveragePool", "BatchNormalization", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Identity",
        "Dropout", "Concat", "Pad", "Slice", "Split", "Gather", "ReduceMean", "ReduceSum", "Add", "Sub", "Neg",
    };

    /// <summary>Operators that are affine on each of finitely many pieces of their input (they have kinks).</summary>
    private static readonly HashSet<string> Kinked = new(StringComparer.Ordinal) { "Relu", "LeakyRelu", "PRelu", "Clip", "MaxPool", "GlobalMaxPool" };

    /// <summary>Operators linear in each input alone: affine while only one of their inputs depends on the layer.</summary>
    private static readonly HashSet<string> LinearInEachInput = new(StringComparer.Ordinal) { "Conv", "Gemm", "MatMul", "Mul" };

    /// <summary>
    /// The first node after <paramref name="layer"/> whose output is not affine in the layer's value
    /// (with <paramref name="allowKinks"/>, not piecewise affine), or null when the whole tail is.
    /// </summary>
    public static GraphNode? FirstNonAffineNode(Model model, string layer, bool allowKinks)
    {
        var dependent = new HashSet<string>(StringComparer.Ordinal) { layer };
        foreach (var node in model.Graph.Nodes)
        {
            var reading = node.Inputs.Count(dependent.Contains);
            // A shape does not change with the values it is read from.
            if (reading == 0 || node.OpType == "Shape")
            {
                continue;
            }

            var affine = Affine.Contains(node.OpType) || (allowKinks && Kinked.Contains(node.OpType))
                || (LinearInEachInput.Contains(node.OpType) && reading == 1)
                || (node.OpType == "Div" && reading == 1 && dependent.Contains(node.Inputs[0]));
            if (!affine)
            {
                return node;
            }

            foreach (var output in node.Outputs)
            {
                dependent.Add(output);
            }
        }

        return null;
    }
}
