using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph;

/// <summary>
/// One planned operation with every shape known: what an operator's planner returns
/// (<see cref="Operators.OperatorRegistry"/>) and what backward rules see
/// (<see cref="IBackwardRules.TryBackward"/>). Steps are immutable and shared by concurrent runs;
/// per-run state lives in the <see cref="StepContext"/>. Rules tell steps apart by
/// <see cref="Kind"/> and read the parameters that kind documents (<see cref="ConvolutionGeometry"/>,
/// <see cref="PoolGeometry"/>, <see cref="Activation"/>, <see cref="WeightsTransposed"/>).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716", Justification = "Step is the planner's word throughout the engine and its docs; Salient's API targets C#.")]
public abstract class Step
{
    /// <summary>A step that reads <paramref name="inputs"/> and writes <paramref name="outputs"/> for <paramref name="node"/>.</summary>
    protected Step(GraphNode node, string[] inputs, string[] outputs)
    {
        Node = node;
        Inputs = inputs;
        Outputs = outputs;
    }

    /// <summary>The ONNX node the step runs (the first node, for a fused step).</summary>
    public GraphNode Node { get; }

    /// <summary>The values read, by name; constants included.</summary>
    public string[] Inputs { get; }

    /// <summary>The values written, by name (a fused step writes its last node's output).</summary>
    public string[] Outputs { get; }

    /// <summary>What the step computes, for backward rules; <see cref="StepKind.Other"/> unless the step says more.</summary>
    public virtual StepKind Kind => StepKind.Other;

    /// <summary>The convolution's shapes, for a <see cref="StepKind.Convolution"/> step; null otherwise.</summary>
    public virtual Conv2dGeometry? ConvolutionGeometry => null;

    /// <summary>The pooling window, for <see cref="StepKind.MaxPool"/> and <see cref="StepKind.AveragePool"/> steps; null otherwise.</summary>
    public virtual Pool2dGeometry? PoolGeometry => null;

    /// <summary>
    /// The activation the step applies: its own function for an <see cref="StepKind.Activation"/> step,
    /// the activation fused into its end otherwise (<see cref="FusedActivation.None"/> when there is none).
    /// </summary>
    public virtual FusedActivation Activation => FusedActivation.None;

    /// <summary>
    /// For a <see cref="StepKind.Linear"/> step, whether its weights (input 1) are stored
    /// [outputs, inputs] (ONNX Gemm with transB, PyTorch's Linear) rather than [inputs, outputs].
    /// </summary>
    public virtual bool WeightsTransposed => false;

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
    public virtual string Label => Node.OpType;

    /// <summary>The operator, then the other operators folded into it (<paramref name="folded"/>, each "+Op"), then the fused activation, if any.</summary>
    protected string LabelWith(FusedActivation activation, string folded = "") =>
        Node.OpType + folded + (activation.Kind == ActivationKind.None ? "" : $"+{activation.Kind}");

    /// <summary>Computes the outputs from the inputs (<see cref="StepContext.Input"/>, <see cref="StepContext.Output"/>).</summary>
    public abstract void Run(StepContext context);

    /// <summary>
    /// The ordinary vector-Jacobian product: adds the gradient of each input that needs one,
    /// from the gradients of the outputs.
    /// </summary>
    public virtual void Backward(BackwardContext context) =>
        throw new ModelException($"{Node.Describe()}: no backward pass for this operator.");

    /// <summary>
    /// The Jacobian-vector product (forward mode, <see cref="Model.Tangent"/>): sets the tangent of
    /// each output from the tangents of the inputs that have one (<see cref="TangentContext.InputTangent"/>;
    /// the others are constant along the direction). A step without a rule refuses, by name: a
    /// missing rule never reads as a zero derivative.
    /// </summary>
    public virtual void Tangent(TangentContext context) =>
        throw new ModelException($"{Node.Describe()}: no forward-mode (Jacobian-vector product) rule for {Label}.");

    /// <summary>
    /// The second-order backward rule (forward-over-reverse, <see cref="Model.HessianVector"/>): adds
    /// to each input's gradient tangent the step's backward pass run on its outputs' gradient tangents,
    /// plus the step's curvature term (<see cref="SecondOrderContext"/>). A step without a rule
    /// refuses, by name: a missing rule never reads as a zero second derivative.
    /// </summary>
    public virtual void GradientTangent(SecondOrderContext context) => throw NoSecondOrderRule(SecondOrderGap!);

    /// <summary>
    /// Whether <see cref="GradientTangent"/> reads forward tangents (<see cref="SecondOrderContext.InputTangent"/>,
    /// <see cref="SecondOrderContext.OutputTangent"/>): a smooth step's curvature term does, a rule that only
    /// runs the backward pass on the gradient tangents (linear and piecewise-linear steps) does not. The
    /// second-order pass keeps only the tangents some step reads. Yes unless the step knows better.
    /// </summary>
    public virtual bool ReadsTangentsInSecondOrder => true;

    /// <summary>The error for this step in a second-order pass, naming its node and operator and saying <paramref name="why"/>.</summary>
    internal ModelException NoSecondOrderRule(string why) =>
        new($"{Node.Describe()}: no second-order (Hessian-vector product) rule for {Label}: {why}.");

    /// <summary>
    /// Why <see cref="GradientTangent"/> refuses this step whatever the values, or null when it has a
    /// rule: a step has one when its class overrides <see cref="GradientTangent"/>, and steps whose
    /// rule covers only some configurations (a fused activation that is not piecewise linear) say so
    /// here. Read before a pass (<see cref="Model.CheckHessianVector"/>) so that a method refuses a
    /// model up front; a rule may still refuse, by name, inputs that move in a way it does not cover.
    /// </summary>
    public virtual string? SecondOrderGap =>
        GetType().GetMethod(nameof(GradientTangent))!.DeclaringType == typeof(Step) ? "the operator has none" : null;
}

/// <summary>What a step sees while it runs: its inputs, the backend, and a way to make its outputs.</summary>
public sealed class StepContext
{
    private readonly Tensor?[] _slots;
    private int[] _inputSlots = [];
    private int[] _outputSlots = [];
    private bool _reuseInput;
    private Step? _step;

    internal StepContext(Tensor?[] slots, IKernelBackend backend)
    {
        _slots = slots;
        Backend = backend;
    }

    /// <summary>The backend the plan runs on.</summary>
    public IKernelBackend Backend { get; }

    internal void Bind(Step step, int[] inputSlots, int[] outputSlots, bool reuseInput)
    {
        _step = step;
        _inputSlots = inputSlots;
        _outputSlots = outputSlots;
        _reuseInput = reuseInput;
    }

    /// <summary>The value of input <paramref name="index"/> (read it; it may be shared).</summary>
    public Tensor Input(int index) => _slots[_inputSlots[index]]!;

    /// <summary>A tensor for output <paramref name="index"/>: the dying in-place input when the plan allows it, else fresh storage from the backend's pool.</summary>
    public Tensor Output(int index, ReadOnlySpan<int> shape)
    {
        Tensor tensor;
        if (_reuseInput && index == 0)
        {
            tensor = Input(_step!.InPlaceInput);
        }
        else
        {
            tensor = Tensor.Uninitialized(Backend, shape);
        }

        _slots[_outputSlots[index]] = tensor;
        return tensor;
    }

    /// <summary>Publishes an output made another way (a view of an input).</summary>
    public void SetOutput(int index, Tensor tensor) => _slots[_outputSlots[index]] = tensor;
}
