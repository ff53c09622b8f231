using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Backward;

/// <summary>
/// What a step (or a backward rule standing in for it) sees during the backward pass: forward
/// values, the gradient of its outputs, and where to put its input gradients.
/// </summary>
public sealed class BackwardContext : RecordedStepContext
{
    private readonly Dictionary<string, Tensor> _gradients;
    private readonly IReadOnlyCollection<string> _wanted;
    private readonly IBackwardRules? _rules;
    private readonly Func<int, Tensor?>? _replacedInput;

    // replacedInput: inputs the step's backward pass reads in place of their forward values (null:
    // the forward value), for the second-order pass's curvature terms (SecondOrderContext).
    internal BackwardContext(ForwardRecord record, Dictionary<string, Tensor> gradients, IReadOnlyCollection<string> wanted, IBackwardRules? rules,
        IKernelBackend backend, Func<int, Tensor?>? replacedInput = null)
        : base(record, backend)
    {
        _replacedInput = replacedInput;
        _gradients = gradients;
        _wanted = wanted;
        _rules = rules;
    }

    private protected override Tensor? ReplacedInput(int index) => _replacedInput?.Invoke(index);

    /// <summary>The gradient arriving at output <paramref name="index"/>, or null when none does.</summary>
    public Tensor? OutputGradient(int index) => _gradients.GetValueOrDefault(Step.Outputs[index]);

    /// <summary>
    /// Storage for an input gradient shaped like output <paramref name="index"/>, which element-wise
    /// rules may write in place over that output's gradient: the gradient itself when the pass would
    /// free it after this step anyway, fresh storage when the caller asked for it.
    /// </summary>
    public Tensor ReuseOutputGradient(int index) =>
        TryTakeOutputGradient(index) ?? Tensor.Uninitialized(Backend, OutputShape(index));

    /// <summary>Output <paramref name="index"/>'s gradient to pass on unchanged: taken over when the pass would free it after this step, else a copy.</summary>
    public Tensor TakeOutputGradient(int index) =>
        TryTakeOutputGradient(index) ?? _gradients[Step.Outputs[index]].Clone();

    private Tensor? TryTakeOutputGradient(int index)
    {
        var name = Step.Outputs[index];
        return !_wanted.Contains(name) && _gradients.Remove(name, out var gradient) ? gradient : null;
    }

    /// <summary>
    /// The gradient at the step's result before its fused <paramref name="activation"/> (a ReLU or
    /// Clip, judged from the output; the rules have their say), or null when no gradient arrives.
    /// With no activation that is output 0's gradient itself; otherwise the caller owns it
    /// (<see cref="PreActivationGradient.Owned"/>) and disposes it.
    /// </summary>
    public PreActivationGradient? GradientBeforeActivation(in FusedActivation activation)
    {
        if (OutputGradient(0) is not { } gradient)
        {
            return null;
        }

        if (activation.Kind == ActivationKind.None)
        {
            return new PreActivationGradient(gradient, false);
        }

        var result = ReuseOutputGradient(0);
        var output = Output(0).Data;
        if (_rules is null)
        {
            Backend.ActivateBackward(activation, output, output, gradient.Data, result.Data);
        }
        else
        {
            _rules.ActivationBackward(activation, output, gradient.Data, result.Data, Backend);
        }

        return new PreActivationGradient(result, true);
    }

    /// <summary>Adds <paramref name="gradient"/> to input <paramref name="index"/>'s gradient, taking ownership of it.</summary>
    public void AddGradient(int index, Tensor gradient) => AddToInput(_gradients, index, gradient);
}

/// <summary>A step's gradient before its fused activation, and whether the step owns (and disposes) it.</summary>
public readonly record struct PreActivationGradient(Tensor Gradient, bool Owned) : IDisposable
{
    /// <summary>Disposes the gradient when the step owns it.</summary>
    public void Dispose()
    {
        if (Owned)
        {
            Gradient.Dispose();
        }
    }
}
