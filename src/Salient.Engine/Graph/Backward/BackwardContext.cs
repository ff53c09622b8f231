using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Backward;

/// <summary>What a step sees during the backward pass: forward values, the gradient of its outputs, and where to put its input gradients.</summary>
internal sealed class BackwardContext
{
    private readonly ForwardRecord _record;
    private readonly Dictionary<string, Tensor> _gradients;
    private Step _step = null!;

    public BackwardContext(ForwardRecord record, Dictionary<string, Tensor> gradients, IKernelBackend backend)
    {
        _record = record;
        _gradients = gradients;
        Backend = backend;
    }

    public IKernelBackend Backend { get; }

    public Step Step => _step;

    internal void Bind(Step step) => _step = step;

    /// <summary>The forward value of input <paramref name="index"/>.</summary>
    public Tensor Input(int index) => _record.Value(_step.Inputs[index]);

    /// <summary>The forward value of output <paramref name="index"/>.</summary>
    public Tensor Output(int index) => _record.Value(_step.Outputs[index]);

    /// <summary>The gradient arriving at output <paramref name="index"/>, or null when none does.</summary>
    public Tensor? OutputGradient(int index) => _gradients.GetValueOrDefault(_step.Outputs[index]);

    /// <summary>Whether input <paramref name="index"/> needs a gradient (it lies on a path from a requested value).</summary>
    public bool NeedsGradient(int index) => _record.Region.Values.Contains(_step.Inputs[index]);

    /// <summary>Adds <paramref name="gradient"/> to input <paramref name="index"/>'s gradient, taking ownership of it.</summary>
    public void AddGradient(int index, Tensor gradient)
    {
        var name = _step.Inputs[index];
        if (!_gradients.TryGetValue(name, out var existing))
        {
            _gradients[name] = gradient;
            return;
        }

        System.Numerics.Tensors.TensorPrimitives.Add(existing.Span, gradient.Span, existing.Span);
        gradient.Dispose();
    }
}
