using System.Runtime.InteropServices;
using Google.Protobuf;
using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;
using Salient.Engine.Onnx;
using Salient.Engine.Onnx.Protos;

namespace Salient.Engine.Training;

/// <summary>
/// An ONNX graph whose weights are being trained. The graph keeps its ONNX structure; its
/// trainable initializers (convolution, linear and batch-norm parameters) and batch-norm running
/// statistics live in tensors this object owns, which optimizers update in place. Exporting
/// writes the same graph with the current values, so a trained model runs wherever an imported one does.
/// Not thread-safe: one training loop drives it.
/// </summary>
public sealed class TrainableModel : IDisposable
{
    private readonly ModelProto _proto;
    private readonly GraphDefinition _graph;
    private readonly IKernelBackend _backend;
    private readonly GradientRegion _region;
    private readonly string[] _kept;
    private readonly Dictionary<string, Tensor> _owned;
    private readonly Dictionary<string, ExecutionPlan> _plans = new(StringComparer.Ordinal);

    private TrainableModel(ModelProto proto, string name, IKernelBackend backend)
    {
        // Weights stored in half precision train as the float values they stand for.
        proto = OnnxHalfStorage.Widened(proto);
        _proto = proto;
        _backend = backend;
        var imported = OnnxImporter.Import(proto, name, Environment.CurrentDirectory);
        var (parameters, buffers) = Classify(imported);
        _owned = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var initializers = new Dictionary<string, ConstantValue>(imported.Initializers, StringComparer.Ordinal);
        foreach (var key in parameters.Concat(buffers))
        {
            var copy = imported.Initializers[key].Floats!.Clone();
            _owned[key] = copy;
            initializers[key] = ConstantValue.FromFloats(copy);
        }

        _graph = imported with { Initializers = initializers };
        Parameters = [.. parameters.Select(p => new Parameter(p, _owned[p]))];
        _region = GradientRegion.Find(_graph, parameters);

        // The backward pass reads the region's values and, for weight gradients, the data input of
        // each parameterized node even where it lies upstream of every parameter (a first conv
        // reads the padded image).
        _kept = [.. _region.Values.Concat(_region.Nodes.Where(n => n.OpType is "Conv" or "Gemm" or "MatMul" or "BatchNormalization").Select(n => n.Inputs[0]))
            .Where(v => v != _graph.InputName && !_graph.Initializers.ContainsKey(v)).Distinct()];
    }

    /// <summary>The model's name, as errors and exports name it.</summary>
    public string Name => _graph.ModelName;

    /// <summary>The trainable parameters in graph order.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The declared input shape (the batch free).</summary>
    public IReadOnlyList<int> InputShape => _graph.InputShape;

    /// <summary>The imported graph, for code that inspects the architecture (the CSG head).</summary>
    public GraphDefinition Graph => _graph;

    /// <summary>Every float the model holds, parameters and running statistics, by initializer name.</summary>
    public IReadOnlyDictionary<string, Tensor> State => _owned;

    /// <summary>A trainable model of the ONNX graph <paramref name="proto"/> (its weights copied), named <paramref name="name"/>.</summary>
    public static TrainableModel FromProto(ModelProto proto, string name, IKernelBackend? backend = null) =>
        new(proto, name, backend ?? KernelBackends.Default);

    /// <summary>A trainable model of the ONNX file at <paramref name="path"/>.</summary>
    public static TrainableModel Load(string path) => FromProto(OnnxImporter.ReadProto(path), Path.GetFileName(path));

    /// <summary>
    /// The training forward pass (batch norm on batch statistics, running statistics updated).
    /// <paramref name="onValue"/> may change an observed value in place right after it is
    /// computed; the change is what later steps and the backward pass see.
    /// </summary>
    public ForwardRecord Forward(Tensor input, IReadOnlyCollection<string>? observe = null, Action<string, Tensor>? onValue = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        observe ??= [];
        var key = Tensor.FormatShape(input.Shape) + "|" + string.Join('\n', observe.Order(StringComparer.Ordinal));
        if (!_plans.TryGetValue(key, out var plan))
        {
            _graph.CheckInputShape(input.Shape);
            plan = _plans[key] = ExecutionPlan.Build(_graph, input.ShapeArray(), [.. _kept.Concat(observe).Distinct()], _region, training: true);
        }

        var values = plan.Run(input, _backend, _graph.OutputNames.Concat(_kept).Concat(observe).Distinct(), onValue);
        return new ForwardRecord(plan, _region, input, values, ownsInput: false);
    }

    /// <summary>The logits of a recorded pass (owned by the record).</summary>
    public Tensor Logits(ForwardRecord record) => record.Value(_graph.OutputNames[0]);

    /// <summary>
    /// Backpropagates <paramref name="logitsGradient"/> (taken over) and returns the gradient of
    /// every parameter, owned by the caller. <paramref name="rules"/> may see and change the
    /// gradients of values on the way (the CSG gate does).
    /// </summary>
    public Dictionary<string, Tensor> Backward(ForwardRecord record, Tensor logitsGradient, IBackwardRules? rules = null)
    {
        var seeds = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [_graph.OutputNames[0]] = logitsGradient };
        return record.Plan.Backward(record, seeds, [.. Parameters.Select(p => p.Name)], rules, _backend);
    }

    /// <summary>The model as ONNX with the current weights and running statistics, plus <paramref name="metadata"/>.</summary>
    public ModelProto Export(IReadOnlyDictionary<string, string>? metadata = null)
    {
        var proto = _proto.Clone();
        foreach (var initializer in proto.Graph.Initializer)
        {
            if (_owned.TryGetValue(initializer.Name, out var tensor))
            {
                initializer.FloatData.Clear();
                initializer.ExternalData.Clear();
                initializer.DataLocation = TensorProto.Types.DataLocation.Default;
                initializer.DataType = (int)TensorProto.Types.DataType.Float;
                initializer.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(tensor.Span));
            }
        }

        proto.ProducerName = "salient";
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
        {
            var existing = proto.MetadataProps.FirstOrDefault(p => p.Key == key);
            if (existing is null)
            {
                proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
            }
            else
            {
                existing.Value = value;
            }
        }

        return proto;
    }

    /// <summary>Writes <see cref="Export"/> to <paramref name="path"/> atomically (a reader never sees half a model).</summary>
    public void Save(string path, IReadOnlyDictionary<string, string>? metadata = null) => Write(Export(metadata), path);

    /// <summary>Writes <paramref name="proto"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(ModelProto proto, string path)
    {
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, proto.ToByteArray());
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>An inference model of the current weights (batch norm on running statistics).</summary>
    public Model ToModel() => Model.FromProto(Export(), Name, _backend);

    /// <summary>Returns the weights' storage to the pool.</summary>
    public void Dispose()
    {
        foreach (var tensor in _owned.Values)
        {
            tensor.Dispose();
        }
    }

    /// <summary>
    /// Trainable initializers are the weights and biases of Conv, Gemm and MatMul, batch-norm
    /// scale and shift, and the constant added to a MatMul's output (an exported Linear's bias).
    /// Other constants (normalization, activation coefficients) stay fixed; batch-norm running
    /// mean and variance are state, not parameters.
    /// </summary>
    private static (List<string> Parameters, List<string> Buffers) Classify(GraphDefinition graph)
    {
        var parameters = new List<string>();
        var buffers = new List<string>();
        bool IsFloat(string name) => name.Length > 0 && graph.Initializers.TryGetValue(name, out var c) && c.Floats is not null;
        void Take(List<string> list, string name)
        {
            if (IsFloat(name) && !parameters.Contains(name) && !buffers.Contains(name))
            {
                list.Add(name);
            }
        }

        foreach (var node in graph.Nodes)
        {
            var inputs = node.Inputs;
            switch (node.OpType)
            {
                case "Conv" or "Gemm" or "MatMul":
                    foreach (var input in inputs.Skip(1))
                    {
                        Take(parameters, input);
                    }

                    break;
                case "BatchNormalization":
                    Take(parameters, inputs[1]);
                    Take(parameters, inputs[2]);
                    Take(buffers, inputs[3]);
                    Take(buffers, inputs[4]);
                    break;
                case "Add" when inputs.Length == 2 && IsFloat(inputs[0]) != IsFloat(inputs[1])
                    && graph.Nodes.Any(n => n.OpType == "MatMul" && n.Outputs[0] == (IsFloat(inputs[0]) ? inputs[1] : inputs[0])):
                    Take(parameters, IsFloat(inputs[0]) ? inputs[0] : inputs[1]);
                    break;
            }
        }

        return (parameters, buffers);
    }

}

/// <summary>A trainable tensor of a model, by its ONNX initializer name.</summary>
public sealed record Parameter(string Name, Tensor Value);
