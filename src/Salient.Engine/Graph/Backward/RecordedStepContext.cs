using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Backward;

/// <summary>
/// What a step sees of a recorded forward pass in every pass that runs over the record: the
/// backward pass (<see cref="BackwardContext"/>), the forward-mode pass (<see cref="TangentContext"/>)
/// and the second-order pass (<see cref="SecondOrderContext"/>). One set of accessors, so that a
/// step's rules read its values and shapes the same way in each.
/// </summary>
public abstract class RecordedStepContext
{
    private Step _step = null!;

    private protected RecordedStepContext(ForwardRecord record, IKernelBackend backend)
    {
        Record = record;
        Backend = backend;
    }

    /// <summary>The backend the model runs on.</summary>
    public IKernelBackend Backend { get; }

    /// <summary>The step the pass is at.</summary>
    public Step Step => _step;

    private protected ForwardRecord Record { get; }

    internal void Bind(Step step) => _step = step;

    /// <summary>The forward value of input <paramref name="index"/> (a recorded value, the input, or a constant).</summary>
    public Tensor Input(int index) => ReplacedInput(index) ?? Record.Value(_step.Inputs[index]);

    /// <summary>The forward value of output <paramref name="index"/>.</summary>
    public Tensor Output(int index) => Record.Value(_step.Outputs[index]);

    /// <summary>The shape of input <paramref name="index"/>, kept by the record or not (<see cref="ForwardRecord.ShapeOf"/>).</summary>
    public int[] InputShape(int index) => Record.ShapeOf(_step.Inputs[index]);

    /// <summary>The shape of output <paramref name="index"/>.</summary>
    public int[] OutputShape(int index) => Record.ShapeOf(_step.Outputs[index]);

    /// <summary>Whether input <paramref name="index"/> needs a gradient: it lies on a path from one of the record's gradient sources to the logits.</summary>
    public bool NeedsGradient(int index) => Record.Region.Values.Contains(_step.Inputs[index]);

    /// <summary>
    /// Adds <paramref name="term"/> to what <paramref name="sums"/> holds for input <paramref name="index"/>,
    /// taking ownership of it: the first term is kept as the sum, later ones are added into it and disposed.
    /// </summary>
    private protected void AddToInput(Dictionary<string, Tensor> sums, int index, Tensor term)
    {
        var name = _step.Inputs[index];
        if (!sums.TryGetValue(name, out var existing))
        {
            sums[name] = term;
            return;
        }

        Backend.Accumulate(MapFusion.Sum, term.Data, existing.Data);
        term.Dispose();
    }

    /// <summary>An input the pass reads in place of its forward value, or null for the forward value.</summary>
    private protected virtual Tensor? ReplacedInput(int index) => null;
}
