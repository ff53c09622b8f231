using System.Collections.Concurrent;
using Salient.Engine.Devices;
using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;
using Salient.Engine.Onnx;

namespace Salient.Engine;

/// <summary>
/// An ONNX classification CNN loaded for inference. Thread-safe: one loaded model serves
/// concurrent forward passes. Plans are compiled per input shape and set of observed values and
/// cached.
/// </summary>
public sealed class Model
{
    private readonly GraphDefinition _graph;
    private readonly IKernelBackend _backend;
    private readonly ConcurrentDictionary<string, ExecutionPlan> _plans = new(StringComparer.Ordinal);
    private readonly FoldedWeights _folded = new();

    // The weights never change after loading (a model with other weights is another Model), so the
    // backend keeps its prepared forms of them for the model's life.
    private readonly PreparedWeights _prepared = new();

    private Model(string path, GraphDefinition graph, IKernelBackend backend)
    {
        Path = path;
        _graph = graph;
        _backend = backend;
    }

    /// <summary>The imported graph, for methods that inspect the architecture (heads, layers).</summary>
    public GraphDefinition Graph => _graph;

    /// <summary>The kernel backend the model runs on; methods run their own arithmetic on it too.</summary>
    public IKernelBackend Backend => _backend;

    /// <summary>The file the model was loaded from.</summary>
    public string Path { get; }

    /// <summary>The file name, as errors name the model.</summary>
    public string Name => _graph.ModelName;

    /// <summary>The name of the image input.</summary>
    public string InputName => _graph.InputName;

    /// <summary>The declared input shape, normally [N, C, H, W]; -1 where the model leaves a dimension free.</summary>
    public IReadOnlyList<int> InputShape => _graph.InputShape;

    /// <summary>The graph's outputs; the first is taken as the logits.</summary>
    public IReadOnlyList<string> OutputNames => _graph.OutputNames;

    /// <summary>The ONNX operator set the model was exported with.</summary>
    public long Opset => _graph.Opset;

    /// <summary>Every value the graph's nodes compute, in execution order, by their ONNX names.</summary>
    public IEnumerable<string> ValueNames => _graph.Nodes.SelectMany(n => n.Outputs).Where(o => o.Length > 0);

    /// <summary>The ONNX file's metadata (metadata_props), e.g. what Salient's training recorded.</summary>
    public IReadOnlyDictionary<string, string> Metadata => _graph.Metadata;

    /// <summary>The kernel backend in use, e.g. "cpu/openblas".</summary>
    public string BackendName => _backend.Name;

    /// <summary>The device the model computes on; its results live there (<see cref="Tensor.ToHost"/> brings them to the host).</summary>
    public Device Device => _backend.Device;

    /// <summary>Loads and checks an ONNX model that runs on the CPU; throws <see cref="ModelException"/> naming the file (and node) on any problem.</summary>
    public static Model Load(string path) => Load(path, KernelBackends.Default);

    /// <summary>Loads and checks an ONNX model that runs on <paramref name="device"/>, whose backend the registry gives (<see cref="KernelBackends.For(Device)"/>).</summary>
    /// <exception cref="DeviceUnavailableException">No backend is registered for the device, or it is not there.</exception>
    public static Model Load(string path, Device device) => Load(path, KernelBackends.For(device));

    /// <summary>Loads and checks an ONNX model that runs on <paramref name="backend"/>.</summary>
    public static Model Load(string path, IKernelBackend backend) => Checked(new Model(path, OnnxImporter.Load(path), backend));

    /// <summary>A model from an ONNX graph held in memory (a model being trained), named <paramref name="name"/>.</summary>
    public static Model FromProto(Onnx.Protos.ModelProto proto, string name, IKernelBackend backend) =>
        Checked(new Model(name, OnnxImporter.Import(proto, name, Environment.CurrentDirectory), backend));

    private static Model Checked(Model model)
    {
        // A model whose image size is fixed is planned once now, so shape errors surface at load, not on the first image.
        var declared = model._graph.InputShape;
        if (declared.Length > 0 && declared.Skip(1).All(d => d > 0))
        {
            model.GetPlan([1, .. declared[1..]], []);
        }

        return model;
    }

    /// <summary>
    /// The input shape for a batch of <paramref name="batch"/> images, with free spatial
    /// dimensions taken from <paramref name="fallbackHeight"/> and <paramref name="fallbackWidth"/>.
    /// </summary>
    public int[] BatchInputShape(int batch, int fallbackHeight = 224, int fallbackWidth = 224)
    {
        var declared = _graph.InputShape;
        if (declared.Length != 4)
        {
            throw new ModelException($"Model '{Name}': input '{InputName}' has rank {declared.Length}; an image model takes [N,C,H,W].");
        }

        return [batch, declared[1] > 0 ? declared[1] : 3, declared[2] > 0 ? declared[2] : fallbackHeight, declared[3] > 0 ? declared[3] : fallbackWidth];
    }

    /// <summary>Runs the model and returns its first output (the logits), owned by the caller.</summary>
    public Tensor Forward(Tensor input)
    {
        var results = Forward(input, []);
        return results[OutputNames[0]];
    }

    /// <summary>
    /// Runs the model and returns the graph outputs plus the named intermediate values, each owned
    /// by the caller (dispose them). Observed values are never fused away or overwritten in place.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> Forward(Tensor input, IReadOnlyCollection<string> observe)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(observe);
        var plan = GetPlan(input.Shape, observe);
        var onDevice = input.To(_backend);
        try
        {
            return plan.Run(onDevice, _backend, _graph.OutputNames.Concat(observe).Distinct());
        }
        finally
        {
            DisposeCopy(onDevice, input);
        }
    }

    /// <summary>
    /// Runs the model <paramref name="passes"/> times on <paramref name="input"/> and returns the
    /// mean time of each step of its plan, in execution order: where a forward pass spends its time,
    /// with what the planner fused shown in <see cref="StepTiming.Kind"/>.
    /// </summary>
    public IReadOnlyList<StepTiming> ProfileForward(Tensor input, int passes = 1)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfLessThan(passes, 1);
        var plan = GetPlan(input.Shape, []);
        var ticks = new long[plan.Steps.Count];
        var onDevice = input.To(_backend);
        try
        {
            for (var p = 0; p < passes; p++)
            {
                foreach (var tensor in plan.Run(onDevice, _backend, _graph.OutputNames, stepTicks: ticks).Values)
                {
                    tensor.Dispose();
                }
            }
        }
        finally
        {
            DisposeCopy(onDevice, input);
        }

        return [.. plan.Steps.Select((step, i) => new StepTiming(step.Node.Name.Length > 0 ? step.Node.Name : $"{step.Node.OpType}:{step.Outputs[0]}", step.Label, step.Outputs[0], plan.ShapeOf(step.Outputs[0]),
            TimeSpan.FromSeconds((double)ticks[i] / System.Diagnostics.Stopwatch.Frequency / passes)))];
    }

    /// <summary>
    /// Runs the model, letting <paramref name="onValue"/> change each observed value right after
    /// it is computed (e.g. to ablate channels), and returns the logits, owned by the caller.
    /// </summary>
    public Tensor Forward(Tensor input, IReadOnlyCollection<string> observe, Action<string, Tensor> onValue)
    {
        var plan = GetPlan(input.Shape, observe);
        var onDevice = input.To(_backend);
        try
        {
            return plan.Run(onDevice, _backend, [OutputNames[0]], onValue)[OutputNames[0]];
        }
        finally
        {
            DisposeCopy(onDevice, input);
        }
    }

    /// <summary>
    /// Runs the forward pass and keeps what a backward pass to <paramref name="gradientSources"/>
    /// needs (the activations from those values on to the logits), plus <paramref name="observe"/>.
    /// The record may serve several backward passes; dispose it after the last. With
    /// <paramref name="fuseInRegion"/> (input gradients only, and only for backward rules that allow
    /// it, <see cref="IBackwardRules.AllowsFusedSteps"/>) ReLUs, Clips and batch norms join the step
    /// before them in the region too, and the record keeps only what the backward pass reads.
    /// </summary>
    public ForwardRecord RecordForward(Tensor input, IReadOnlyCollection<string> gradientSources, IReadOnlyCollection<string> observe,
        bool fuseInRegion = false)
    {
        var (plan, region) = RecordingPlan(input.ShapeArray(), gradientSources, observe, fuseInRegion);
        var onDevice = input.To(_backend);
        try
        {
            var values = plan.Run(onDevice, _backend, plan.Kept);
            return new ForwardRecord(plan, region, onDevice, values, ownsInput: !ReferenceEquals(onDevice, input));
        }
        catch
        {
            DisposeCopy(onDevice, input);
            throw;
        }
    }

    // The plan a recording pass runs (cached), and the gradient region it keeps values for.
    private (ExecutionPlan Plan, GradientRegion Region) RecordingPlan(int[] shape, IReadOnlyCollection<string> gradientSources, IReadOnlyCollection<string> observe,
        bool fuseInRegion)
    {
        _graph.CheckInputShape(shape);
        var key = (fuseInRegion ? "grad+fused|" : "grad|") + Tensor.FormatShape(shape) + "|" + string.Join('\n', gradientSources.Order(StringComparer.Ordinal))
            + "|" + string.Join('\n', observe.Order(StringComparer.Ordinal));
        var region = GradientRegion.Find(_graph, gradientSources);
        // Unfused, every region value is observed; fused, only the sources, and the plan keeps the region values it computes.
        var observed = (fuseInRegion ? gradientSources.AsEnumerable() : region.Values).Where(v => v != _graph.InputName).Concat(observe).Distinct().ToArray();
        return (_plans.GetOrAdd(key, _ => ExecutionPlan.Build(_graph, shape, observed, region, folded: _folded, fuseInRegion: fuseInRegion, prepared: _prepared)), region);
    }

    /// <summary>
    /// Backpropagates <paramref name="logitsGradient"/> (taken over) from the first output and
    /// returns the gradients of <paramref name="wanted"/> (owned by the caller), with
    /// <paramref name="rules"/> overriding per-op rules where a method needs to.
    /// </summary>
    public Dictionary<string, Tensor> Backward(ForwardRecord record, Tensor logitsGradient, IReadOnlyCollection<string> wanted, IBackwardRules? rules = null)
    {
        ArgumentNullException.ThrowIfNull(logitsGradient);
        var seed = logitsGradient.To(_backend);
        if (!ReferenceEquals(seed, logitsGradient))
        {
            // A seed made on the host goes to the device once; the pass takes over the copy.
            logitsGradient.Dispose();
        }

        var seeds = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [OutputNames[0]] = seed };
        return record.Plan.Backward(record, seeds, wanted, rules, _backend);
    }

    /// <summary>
    /// The forward-mode directional derivative (Jacobian-vector product) in one pass: how every value
    /// downstream of <paramref name="value"/> (one of the record's gradient sources) moves when it moves
    /// along <paramref name="tangent"/> (its shape; read, not taken over). Returns the tangents of
    /// <paramref name="wanted"/> (the logits when null), owned by the caller: for the logits, J·V with
    /// J = ∂logits/∂value. Each step contributes its own rule (<see cref="Step.Tangent"/>); a pass
    /// through a step that has none fails with a <see cref="ModelException"/> naming its node.
    /// </summary>
    public Dictionary<string, Tensor> Tangent(ForwardRecord record, string value, Tensor tangent, IReadOnlyCollection<string>? wanted = null)
    {
        ArgumentNullException.ThrowIfNull(record);
        CheckTangent(record, value, tangent);
        var onDevice = tangent.To(_backend);
        try
        {
            return record.Plan.Tangent(record, value, onDevice, wanted ?? [OutputNames[0]], _backend);
        }
        finally
        {
            DisposeCopy(onDevice, tangent);
        }
    }

    /// <summary>
    /// The Hessian-vector product of the scalar seed·logits (<paramref name="logitsGradient"/>, taken
    /// over, weights the first output) with respect to <paramref name="value"/> (one of the record's
    /// gradient sources) along <paramref name="vector"/> (its shape; read): d/dε ∂(seed·y)/∂value at
    /// value + ε·vector, ε = 0, exact up to rounding, by forward over reverse (<see cref="Tangent"/>
    /// along the vector, then one backward pass carrying each gradient and its tangent). Returns the
    /// gradient too, since the pass computes it; both owned by the caller. Steps linear or piecewise
    /// linear in their inputs (where the product is zero almost everywhere) and the smooth steps with
    /// a rule (<see cref="Step.GradientTangent"/>) take part; any other fails with a
    /// <see cref="ModelException"/> naming its node (<see cref="CheckHessianVector"/> finds it before a
    /// pass). Memory: besides the record, the pass holds the forward tangents of the values smooth steps'
    /// rules read (<see cref="Step.ReadsTangentsInSecondOrder"/>), each until the reverse sweep has passed
    /// its first such reader, and the gradients and their tangents the reverse sweep has in flight.
    /// </summary>
    public (Tensor Gradient, Tensor HessianVector) HessianVector(ForwardRecord record, string value, Tensor vector, Tensor logitsGradient)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(logitsGradient);
        CheckTangent(record, value, vector);
        var seed = logitsGradient.To(_backend);
        if (!ReferenceEquals(seed, logitsGradient))
        {
            logitsGradient.Dispose();
        }

        var onDevice = vector.To(_backend);
        try
        {
            return record.Plan.HessianVector(record, value, onDevice, OutputNames[0], seed, _backend);
        }
        finally
        {
            DisposeCopy(onDevice, vector);
        }
    }

    /// <summary>
    /// Checks, before any pass, that <see cref="HessianVector"/> from <paramref name="value"/> can run on
    /// input of <paramref name="inputShape"/>: that every step on the way from it to the logits, as a
    /// recording pass with <paramref name="value"/> as its gradient source plans them, has a second-order
    /// rule (<see cref="Step.SecondOrderGap"/>). Throws a <see cref="ModelException"/> naming the first
    /// node and operator that has none. Rules may still refuse, when they run, inputs that move in a way
    /// they do not cover (a normalisation scale that moves with the source).
    /// Pass the <paramref name="fuseInRegion"/> the records will be made with: fused, a pattern such as
    /// the exported GELU is one step with its own rule.
    /// </summary>
    public void CheckHessianVector(string value, ReadOnlySpan<int> inputShape, bool fuseInRegion = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        var (plan, region) = RecordingPlan(inputShape.ToArray(), [value], [], fuseInRegion);
        if (plan.Steps.FirstOrDefault(s => region.Nodes.Contains(s.Node) && s.SecondOrderGap is not null) is { } step)
        {
            throw step.NoSecondOrderRule(step.SecondOrderGap!);
        }
    }

    // The source must be one of the record's and the tangent shaped like it.
    private void CheckTangent(ForwardRecord record, string value, Tensor tangent)
    {
        ArgumentNullException.ThrowIfNull(tangent);
        if (!record.Region.Values.Contains(value))
        {
            throw new ArgumentException($"Model '{Name}': '{value}' is not a gradient source of this forward record (record it with it among the sources).", nameof(value));
        }

        var shape = record.Plan.ShapeOf(value);
        if (!tangent.Shape.SequenceEqual(shape))
        {
            throw new ArgumentException($"Model '{Name}': the tangent of '{value}' must be [{Tensor.FormatShape(shape)}], it is [{Tensor.FormatShape(tangent.Shape)}].", nameof(tangent));
        }
    }

    /// <summary>
    /// A copy of this model in which the float initializers named in <paramref name="replacements"/>
    /// hold the given tensors (same shapes; the copy keeps them, so pass tensors that own no pooled
    /// storage); the copy plans afresh. For weight-randomisation sanity checks.
    /// </summary>
    public Model WithInitializers(IReadOnlyDictionary<string, Tensor> replacements)
    {
        var initializers = new Dictionary<string, ConstantValue>(_graph.Initializers, StringComparer.Ordinal);
        foreach (var (name, values) in replacements)
        {
            if (!initializers.TryGetValue(name, out var original) || original.Floats is null || !values.Shape.SequenceEqual(original.Shape))
            {
                throw new ArgumentException($"Model '{Name}' has no float initializer '{name}' of shape [{Tensor.FormatShape(values.Shape)}].", nameof(replacements));
            }

            initializers[name] = ConstantValue.FromFloats(values);
        }

        var graph = _graph with { Initializers = initializers };
        return new Model(Path, graph, _backend);
    }

    /// <summary>
    /// The steps a forward pass on input of <paramref name="inputShape"/> runs, in execution order:
    /// what the planner fused (<see cref="Step.Label"/>) and folded away, for diagnostics and tests.
    /// </summary>
    public IReadOnlyList<Step> PlannedSteps(ReadOnlySpan<int> inputShape) => GetPlan(inputShape, []).Steps;

    /// <summary>The shape value <paramref name="name"/> takes for the given input shape.</summary>
    public IReadOnlyList<int> ShapeOf(string name, ReadOnlySpan<int> inputShape) =>
        ValueShapes(inputShape).TryGetValue(name, out var shape) ? shape : throw new ModelException($"Model '{Name}' has no value named '{name}'.");

    /// <summary>Every value the graph computes (constants excluded) with its shape for this input shape.</summary>
    public IReadOnlyDictionary<string, int[]> ValueShapes(ReadOnlySpan<int> inputShape) => GetPlan(inputShape, []).Shapes;

    // An input the caller passed on another device was copied here for the pass; the copy goes.
    private static void DisposeCopy(Tensor onDevice, Tensor input)
    {
        if (!ReferenceEquals(onDevice, input))
        {
            onDevice.Dispose();
        }
    }

    private ExecutionPlan GetPlan(ReadOnlySpan<int> inputShape, IReadOnlyCollection<string> observe)
    {
        _graph.CheckInputShape(inputShape);
        var key = Tensor.FormatShape(inputShape) + "|" + string.Join('\n', observe.Order(StringComparer.Ordinal));
        if (_plans.TryGetValue(key, out var plan))
        {
            return plan;
        }

        var shape = inputShape.ToArray();
        return _plans.GetOrAdd(key, _ => ExecutionPlan.Build(_graph, shape, observe, folded: _folded, prepared: _prepared));
    }
}
