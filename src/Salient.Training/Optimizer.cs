using System.Numerics.Tensors;

namespace Salient.Training;

/// <summary>
/// Updates tensors from their gradients. State (momentum, moments) is kept per key, so one
/// optimizer can serve model parameters and outside tensors alike (the CSG gate), and saved in
/// checkpoints. Weight decay is PyTorch's: L2 added to the gradient (coupled).
/// </summary>
public abstract class Optimizer
{
    private readonly Dictionary<string, float[][]> _state = new(StringComparer.Ordinal);

    protected Optimizer(float weightDecay)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(weightDecay);
        WeightDecay = weightDecay;
    }

    public float WeightDecay { get; }

    /// <summary>How many steps have been taken (Adam's bias correction counts them).</summary>
    public long Steps { get; private set; }

    /// <summary>"sgd" or "adam", as checkpoints record it.</summary>
    public abstract string Kind { get; }

    /// <summary>Starts one optimization step; call before the <see cref="Update"/> calls of that step.</summary>
    public void BeginStep() => Steps++;

    /// <summary>Updates <paramref name="value"/> in place from <paramref name="gradient"/> at <paramref name="learningRate"/>.</summary>
    public void Update(string key, Span<float> value, ReadOnlySpan<float> gradient, float learningRate)
    {
        if (value.Length != gradient.Length)
        {
            throw new ArgumentException($"Optimizer: '{key}' has {value.Length} values but {gradient.Length} gradients.");
        }

        if (!_state.TryGetValue(key, out var state))
        {
            state = new float[SlotsPerTensor][];
            for (var slot = 0; slot < state.Length; slot++)
            {
                state[slot] = new float[value.Length];
            }

            _state[key] = state;
        }

        var scratch = System.Buffers.ArrayPool<float>.Shared.Rent(value.Length);
        try
        {
            var g = scratch.AsSpan(0, value.Length);
            gradient.CopyTo(g);
            if (WeightDecay > 0)
            {
                TensorPrimitives.MultiplyAdd(value, WeightDecay, g, g);
            }

            Apply(value, g, state, learningRate);
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>The per-key state, for checkpoints: key → slot arrays.</summary>
    public IReadOnlyDictionary<string, float[][]> State => _state;

    /// <summary>Restores <see cref="State"/> and the step count from a checkpoint.</summary>
    public void Restore(long steps, IReadOnlyDictionary<string, float[][]> state)
    {
        Steps = steps;
        _state.Clear();
        foreach (var (key, slots) in state)
        {
            if (slots.Length != SlotsPerTensor)
            {
                throw new InvalidDataException($"Optimizer state for '{key}' has {slots.Length} slots; {Kind} keeps {SlotsPerTensor}.");
            }

            _state[key] = slots;
        }
    }

    protected abstract int SlotsPerTensor { get; }

    /// <summary>The update proper, with weight decay already in <paramref name="gradient"/> (which it may overwrite).</summary>
    protected abstract void Apply(Span<float> value, Span<float> gradient, float[][] state, float learningRate);
}

/// <summary>SGD with momentum (PyTorch's form: v = μv + g; p −= lr·v, or lr·(g + μv) with Nesterov).</summary>
public sealed class SgdOptimizer(float momentum = 0.9f, bool nesterov = false, float weightDecay = 0f) : Optimizer(weightDecay)
{
    public override string Kind => "sgd";

    protected override int SlotsPerTensor => 1;

    protected override void Apply(Span<float> value, Span<float> gradient, float[][] state, float learningRate)
    {
        if (momentum == 0f)
        {
            TensorPrimitives.MultiplyAdd(gradient, -learningRate, value, value);
            return;
        }

        // The buffer starts at zero, so the first step's velocity is the gradient, as in PyTorch.
        var velocity = state[0].AsSpan();
        TensorPrimitives.MultiplyAdd(velocity, momentum, gradient, velocity);

        if (nesterov)
        {
            TensorPrimitives.MultiplyAdd(velocity, momentum, gradient, gradient);
            TensorPrimitives.MultiplyAdd(gradient, -learningRate, value, value);
        }
        else
        {
            TensorPrimitives.MultiplyAdd(velocity, -learningRate, value, value);
        }
    }
}

/// <summary>Adam (Kingma and Ba), with PyTorch's bias correction and ε outside the square root.</summary>
public sealed class AdamOptimizer(float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0f) : Optimizer(weightDecay)
{
    public override string Kind => "adam";

    protected override int SlotsPerTensor => 2;

    protected override void Apply(Span<float> value, Span<float> gradient, float[][] state, float learningRate)
    {
        var m = state[0].AsSpan();
        var v = state[1].AsSpan();
        var correction1 = 1 - Math.Pow(beta1, Steps);
        var correction2 = 1 - Math.Pow(beta2, Steps);
        var stepSize = (float)(learningRate / correction1);
        var rootCorrection2 = (float)Math.Sqrt(correction2);
        for (var i = 0; i < value.Length; i++)
        {
            var g = gradient[i];
            m[i] = (beta1 * m[i]) + ((1 - beta1) * g);
            v[i] = (beta2 * v[i]) + ((1 - beta2) * g * g);
            value[i] -= stepSize * m[i] / ((MathF.Sqrt(v[i]) / rootCorrection2) + epsilon);
        }
    }
}
