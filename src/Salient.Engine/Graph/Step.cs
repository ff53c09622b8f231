using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph;

/// <summary>
/// One planned operation with every shape known. Steps are immutable and shared by concurrent
/// runs; per-run state lives in the <see cref="StepContext"/>.
/// </summary>
internal abstract class Step
{
    protected Step(GraphNode node, string[] inputs, string[] outputs)
    {
        Node = node;
        Inputs = inputs;
        Outputs = outputs;
    }

    public GraphNode Node { get; }

    /// <summary>The values read, by name; constants included.</summary>
    public string[] Inputs { get; }

    /// <summary>The values written, by name (a fused step writes its last node's output).</summary>
    public string[] Outputs { get; }

    /// <summary>The input whose buffer the output may take over when that input dies here; -1 for none.</summary>
    public virtual int InPlaceInput => -1;

    /// <summary>True for steps whose output is a view of input 0 (reshapes): no new storage.</summary>
    public virtual bool IsView => false;

    /// <summary>
    /// Whether the backward pass for input gradients (explanations, not training) reads input
    /// <paramref name="index"/>'s forward value; when no step reads a value, a plan that fuses in the
    /// gradient region need not keep it. Yes unless the step knows better.
    /// </summary>
    public virtual bool ReadsInputInBackward(int index) => true;

    /// <summary>Whether that backward pass reads the step's own output (yes unless the step knows better).</summary>
    public virtual bool ReadsOutputInBackward => true;

    /// <summary>What the step computes, for profiles: the operator, plus what was fused into it (Conv+Add+Relu).</summary>
    public virtual string Kind => Node.OpType;

    /// <summary>The operator, then the other operators folded into it (<paramref name="folded"/>, each "+Op"), then the fused activation, if any.</summary>
    protected string KindWith(FusedActivation activation, string folded = "") =>
        Node.OpType + folded + (activation.Kind == ActivationKind.None ? "" : $"+{activation.Kind}");

    public abstract void Run(StepContext context);

    /// <summary>
    /// The ordinary vector-Jacobian product: adds the gradient of each input that needs one,
    /// from the gradients of the outputs.
    /// </summary>
    public virtual void Backward(BackwardContext context) =>
        throw new ModelException($"{Node.Describe()}: no backward pass for this operator.");
}

/// <summary>What a step sees while it runs: its inputs and a way to make its outputs.</summary>
internal sealed class StepContext
{
    private readonly Tensor?[] _slots;
    private int[] _inputSlots = [];
    private int[] _outputSlots = [];
    private bool _reuseInput;
    private Step? _step;

    public StepContext(Tensor?[] slots, IKernelBackend backend)
    {
        _slots = slots;
        Backend = backend;
    }

    public IKernelBackend Backend { get; }

    internal void Bind(Step step, int[] inputSlots, int[] outputSlots, bool reuseInput)
    {
        _step = step;
        _inputSlots = inputSlots;
        _outputSlots = outputSlots;
        _reuseInput = reuseInput;
    }

    public Tensor Input(int index) => _slots[_inputSlots[index]]!;

    /// <summary>A tensor for output <paramref name="index"/>: the dying in-place input when the plan allows it, else fresh pooled storage.</summary>
    public Tensor Output(int index, ReadOnlySpan<int> shape)
    {
        Tensor tensor;
        if (_reuseInput && index == 0)
        {
            tensor = Input(_step!.InPlaceInput);
        }
        else
        {
            tensor = Tensor.Uninitialized(shape);
        }

        _slots[_outputSlots[index]] = tensor;
        return tensor;
    }

    /// <summary>Publishes an output made another way (a view of an input).</summary>
    public void SetOutput(int index, Tensor tensor) => _slots[_outputSlots[index]] = tensor;
}
