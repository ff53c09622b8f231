using Salient.Engine.Kernels;

namespace Salient.Engine.Graph;

/// <summary>
/// What operator planners (<see cref="Operators.OperatorPlanner"/>) see: shapes and constants of the
/// values so far, and the consumers of each value so a planner can fuse a following activation.
/// A planner sets the shape of each output it plans (<see cref="SetShape"/>) or folds the node to
/// constants (<see cref="SetConstant"/>).
/// </summary>
public sealed class PlanContext
{
    private readonly Dictionary<string, int[]> _shapes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ConstantValue> _constants;
    private readonly Dictionary<string, List<GraphNode>> _consumers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _observed;
    private readonly IReadOnlySet<GraphNode>? _noFusion;
    private readonly bool _fuseInRegion;

    /// <summary>
    /// <paramref name="noFusion"/>: the nodes a backward pass visits, kept apart, except that with
    /// <paramref name="fuseInRegion"/> a ReLU or Clip may still join the convolution, batch
    /// norm or Add before it (their backward sees it through its output), and an inference batch
    /// norm its convolution (input gradients through the folded weights are the same).
    /// </summary>
    internal PlanContext(GraphDefinition graph, IEnumerable<string> observed, IReadOnlySet<GraphNode>? noFusion = null, bool training = false,
        FoldedWeights? folded = null, bool fuseInRegion = false, PreparedWeights? prepared = null)
    {
        Prepared = prepared;
        _noFusion = noFusion;
        _fuseInRegion = fuseInRegion;
        Folded = folded ?? new FoldedWeights();
        Training = training;
        Graph = graph;
        _constants = new Dictionary<string, ConstantValue>(graph.Initializers, StringComparer.Ordinal);
        foreach (var (name, constant) in _constants)
        {
            _shapes[name] = constant.Shape;
        }

        foreach (var node in graph.Nodes)
        {
            foreach (var input in node.Inputs.Where(i => i.Length > 0))
            {
                if (!_consumers.TryGetValue(input, out var list))
                {
                    _consumers[input] = list = [];
                }

                list.Add(node);
            }
        }

        _observed = new HashSet<string>(observed.Concat(graph.OutputNames), StringComparer.Ordinal);
    }

    /// <summary>The graph being planned.</summary>
    public GraphDefinition Graph { get; }

    /// <summary>Weights with a following batch norm folded in, shared by the plans of one model.</summary>
    internal FoldedWeights Folded { get; }

    /// <summary>
    /// The model's cache of weights in its backend's prepared form, shared by its plans; null when the
    /// weights may change between runs (a training model updates them in place), so steps prepare per call.
    /// </summary>
    internal PreparedWeights? Prepared { get; }

    /// <summary>The model's default-domain operator set version.</summary>
    public long Opset => Graph.Opset;

    /// <summary>Whether the plan trains: batch norm then normalizes with batch statistics and updates its running ones.</summary>
    public bool Training { get; }

    /// <summary>Nodes already folded into an earlier step; the planner skips them.</summary>
    internal HashSet<GraphNode> Absorbed { get; } = [];

    /// <summary>Every value known before the image arrives: initializers, Constant nodes, folded shape chains.</summary>
    public IReadOnlyDictionary<string, ConstantValue> Constants => _constants;

    /// <summary>The shape of <paramref name="node"/>'s input <paramref name="input"/>; throws naming the node when it is not known.</summary>
    public int[] Shape(GraphNode node, int input)
    {
        var name = node.Inputs[input];
        return _shapes.TryGetValue(name, out var shape)
            ? shape
            : throw Error(node, $"input '{name}' has no known shape");
    }

    /// <summary>The shape of value <paramref name="name"/>, planned already.</summary>
    public int[] ShapeOf(string name) => _shapes[name];

    /// <summary>Whether <paramref name="name"/> is known before the image arrives.</summary>
    public bool IsConstant(string name) => _constants.ContainsKey(name);

    /// <summary>Input <paramref name="input"/> of <paramref name="node"/> as a constant; throws naming the node when it is computed from the image.</summary>
    public ConstantValue Constant(GraphNode node, int input)
    {
        var name = node.Inputs[input];
        return _constants.TryGetValue(name, out var value)
            ? value
            : throw Error(node, $"input '{name}' must be a constant known before the image arrives (shape chains are folded for the input size, data-dependent shapes are not supported)");
    }

    /// <summary>Records the shape of a planned output.</summary>
    public void SetShape(string name, int[] shape) => _shapes[name] = shape;

    /// <summary>Records an output folded to a constant.</summary>
    public void SetConstant(string name, ConstantValue value)
    {
        _constants[name] = value;
        _shapes[name] = value.Shape;
    }

    /// <summary>
    /// When the only reader of <paramref name="node"/>'s first output is an elementwise activation,
    /// and nobody observes the value in between, absorbs that activation and returns it. In a
    /// gradient region only a ReLU or Clip, when the plan allows it and <paramref name="inRegionToo"/>
    /// (the node's backward must not need its own output, which the activation replaces).
    /// </summary>
    public bool TryFuseActivation(GraphNode node, out FusedActivation activation, out string output, bool inRegionToo = true)
    {
        activation = FusedActivation.None;
        output = node.Outputs[0];
        if (SoleReader(output) is not { } next
            || next.Inputs.Skip(1).Any(i => i.Length > 0 && !IsConstant(i)) || !Operators.ActivationOperator.TryDescribe(next, this, out activation))
        {
            return false;
        }

        if (KeptApart(node, next) && !(inRegionToo && _fuseInRegion && activation.Kind is ActivationKind.Relu or ActivationKind.Clip))
        {
            activation = FusedActivation.None;
            return false;
        }

        Absorbed.Add(next);
        output = next.Outputs[0];
        return true;
    }

    /// <summary>
    /// The only reader of <paramref name="value"/> (an output of <paramref name="node"/>) when the two
    /// may become one step: nobody observes the value and neither node is kept unfused (or, with
    /// <paramref name="inRegionToo"/>, the plan fuses inside the gradient region); else null.
    /// </summary>
    public GraphNode? SoleFusableReader(GraphNode node, string value, bool inRegionToo = false) =>
        SoleReader(value) is { } next && (!KeptApart(node, next) || (inRegionToo && _fuseInRegion)) ? next : null;

    /// <summary>The nodes that read <paramref name="value"/>.</summary>
    public IReadOnlyList<GraphNode> Readers(string value) => _consumers.TryGetValue(value, out var readers) ? readers : [];

    /// <summary>
    /// Whether <paramref name="nodes"/> (a pattern, its last node last) may become one step: no value
    /// between them is observed or read by a node outside them, and none of them is kept unfused
    /// (or, with <paramref name="inRegionToo"/>, the plan fuses inside the gradient region).
    /// </summary>
    public bool MayJoin(IReadOnlyList<GraphNode> nodes, bool inRegionToo)
    {
        var inside = nodes.ToHashSet();
        return nodes.Take(nodes.Count - 1).SelectMany(n => n.Outputs).All(v => !_observed.Contains(v) && Readers(v).All(inside.Contains))
            && (_noFusion is null || !nodes.Any(_noFusion.Contains) || (inRegionToo && _fuseInRegion));
    }

    private GraphNode? SoleReader(string value) =>
        !_observed.Contains(value) && _consumers.TryGetValue(value, out var readers) && readers.Count == 1 ? readers[0] : null;

    private bool KeptApart(GraphNode node, GraphNode next) =>
        _noFusion is not null && (_noFusion.Contains(node) || _noFusion.Contains(next));

    /// <summary>An error naming the model and <paramref name="node"/>.</summary>
    public ModelException Error(GraphNode node, string problem) =>
        new($"Model '{Graph.ModelName}': {node.Describe()}: {problem}.");
}

/// <summary>
/// Convolution weights and biases with the batch norm after them folded in, by batch-norm node: made
/// once per model (its graph never changes), not once per plan, so that the plans of every input shape
/// share one weights buffer and with it the backend's prepared forms of it (<see cref="PreparedWeights"/>).
/// </summary>
internal sealed class FoldedWeights
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<GraphNode, (Tensor Weight, Tensor Bias)> _byNorm = new();

    public (Tensor Weight, Tensor Bias) GetOrAdd(GraphNode norm, Func<(Tensor Weight, Tensor Bias)> fold) =>
        _byNorm.GetOrAdd(norm, _ => fold());
}
