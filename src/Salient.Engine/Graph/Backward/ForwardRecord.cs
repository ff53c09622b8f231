namespace Salient.Engine.Graph.Backward;

/// <summary>
/// The values of one forward pass that a backward pass needs (those in its gradient region) plus
/// any observed ones: what <see cref="Model.RecordForward"/> returns and <see cref="Model.Backward"/>
/// reads. Reusable for several backward passes, e.g. one per target. Owns its tensors; dispose it
/// after the last backward pass.
/// </summary>
public sealed class ForwardRecord : IDisposable
{
    private readonly Dictionary<string, Tensor> _values;
    private readonly bool _ownsInput;

    internal ForwardRecord(ExecutionPlan plan, GradientRegion region, Tensor input, Dictionary<string, Tensor> values, bool ownsInput)
    {
        Plan = plan;
        Region = region;
        Input = input;
        _values = values;
        _ownsInput = ownsInput;
    }

    internal ExecutionPlan Plan { get; }

    internal GradientRegion Region { get; }

    /// <summary>The steps the recording pass ran, in execution order (what was fused, for diagnostics).</summary>
    public IReadOnlyList<Step> Steps => Plan.Steps;

    /// <summary>The values the record keeps for the backward pass (and the observed ones).</summary>
    public IReadOnlySet<string> KeptValues => Plan.Kept;

    /// <summary>The nodes a backward pass from this record visits: those on a path from a gradient source to the logits.</summary>
    public IReadOnlySet<GraphNode> BackwardNodes => Region.Nodes;

    /// <summary>The input batch on the model's device: the caller's tensor, or the record's own copy when the caller's was elsewhere.</summary>
    public Tensor Input { get; }

    /// <summary>A recorded forward value, the input, or a constant.</summary>
    public Tensor Value(string name) =>
        _values.TryGetValue(name, out var tensor) ? tensor
        : name == Plan.InputName ? Input
        : Plan.Constant(name) ?? throw new KeyNotFoundException($"Value '{name}' was not kept by the forward pass.");

    /// <summary>
    /// The shape of a value: a computed one's from the plan (kept or not), the input's and a
    /// constant's from their tensors.
    /// </summary>
    public int[] ShapeOf(string name) => Plan.Shapes.TryGetValue(name, out var shape) ? shape : Value(name).ShapeArray();

    /// <summary>Returns the recorded values' storage to the pool.</summary>
    public void Dispose()
    {
        foreach (var tensor in _values.Values)
        {
            tensor.Dispose();
        }

        _values.Clear();
        if (_ownsInput)
        {
            Input.Dispose();
        }
    }
}
