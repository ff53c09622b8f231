using Salient.Engine.Graph.Backward;
using Salient.Engine.Graph.Operators;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph;

/// <summary>
/// A graph compiled for one input shape and one set of observed values: shape chains folded to
/// constants, activations fused, and each intermediate's storage released after its last reader
/// (or handed to an in-place successor). Immutable; runs may proceed concurrently.
/// </summary>
internal sealed class ExecutionPlan
{
    private const int Forever = int.MaxValue;

    private readonly Step[] _steps;
    private readonly int[][] _inputSlots;
    private readonly int[][] _outputSlots;
    private readonly bool[] _reuseInput;
    private readonly int[][] _releaseAfter;
    private readonly Tensor?[] _constantSlots;
    private readonly int _inputSlot;
    private readonly Dictionary<string, int> _slotOf;
    private readonly Dictionary<string, int[]> _shapes;

    private ExecutionPlan(PlanContext context, List<Step> steps, HashSet<string> kept, int[] inputShape)
    {
        _steps = [.. steps];
        _slotOf = new Dictionary<string, int>(StringComparer.Ordinal);
        var constantTensors = new List<Tensor?>();
        int SlotOf(string name)
        {
            if (!_slotOf.TryGetValue(name, out var slot))
            {
                slot = _slotOf[name] = constantTensors.Count;
                constantTensors.Add(context.Constants.TryGetValue(name, out var c) ? c.Floats : null);
            }

            return slot;
        }

        _inputSlot = SlotOf(context.Graph.InputName);
        _inputSlots = [.. _steps.Select(s => s.Inputs.Select(SlotOf).ToArray())];
        _outputSlots = [.. _steps.Select(s => s.Outputs.Select(SlotOf).ToArray())];
        foreach (var name in kept)
        {
            SlotOf(name);
        }

        _constantSlots = [.. constantTensors];
        var slotCount = _constantSlots.Length;
        foreach (var step in _steps)
        {
            var integer = step.Inputs.FirstOrDefault(n => context.Constants.TryGetValue(n, out var c) && c.IsInteger);
            if (integer is not null)
            {
                throw context.Error(step.Node, $"integer tensor '{integer}' would be needed at run time, which Salient does not support");
            }
        }

        // Storage groups: a view or an in-place output shares its input's storage. Union-find over slots.
        var group = Enumerable.Range(0, slotCount).ToArray();
        int Find(int s) => group[s] == s ? s : group[s] = Find(group[s]);

        var pinned = new bool[slotCount];
        pinned[_inputSlot] = true;
        for (var s = 0; s < slotCount; s++)
        {
            pinned[s] |= _constantSlots[s] is not null;
        }

        foreach (var (step, i) in _steps.Select((s, i) => (s, i)))
        {
            if (step.IsView)
            {
                group[Find(_outputSlots[i][0])] = Find(_inputSlots[i][0]);
            }
        }

        var lastUse = new int[slotCount];
        for (var i = 0; i < _steps.Length; i++)
        {
            foreach (var s in _inputSlots[i])
            {
                lastUse[Find(s)] = Math.Max(lastUse[Find(s)], i);
            }
        }

        foreach (var name in kept)
        {
            lastUse[Find(_slotOf[name])] = Forever;
        }

        for (var s = 0; s < slotCount; s++)
        {
            if (pinned[s])
            {
                lastUse[Find(s)] = Forever;
            }
        }

        _reuseInput = new bool[_steps.Length];
        for (var i = 0; i < _steps.Length; i++)
        {
            var k = _steps[i].InPlaceInput;
            if (k < 0)
            {
                continue;
            }

            var candidate = _inputSlots[i][k];
            var root = Find(candidate);
            // Only a plain (non-view) intermediate that nobody reads later may be overwritten.
            if (root == candidate && lastUse[root] == i && Array.IndexOf(_inputSlots[i], candidate) == Array.LastIndexOf(_inputSlots[i], candidate))
            {
                _reuseInput[i] = true;
                var outRoot = Find(_outputSlots[i][0]);
                group[outRoot] = root;
                lastUse[root] = Math.Max(lastUse[root], lastUse[outRoot]);
            }
        }

        var release = Enumerable.Range(0, _steps.Length).Select(_ => new List<int>()).ToArray();
        for (var s = 0; s < slotCount; s++)
        {
            if (Find(s) == s && lastUse[s] != Forever && _outputSlots.Any(o => o.Contains(s)))
            {
                release[lastUse[s]].Add(s);
            }
        }

        _releaseAfter = [.. release.Select(r => r.ToArray())];
        _shapes = new Dictionary<string, int[]>(StringComparer.Ordinal) { [context.Graph.InputName] = inputShape };
        InputShape = inputShape;
    }

    public int[] InputShape { get; }

    public string InputName { get; private init; } = string.Empty;

    /// <summary>The values kept to the end of a run: graph outputs, observed values, and a gradient region's values.</summary>
    public IReadOnlySet<string> Kept { get; private init; } = new HashSet<string>();

    /// <summary>The steps in execution order.</summary>
    public IReadOnlyList<Step> Steps => _steps;

    /// <summary>The float constant of that name, or null.</summary>
    public Tensor? Constant(string name) => _slotOf.TryGetValue(name, out var slot) ? _constantSlots[slot] : null;

    /// <summary>
    /// Plans the graph. Nodes in <paramref name="region"/> (a backward pass will visit them) are
    /// not fused, so every ONNX value there exists and per-op backward rules see the real ops.
    /// A <paramref name="training"/> plan runs batch norm on batch statistics. <paramref name="folded"/>
    /// is the model's cache of convolutions with their batch norm folded in; <paramref name="prepared"/> its
    /// cache of weights in the backend's prepared form, only for weights that never change (not training). With
    /// <paramref name="fuseInRegion"/> (for input gradients under rules that allow fused steps,
    /// <see cref="IBackwardRules.AllowsFusedSteps"/>), ReLU, Clip and batch norms fuse inside the
    /// region too, and only the region values some step's backward reads are kept.
    /// </summary>
    public static ExecutionPlan Build(GraphDefinition graph, int[] inputShape, IReadOnlyCollection<string> observed, GradientRegion? region = null, bool training = false,
        FoldedWeights? folded = null, bool fuseInRegion = false, PreparedWeights? prepared = null)
    {
        var context = new PlanContext(graph, observed, region?.Nodes, training, folded, fuseInRegion, prepared);
        context.SetShape(graph.InputName, inputShape);
        var steps = new List<Step>();

        // Constants first: a fused activation may read bounds from a Constant node listed after its producer.
        foreach (var node in graph.Nodes.Where(n => n.OpType == "Constant"))
        {
            OperatorRegistry.Plan(node, context);
        }

        foreach (var node in graph.Nodes)
        {
            if (node.OpType == "Constant" || context.Absorbed.Contains(node))
            {
                continue;
            }

            var step = OperatorRegistry.Plan(node, context);
            if (step is null)
            {
                continue;
            }

            if (steps.Count > 0 && ConvOperator.TryFuse(steps[^1], step, context) is { } fused)
            {
                steps[^1] = fused;
            }
            else
            {
                steps.Add(step);
            }
        }

        var kept = new HashSet<string>(graph.OutputNames.Concat(observed), StringComparer.Ordinal);
        if (region is not null)
        {
            // A backward pass reads the region's values: those that still exist once activations are
            // fused; and, when it only wants input gradients (fusing in the region), only those a
            // region step's backward reads, so the rest are freed or overwritten like any intermediate.
            var regionSteps = steps.Where(s => region.Nodes.Contains(s.Node)).ToList();
            var read = fuseInRegion
                ? regionSteps.SelectMany(s => s.Inputs.Where((_, i) => s.ReadsInputInBackward(i)).Concat(s.ReadsOutputInBackward ? s.Outputs : [])).ToHashSet(StringComparer.Ordinal)
                : null;
            kept.UnionWith(steps.SelectMany(s => s.Outputs).Where(v => region.Values.Contains(v) && (read is null || read.Contains(v))));
        }

        foreach (var name in kept)
        {
            if (!steps.Any(s => s.Outputs.Contains(name)) && name != graph.InputName && !context.Constants.ContainsKey(name))
            {
                throw new ModelException($"Model '{graph.ModelName}' has no value named '{name}' (or it is fused away).");
            }
        }

        var plan = new ExecutionPlan(context, steps, kept, inputShape) { InputName = graph.InputName, Kept = kept };
        foreach (var node in graph.Nodes)
        {
            foreach (var output in node.Outputs.Where(o => o.Length > 0 && !context.IsConstant(o)))
            {
                plan._shapes[output] = context.ShapeOf(output);
            }
        }

        return plan;
    }

    /// <summary>The shape of a computed value under this plan, fused-away values included.</summary>
    public int[] ShapeOf(string name) => _shapes[name];

    /// <summary>Every computed (non-constant) value with its shape, in execution order.</summary>
    public IReadOnlyDictionary<string, int[]> Shapes => _shapes;

    /// <summary>
    /// Runs the plan. Returns the named values, each owned by the caller; every other intermediate
    /// has gone back to the pool. The input stays the caller's. <paramref name="stepTicks"/>, when
    /// given, gets each step's <see cref="System.Diagnostics.Stopwatch"/> ticks added (profiles).
    /// </summary>
    public Dictionary<string, Tensor> Run(Tensor input, IKernelBackend backend, IEnumerable<string> wanted, Action<string, Tensor>? onValue = null,
        long[]? stepTicks = null)
    {
        var slots = (Tensor?[])_constantSlots.Clone();
        slots[_inputSlot] = input;
        var context = new StepContext(slots, backend);
        try
        {
            for (var i = 0; i < _steps.Length; i++)
            {
                context.Bind(_steps[i], _inputSlots[i], _outputSlots[i], _reuseInput[i]);
                var start = stepTicks is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
                _steps[i].Run(context);
                if (stepTicks is not null)
                {
                    stepTicks[i] += System.Diagnostics.Stopwatch.GetTimestamp() - start;
                }

                if (onValue is not null)
                {
                    foreach (var output in _steps[i].Outputs)
                    {
                        onValue(output, slots[_slotOf[output]]!);
                    }
                }

                foreach (var s in _releaseAfter[i])
                {
                    slots[s]?.Dispose();
                    slots[s] = null;
                }
            }

            var results = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            var owned = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
            foreach (var name in wanted)
            {
                var tensor = slots[_slotOf[name]]!;
                // Storage the caller can own outright is handed over; a view (or the input, or a constant) is copied.
                results[name] = tensor.OwnsStorage && !ReferenceEquals(tensor, input) && owned.Add(tensor) ? tensor : tensor.Clone();
            }

            foreach (var tensor in slots)
            {
                if (tensor is not null && !owned.Contains(tensor) && !_constantSlots.Contains(tensor) && !ReferenceEquals(tensor, input))
                {
                    tensor.Dispose();
                }
            }

            return results;
        }
        catch
        {
            foreach (var tensor in slots)
            {
                if (tensor is not null && !_constantSlots.Contains(tensor) && !ReferenceEquals(tensor, input))
                {
                    tensor.Dispose();
                }
            }

            throw;
        }
    }

    /// <summary>
    /// Runs the forward-mode pass: pushes <paramref name="tangent"/>, a tangent of recorded value
    /// <paramref name="source"/> (read, not taken over), through the record's region steps in
    /// execution order and returns the tangents of <paramref name="wanted"/> (zeros for values that do
    /// not depend on the source), owned by the caller. Each intermediate tangent is freed after its
    /// last reader. A step without a tangent rule fails the pass, naming its node.
    /// </summary>
    public Dictionary<string, Tensor> Tangent(ForwardRecord record, string source, Tensor tangent, IReadOnlyCollection<string> wanted, IKernelBackend backend)
    {
        var steps = _steps.Where(s => record.Region.Nodes.Contains(s.Node)).ToArray();
        var lastReader = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < steps.Length; i++)
        {
            foreach (var input in steps[i].Inputs)
            {
                lastReader[input] = i;
            }
        }

        var tangents = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [source] = tangent.Clone() };
        var context = new TangentContext(record, tangents, backend);
        try
        {
            for (var i = 0; i < steps.Length; i++)
            {
                var step = steps[i];
                if (!step.Inputs.Any(tangents.ContainsKey))
                {
                    continue;
                }

                context.Bind(step);
                step.Tangent(context);
                foreach (var input in step.Inputs.Distinct())
                {
                    if (lastReader[input] == i && !wanted.Contains(input) && tangents.Remove(input, out var spent))
                    {
                        spent.Dispose();
                    }
                }
            }

            var results = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var name in wanted)
            {
                results[name] = tangents.Remove(name, out var result) ? result : Tensor.Zeros(backend, ShapeOf(name));
            }

            return results;
        }
        finally
        {
            foreach (var spent in tangents.Values)
            {
                spent.Dispose();
            }
        }
    }

    /// <summary>
    /// The second-order backward pass, forward over reverse: the forward tangents along
    /// <paramref name="vector"/> (a tangent of <paramref name="source"/>, read), then one reverse sweep
    /// carrying each value's gradient from <paramref name="seed"/> (taken over) at <paramref name="output"/>
    /// and that gradient's tangent (<see cref="Step.GradientTangent"/>). Returns the source's gradient and
    /// its tangent, the Hessian-vector product, both owned by the caller. Besides the record it holds the
    /// forward tangents that some step's rule reads (<see cref="Step.ReadsTangentsInSecondOrder"/>: the
    /// inputs and outputs of smooth steps), each until the sweep has passed the first of those steps, and,
    /// like the backward pass, each gradient and gradient tangent until its producer has run.
    /// </summary>
    public (Tensor Gradient, Tensor HessianVector) HessianVector(ForwardRecord record, string source, Tensor vector, string output, Tensor seed,
        IKernelBackend backend)
    {
        // Which tangents the sweep reads, and the step (by plan index) after which each is spent.
        var spentAfter = new Dictionary<int, List<string>>();
        var read = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < _steps.Length; i++)
        {
            var step = _steps[i];
            if (!record.Region.Nodes.Contains(step.Node) || !step.ReadsTangentsInSecondOrder)
            {
                continue;
            }

            foreach (var value in step.Inputs.Concat(step.Outputs).Where(v => record.Region.Values.Contains(v) && read.Add(v)))
            {
                (spentAfter.TryGetValue(i, out var values) ? values : spentAfter[i] = []).Add(value);
            }
        }

        var gradients = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [output] = seed };
        var gradientTangents = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        Dictionary<string, Tensor>? tangents = null;
        try
        {
            tangents = Tangent(record, source, vector, read, backend);
            var second = new SecondOrderContext(record, tangents, gradients, gradientTangents, backend);
            var first = new BackwardContext(record, gradients, [source], null, backend);
            for (var i = _steps.Length - 1; i >= 0; i--)
            {
                var step = _steps[i];
                if (record.Region.Nodes.Contains(step.Node) && step.Outputs.Any(o => gradients.ContainsKey(o) || gradientTangents.ContainsKey(o)))
                {
                    // The gradient tangent first: its curvature terms read the outputs' gradients, which the step's backward pass may take over.
                    second.Bind(step);
                    step.GradientTangent(second);
                    first.Bind(step);
                    step.Backward(first);
                    foreach (var value in step.Outputs.Where(o => o != source))
                    {
                        Free(gradients, value);
                        Free(gradientTangents, value);
                    }
                }

                foreach (var value in spentAfter.GetValueOrDefault(i) ?? [])
                {
                    Free(tangents, value);
                }
            }

            var shape = ShapeOf(source);
            var gradient = gradients.Remove(source, out var g) ? g : Tensor.Zeros(backend, shape);
            var product = gradientTangents.Remove(source, out var h) ? h : Tensor.Zeros(backend, shape);
            return (gradient, product);
        }
        finally
        {
            foreach (var tensor in gradients.Values.Concat(gradientTangents.Values).Concat(tangents?.Values ?? Enumerable.Empty<Tensor>()))
            {
                tensor.Dispose();
            }
        }

        static void Free(Dictionary<string, Tensor> values, string name)
        {
            if (values.Remove(name, out var spent))
            {
                spent.Dispose();
            }
        }
    }

    /// <summary>
    /// Runs the backward pass from <paramref name="seeds"/> (gradients at outputs, taken over) and
    /// returns the complete gradients of <paramref name="wanted"/>, owned by the caller. Steps
    /// outside the record's region are skipped; <paramref name="rules"/> may replace any step's
    /// vector-Jacobian product and see each gradient once it is complete.
    /// </summary>
    public Dictionary<string, Tensor> Backward(ForwardRecord record, Dictionary<string, Tensor> seeds, IReadOnlyCollection<string> wanted,
        IBackwardRules? rules, IKernelBackend backend)
    {
        var gradients = new Dictionary<string, Tensor>(seeds, StringComparer.Ordinal);
        var hooked = new HashSet<string>(StringComparer.Ordinal);
        var context = new BackwardContext(record, gradients, wanted, rules, backend);
        try
        {
            for (var i = _steps.Length - 1; i >= 0; i--)
            {
                var step = _steps[i];
                if (!record.Region.Nodes.Contains(step.Node) || !step.Outputs.Any(gradients.ContainsKey))
                {
                    continue;
                }

                foreach (var output in step.Outputs.Where(o => gradients.ContainsKey(o) && hooked.Add(o)))
                {
                    rules?.OnGradient(output, gradients[output]);
                }

                context.Bind(step);
                if (rules is null || !rules.TryBackward(step, context))
                {
                    step.Backward(context);
                }

                foreach (var output in step.Outputs.Where(o => !wanted.Contains(o)))
                {
                    if (gradients.Remove(output, out var spent))
                    {
                        spent.Dispose();
                    }
                }
            }

            var results = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var name in wanted)
            {
                if (gradients.Remove(name, out var gradient))
                {
                    if (hooked.Add(name))
                    {
                        rules?.OnGradient(name, gradient);
                    }

                    results[name] = gradient;
                }
                else
                {
                    // No path from this value to the logits: its gradient is zero.
                    results[name] = Tensor.Zeros(backend, record.Value(name).Shape);
                }
            }

            return results;
        }
        finally
        {
            foreach (var tensor in gradients.Values)
            {
                tensor.Dispose();
            }
        }
    }
}
