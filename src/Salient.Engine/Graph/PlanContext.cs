using Salient.Engine.Kernels;

namespace Salient.Engine.Graph;

/// <summary>
/// What operator planners see: shapes and constants of the values so far, and the consumers of each
/// value so a planner can fuse a following activation.
/// </summary>
internal sealed class PlanContext
{
    private readonly Dictionary<string, int[]> _shapes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ConstantValue> _constants;
    private readonly Dictionary<string, List<GraphNode>> _consumers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _observed;
    private readonly IReadOnlySet<GraphNode>? _noFusion;

    public PlanContext(GraphDefinition graph, IEnumerable<string> observed, IReadOnlySet<GraphNode>? noFusion = null, bool training = false)
    {
        _noFusion = noFusion;
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

    public GraphDefinition Graph { get; }

    public long Opset => Graph.Opset;

    /// <summary>Whether the plan trains: batch norm then normalizes with batch statistics and updates its running ones.</summary>
    public bool Training { get; }

    /// <summary>Nodes already folded into an earlier step; the planner skips them.</summary>
    public HashSet<GraphNode> Absorbed { get; } = [];

    public IReadOnlyDictionary<string, ConstantValue> Constants => _constants;

    public int[] Shape(GraphNode node, int input)
    {
        var name = node.Inputs[input];
        return _shapes.TryGetValue(name, out var shape)
            ? shape
            : throw Error(node, $"input '{name}' has no known shape");
    }

    public int[] ShapeOf(string name) => _shapes[name];

    public bool IsConstant(string name) => _constants.ContainsKey(name);

    public ConstantValue Constant(GraphNode node, int input)
    {
        var name = node.Inputs[input];
        return _constants.TryGetValue(name, out var value)
            ? value
            : throw Error(node, $"input '{name}' must be a constant known before the image arrives (shape chains are folded for the input size, data-dependent shapes are not supported)");
    }

    public void SetShape(string name, int[] shape) => _shapes[name] = shape;

    public void SetConstant(string name, ConstantValue value)
    {
        _constants[name] = value;
        _shapes[name] = value.Shape;
    }

    /// <summary>
    /// When the only reader of <paramref name="node"/>'s first output is an elementwise activation,
    /// and nobody observes the value in between, absorbs that activation and returns it.
    /// </summary>
    public bool TryFuseActivation(GraphNode node, out FusedActivation activation, out string output)
    {
        activation = FusedActivation.None;
        output = node.Outputs[0];
        if (_observed.Contains(output) || !_consumers.TryGetValue(output, out var readers) || readers.Count != 1)
        {
            return false;
        }

        var next = readers[0];
        if (_noFusion is not null && (_noFusion.Contains(node) || _noFusion.Contains(next)))
        {
            return false;
        }

        if (next.Inputs.Skip(1).Any(i => i.Length > 0 && !IsConstant(i)) || !Operators.ActivationOperator.TryDescribe(next, this, out activation))
        {
            return false;
        }

        Absorbed.Add(next);
        output = next.Outputs[0];
        return true;
    }

    public ModelException Error(GraphNode node, string problem) =>
        new($"Model '{Graph.ModelName}': {node.Describe()}: {problem}.");
}
