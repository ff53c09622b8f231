using System.Numerics.Tensors;
using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;
using Salient.Methods.Internal;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods;

/// <summary>
/// The base of the attributions at the input: per image and target, the gradient of the target's
/// logit with respect to the input [C,H,W] (through the method's backward rules), optionally
/// averaged over noisy copies (SmoothGrad); the map is max over channels of |raw|, divided by its
/// maximum. Every image of a batch gets its own targets.
/// </summary>
public abstract class GradientExplainer : Explainer
{
    /// <summary>A gradient method on <paramref name="model"/> that uses no layer.</summary>
    protected GradientExplainer(Model model, ExplainOptions options)
        : base(model, options, [])
    {
    }

    /// <summary>A gradient method that also uses layers (resolved by the caller).</summary>
    private protected GradientExplainer(Model model, ExplainOptions options, IReadOnlyList<string> layers)
        : base(model, options, layers)
    {
    }

    /// <summary>When true the attribution is the gradient times the input (gradient×input).</summary>
    protected virtual bool TimesInput => false;

    /// <summary>
    /// What the noisy copies' attributions are reduced to: their mean (SmoothGrad, with
    /// <see cref="ExplainOptions.SmoothSamples"/> &gt; 0), or always, over <see cref="DefaultNoiseSamples"/>
    /// copies unless <see cref="ExplainOptions.SmoothSamples"/> says otherwise, their mean square (SmoothGrad²) or variance (VarGrad).
    /// </summary>
    private protected virtual NoiseStatistic Statistic => NoiseStatistic.Mean;

    /// <summary>Noisy copies of SmoothGrad² and VarGrad when <see cref="ExplainOptions.SmoothSamples"/> is 0.</summary>
    public const int DefaultNoiseSamples = 16;

    /// <summary>The rules that change the backward pass (guided backprop, TSGB), or null for plain gradients.</summary>
    private protected virtual IBackwardRules? Rules => null;

    // Plain gradients and guided backprop see a ReLU fused into its convolution, batch norm or Add
    // as well as a separate one; TSGB's rules need every activation as a step.
    private bool FusesInRegion => Rules?.AllowsFusedSteps ?? true;

    /// <inheritdoc/>
    protected override void Run(Tensor batch, TargetSelection selection, List<Explanation> results)
    {
        var (raws, logits, targets) = Options.SmoothSamples > 0 || Statistic != NoiseStatistic.Mean ? Smoothed(batch, selection) : Attribute(batch, selection);
        try
        {
            Weigh(batch, selection, targets, raws);
            for (var b = 0; b < targets.Length; b++)
            {
                for (var t = 0; t < targets[b].Count; t++)
                {
                    var attribution = raws[b][t]!;
                    raws[b][t] = null;
                    Tensor? raw = null;
                    try
                    {
                        raw = Finish(batch, b, attribution);
                        results.Add(Result(logits, b, targets[b][t], raw, MapOf(raw)));
                    }
                    catch
                    {
                        raw?.Dispose();
                        throw;
                    }
                    finally
                    {
                        if (!ReferenceEquals(raw, attribution))
                        {
                            attribution.Dispose();
                        }
                    }
                }
            }
        }
        finally
        {
            logits.Dispose();
            foreach (var t in raws.SelectMany(r => r))
            {
                t?.Dispose();
            }
        }
    }

    /// <summary>
    /// The raw map of image <paramref name="image"/> from its attribution [C,H,W]: the attribution
    /// itself unless a method reduces it (returning a new tensor; the base disposes the attribution).
    /// </summary>
    protected virtual Tensor Finish(Tensor batch, int image, Tensor attribution) => attribution;

    /// <summary>The map [H,W] in [0, 1] from the raw map: max over channels of |raw|, divided by its maximum (+1e-10).</summary>
    protected virtual Tensor MapOf(Tensor raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        return MapMath.ChannelMaxAbs(Model.Backend, raw);
    }

    /// <summary>Changes the attributions [C,H,W] of every image and target in place before they are finished (Guided Grad-CAM weights them by a CAM).</summary>
    private protected virtual void Weigh(Tensor batch, TargetSelection selection, IReadOnlyList<int>[] targets, Tensor?[][] attributions)
    {
    }

    /// <summary>Per image and target, the attribution [C,H,W] of the method at <paramref name="input"/>, with the logits and targets of that input.</summary>
    private protected virtual (Tensor?[][] Raws, Tensor Logits, IReadOnlyList<int>[] Targets) Attribute(Tensor input, TargetSelection selection)
    {
        using var record = Model.RecordForward(input, [Model.InputName], [], FusesInRegion);
        var logits = record.Value(Model.OutputNames[0]).Clone();
        var targets = SelectTargets(logits, selection);
        return (InputGradients(record, logits, selection, targets, times: TimesInput ? input : null), logits, targets);
    }

    /// <summary>Records a forward pass of <paramref name="input"/> that input gradients can be taken from, fused as the rules allow.</summary>
    private protected ForwardRecord RecordForInput(Tensor input) => Model.RecordForward(input, [Model.InputName], [], FusesInRegion);

    /// <summary>Backward passes from the logits to the input, one per target slot, batched over images (the first <c>targets.Length</c> of the record's).</summary>
    private protected Tensor?[][] InputGradients(ForwardRecord record, Tensor logits, TargetSelection selection, IReadOnlyList<int>[] targets, Tensor? times)
    {
        var raws = targets.Select(t => new Tensor?[t.Count]).ToArray();
        var backend = Model.Backend;
        var perImage = record.Input.Length / record.Input.Dim(0);
        var factor = times?.To(backend);
        int[] imageShape = [.. record.Input.Shape[1..]];
        var slots = targets.Max(t => t.Count);
        for (var slot = 0; slot < slots; slot++)
        {
            var gradients = Model.Backward(record, SeedFor(logits, selection, targets, slot), [Model.InputName], Rules);
            using var gradient = gradients[Model.InputName];
            for (var b = 0; b < targets.Length; b++)
            {
                if (slot < targets[b].Count)
                {
                    var raw = Tensor.Uninitialized(backend, imageShape);
                    var image = gradient.Data.Slice(b * perImage, perImage);
                    if (factor is null)
                    {
                        backend.Copy(image, raw.Data);
                    }
                    else
                    {
                        backend.Binary(BinaryOp.Mul, image, imageShape, factor.Data.Slice(b * perImage, perImage), imageShape, raw.Data, imageShape);
                    }

                    raws[b][slot] = raw;
                }
            }
        }

        if (factor is not null && !ReferenceEquals(factor, times))
        {
            factor.Dispose();
        }

        return raws;
    }

    /// <summary>
    /// SmoothGrad and its relatives: the attribution over noisy copies of the input, reduced by
    /// <see cref="Statistic"/>; noise σ = level × each image's value range; targets come from the clean
    /// input. Copy s adds the same standard-normal pattern to every image, scaled by its σ: stream s of
    /// the counter-based generator under <see cref="ExplainOptions.Seed"/> (<see cref="IKernelBackend.FillNormal"/>),
    /// so an image's result depends neither on the other images of the batch nor on how it is split. The
    /// pattern is drawn on the device, the batch goes there once and the noisy copies are made there.
    /// </summary>
    private (Tensor?[][] Raws, Tensor Logits, IReadOnlyList<int>[] Targets) Smoothed(Tensor batch, TargetSelection selection)
    {
        var backend = Model.Backend;
        var clean = batch.To(backend);
        try
        {
            var logits = Model.Forward(clean);
            var targets = SelectTargets(logits, selection);
            var perImage = batch.Length / batch.Dim(0);
            var sigmas = Enumerable.Range(0, batch.Dim(0)).Select(b =>
            {
                var image = batch.Span.Slice(b * perImage, perImage);
                return Options.SmoothNoise * (TensorPrimitives.Max(image) - TensorPrimitives.Min(image));
            }).ToArray();
            var scales = BufferView.Host(sigmas);

            var samples = Options.SmoothSamples > 0 ? Options.SmoothSamples : DefaultNoiseSamples;
            var fixedTargets = selection.Pinned(targets);
            using var pattern = Tensor.Uninitialized(backend, [perImage]);
            Tensor?[][]? sum = null;
            Tensor?[][]? squares = null;
            for (var s = 0; s < samples; s++)
            {
                backend.FillNormal(NoiseSeed, (ulong)s, 0f, 1f, pattern.Data);
                using var noisy = Tensor.Uninitialized(backend, batch.Shape);
                backend.Copy(clean.Data, noisy.Data);
                backend.AddScaled(pattern.Data, scales, noisy.Data);

                var (raws, noisyLogits, _) = Attribute(noisy, fixedTargets);
                noisyLogits.Dispose();
                if (Statistic != NoiseStatistic.Mean)
                {
                    var squared = raws.Select(r => r.Select(t => (Tensor?)Square(t!)).ToArray()).ToArray();
                    squares = Accumulate(squares, squared);
                }

                sum = Accumulate(sum, raws);
            }

            return (Reduce(sum!, squares, samples), logits, targets);
        }
        finally
        {
            if (!ReferenceEquals(clean, batch))
            {
                clean.Dispose();
            }
        }
    }

    /// <summary>The key of the counter-based generator (<see cref="IKernelBackend.FillNormal"/>) for <see cref="ExplainOptions.Seed"/>.</summary>
    private protected ulong NoiseSeed => unchecked((uint)Options.Seed);

    // The noisy copies' sums (and sums of squares) become the statistic, in the sums' tensors.
    private Tensor?[][] Reduce(Tensor?[][] sum, Tensor?[][]? squares, int samples)
    {
        Average(sum, samples);
        if (Statistic == NoiseStatistic.Mean)
        {
            return sum;
        }

        var backend = Model.Backend;
        Average(squares!, samples);
        for (var b = 0; b < sum.Length; b++)
        {
            for (var t = 0; t < sum[b].Length; t++)
            {
                // E[a²] − E[a]² for VarGrad, E[a²] for SmoothGrad²; written into the mean's tensor.
                var mean = sum[b][t]!;
                using var square = squares![b][t]!;
                if (Statistic == NoiseStatistic.Variance)
                {
                    backend.Map(new MapFunction(MapFunctionKind.Square), mean.Data, mean.Data);
                    backend.Binary(BinaryOp.Sub, square.Data, mean.Shape, mean.Data, mean.Shape, mean.Data, mean.Shape);
                }
                else
                {
                    backend.Copy(square.Data, mean.Data);
                }
            }
        }

        return sum;
    }

    // a² elementwise, a new tensor on a's device.
    private Tensor Square(Tensor a)
    {
        var squared = Tensor.Uninitialized(Model.Backend, a.Shape);
        Model.Backend.Map(new MapFunction(MapFunctionKind.Square), a.Data, squared.Data);
        return squared;
    }

    /// <summary>Divides every attribution of <paramref name="sum"/> by <paramref name="count"/> in place on the model's device: the mean of the summed samples.</summary>
    private protected Tensor?[][] Average(Tensor?[][] sum, int count)
    {
        var average = new MapFunction(MapFunctionKind.Scale, 1f / count);
        foreach (var raw in sum.SelectMany(r => r))
        {
            Model.Backend.Map(average, raw!.Data, raw.Data);
        }

        return sum;
    }

    /// <summary>Adds <paramref name="more"/> into <paramref name="sum"/> (taking it when null) on the model's device, disposing <paramref name="more"/>.</summary>
    private protected Tensor?[][] Accumulate(Tensor?[][]? sum, Tensor?[][] more)
    {
        if (sum is null)
        {
            return more;
        }

        for (var b = 0; b < sum.Length; b++)
        {
            for (var t = 0; t < sum[b].Length; t++)
            {
                Model.Backend.Accumulate(MapFusion.Sum, more[b][t]!.Data, sum[b][t]!.Data);
                more[b][t]!.Dispose();
            }
        }

        return sum;
    }
}

/// <summary>What SmoothGrad's noisy copies of an attribution are reduced to.</summary>
internal enum NoiseStatistic
{
    /// <summary>The mean (SmoothGrad).</summary>
    Mean,

    /// <summary>The mean of the squares (SmoothGrad²).</summary>
    MeanSquare,

    /// <summary>The variance, mean of the squares minus the square of the mean (VarGrad).</summary>
    Variance,
}
