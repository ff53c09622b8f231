using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Backward;

/// <summary>
/// What a step sees during a forward-mode pass (<see cref="Model.Tangent"/>): the recorded forward
/// values, the tangents of its inputs (null for inputs that do not depend on the pass's source), and
/// where to put the tangents of its outputs (<see cref="Step.Tangent"/>).
/// </summary>
public sealed class TangentContext : RecordedStepContext
{
    private readonly Dictionary<string, Tensor> _tangents;

    internal TangentContext(ForwardRecord record, Dictionary<string, Tensor> tangents, IKernelBackend backend)
        : base(record, backend) => _tangents = tangents;

    /// <summary>The tangent of input <paramref name="index"/>, or null where it does not depend on the source (a zero tangent).</summary>
    public Tensor? InputTangent(int index) => _tangents.GetValueOrDefault(Step.Inputs[index]);

    /// <summary>Sets output <paramref name="index"/>'s tangent, taking ownership of it.</summary>
    public void SetOutputTangent(int index, Tensor tangent)
    {
        var name = Step.Outputs[index];
        if (_tangents.Remove(name, out var previous))
        {
            previous.Dispose();
        }

        _tangents[name] = tangent;
    }

    /// <summary>
    /// The tangents of a step linear in all its inputs together (views, copies, concatenation,
    /// average pools, sums): its own forward computation run on the input tangents, zeros standing in
    /// for inputs that do not depend on the source. <paramref name="held"/> inputs keep their forward
    /// values (Where's condition: linear in the other inputs for a fixed one).
    /// </summary>
    internal void Linear(params int[] held)
    {
        var zeros = new List<Tensor>();
        try
        {
            var outputs = RunWith(i =>
            {
                if (held.Contains(i))
                {
                    return Input(i);
                }

                if (InputTangent(i) is { } tangent)
                {
                    return tangent;
                }

                var zero = Tensor.Zeros(Backend, InputShape(i));
                zeros.Add(zero);
                return zero;
            });
            for (var i = 0; i < outputs.Length; i++)
            {
                SetOutputTangent(i, outputs[i]);
            }
        }
        finally
        {
            foreach (var zero in zeros)
            {
                zero.Dispose();
            }
        }
    }

    /// <summary>
    /// The tangent of a step linear in each input alone (matrix products, Einsum): by the product
    /// rule, the sum over dependent inputs of the step run with that input replaced by its tangent.
    /// <paramref name="additive"/> inputs enter as a separate term (a bias, Gemm's C): zeros in the
    /// products, and their own tangent run with every other input zero.
    /// </summary>
    internal void ProductRule(params int[] additive)
    {
        Tensor? sum = null;
        var zeros = new Dictionary<int, Tensor>();
        Tensor Zero(int k)
        {
            if (!zeros.TryGetValue(k, out var zero))
            {
                zero = zeros[k] = Tensor.Zeros(Backend, InputShape(k));
            }

            return zero;
        }

        try
        {
            for (var i = 0; i < Step.Inputs.Length; i++)
            {
                if (InputTangent(i) is not { } tangent)
                {
                    continue;
                }

                var term = RunWith(k => k == i ? tangent : additive.Contains(k) || additive.Contains(i) ? Zero(k) : Input(k))[0];
                if (sum is null)
                {
                    sum = term;
                }
                else
                {
                    Backend.Accumulate(MapFusion.Sum, term.Data, sum.Data);
                    term.Dispose();
                }
            }
        }
        finally
        {
            foreach (var zero in zeros.Values)
            {
                zero.Dispose();
            }
        }

        if (sum is not null)
        {
            SetOutputTangent(0, sum);
        }
    }

    /// <summary>
    /// The tangent of a one-input step whose Jacobian is symmetric (element-wise functions, a
    /// per-channel scale, softmax): its own vector-Jacobian product applied to the input's tangent.
    /// </summary>
    internal void ThroughSymmetricJacobian()
    {
        if (InputTangent(0) is not { } tangent)
        {
            return;
        }

        // The backward pass may overwrite the gradient it is given: give it a copy, the input's tangent may have other readers.
        var gradients = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [Step.Outputs[0]] = tangent.Clone() };
        var context = new BackwardContext(Record, gradients, [], null, Backend);
        context.Bind(Step);
        try
        {
            Step.Backward(context);
            if (gradients.Remove(Step.Inputs[0], out var result))
            {
                SetOutputTangent(0, result);
            }
        }
        finally
        {
            foreach (var spent in gradients.Values)
            {
                spent.Dispose();
            }
        }
    }

    /// <summary>Runs the step's forward computation on other inputs and returns its outputs, each owning its storage.</summary>
    internal Tensor[] RunWith(Func<int, Tensor> input)
    {
        var count = Step.Inputs.Length;
        var slots = new Tensor?[count + Step.Outputs.Length];
        for (var i = 0; i < count; i++)
        {
            slots[i] = input(i);
        }

        var context = new StepContext(slots, Backend);
        context.Bind(Step, [.. Enumerable.Range(0, count)], [.. Enumerable.Range(count, Step.Outputs.Length)], reuseInput: false);
        try
        {
            Step.Run(context);
        }
        catch
        {
            for (var i = count; i < slots.Length; i++)
            {
                slots[i]?.Dispose();
            }

            throw;
        }

        // A view (a reshape) shares its input's storage; the tangent gets its own, since the input's may go first.
        return [.. slots.Skip(count).Select(t => t!.OwnsStorage ? t : t.Clone())];
    }
}
