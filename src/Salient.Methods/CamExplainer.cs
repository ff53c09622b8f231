using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Engine.Kernels;
using Salient.Engine.Graph.Backward;
using Salient.Methods.Internal;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods;

/// <summary>What a CAM method sees of one layer for one batch.</summary>
/// <param name="Name">The layer's ONNX value name.</param>
/// <param name="Batch">The input batch [N,C,H,W].</param>
/// <param name="Logits">The batch's logits [N, classes].</param>
/// <param name="Activations">The layer's activations [N,K,h,w].</param>
/// <param name="Gradients">The target's gradient at the layer [N,K,h,w] when the method asked for gradients (<see cref="CamExplainer.NeedsGradients"/>), else null.</param>
public sealed record CamLayer(string Name, Tensor Batch, Tensor Logits, Tensor Activations, Tensor? Gradients);

/// <summary>
/// The base of the CAM family: a map per layer at the layer's resolution, made by the method
/// (<see cref="RawMaps"/>), then the project's post-processing: relu, min-max, half-pixel bilinear
/// resize to the input, fusion of several layers, min-max again (docs/methods.md). Layers are ONNX
/// value names; the default is the last 4-D activation before global pooling.
/// </summary>
public abstract class CamExplainer : Explainer
{
    /// <summary>Resolves the layers of <paramref name="options"/> (throwing <see cref="ArgumentException"/> listing the valid ones for an unknown name).</summary>
    protected CamExplainer(Model model, ExplainOptions options)
        : this(model, options, new Architecture(model, options.Reshape))
    {
    }

    private CamExplainer(Model model, ExplainOptions options, Architecture architecture)
        : base(model, options, architecture.ResolveLayers(options.Layers))
    {
        Architecture = architecture;
        DeepLayer = architecture.DefaultLayer();
    }

    /// <summary>The default layer, the deepest a CAM uses (denoising leaves it untouched).</summary>
    protected string DeepLayer { get; }

    /// <summary>True for methods weighted by gradients: every target then gets a backward pass to the layers, and <see cref="CamLayer.Gradients"/> is set.</summary>
    protected virtual bool NeedsGradients => false;

    /// <summary>Rules that change the backward pass to the layers (gradient methods only), or null.</summary>
    private protected virtual IBackwardRules? BackwardRules => null;

    private protected Architecture Architecture { get; }

    private LayerFusion Fusion => Options.Fuse ?? (Options.Denoise is null ? LayerFusion.Mean : LayerFusion.Max);

    /// <summary>
    /// The raw maps [h,w] of image <paramref name="image"/> at <paramref name="layer"/>, one per
    /// target, in order (a single target when <see cref="NeedsGradients"/>: the gradients are that target's).
    /// </summary>
    protected abstract Tensor[] RawMaps(CamLayer layer, int image, IReadOnlyList<int> targets);

    /// <inheritdoc/>
    protected override void Run(Tensor batch, TargetSelection selection, List<Explanation> results)
    {
        if (NeedsGradients)
        {
            RunWithGradients(batch, selection, results);
            return;
        }

        var observed = Model.Forward(batch, [.. Layers]);
        try
        {
            var logits = observed[Model.OutputNames[0]];
            var targets = SelectTargets(logits, selection);
            for (var b = 0; b < targets.Length; b++)
            {
                var perTarget = targets[b].Select(_ => new List<(Tensor Raw, Tensor Map)>()).ToArray();
                foreach (var layer in Layers)
                {
                    using var activations = Architecture.Maps(layer, observed[layer]);
                    var raws = RawMaps(new CamLayer(layer, batch, logits, activations.Value, null), b, targets[b]);
                    for (var t = 0; t < raws.Length; t++)
                    {
                        perTarget[t].Add((raws[t], LayerMap(raws[t], batch)));
                    }
                }

                for (var t = 0; t < perTarget.Length; t++)
                {
                    results.Add(Combine(logits, b, targets[b][t], perTarget[t]));
                }
            }
        }
        finally
        {
            foreach (var tensor in observed.Values)
            {
                tensor.Dispose();
            }
        }
    }

    private void RunWithGradients(Tensor batch, TargetSelection selection, List<Explanation> results)
    {
        var rules = BackwardRules;
        // Rules that hook values need every activation as a step of its own.
        using var record = Model.RecordForward(batch, Layers, Layers, fuseInRegion: rules is null);
        var logits = record.Value(Model.OutputNames[0]);
        var targets = SelectTargets(logits, selection);
        var slots = targets.Max(t => t.Count);
        var gradientsOf = LayerGradients(record, selection, targets, rules);
        for (var slot = 0; slot < slots; slot++)
        {
            var gradients = gradientsOf(slot);
            try
            {
                for (var b = 0; b < targets.Length; b++)
                {
                    if (slot >= targets[b].Count)
                    {
                        continue;
                    }

                    var layers = new List<(Tensor Raw, Tensor Map)>();
                    foreach (var layer in Layers)
                    {
                        using var activations = Architecture.Maps(layer, record.Value(layer));
                        using var gradient = Architecture.Maps(layer, gradients[layer]);
                        var raw = RawMaps(new CamLayer(layer, batch, logits, activations.Value, gradient.Value), b, [targets[b][slot]])[0];
                        layers.Add((raw, LayerMap(raw, batch)));
                    }

                    results.Add(Combine(logits, b, targets[b][slot], layers));
                }
            }
            finally
            {
                foreach (var g in gradients.Values)
                {
                    g.Dispose();
                }
            }
        }
    }

    /// <summary>
    /// The gradients at the layers for each target slot of a recorded batch, as a function of the slot
    /// (its result, by layer, is the caller's to dispose): one backward pass of the seeded score per slot,
    /// unless a method changes them (Shapley-CAM adds a Hessian term that is the same for every slot).
    /// </summary>
    private protected virtual Func<int, Dictionary<string, Tensor>> LayerGradients(ForwardRecord record, TargetSelection selection, IReadOnlyList<int>[] targets, IBackwardRules? rules)
    {
        ArgumentNullException.ThrowIfNull(record);
        var logits = record.Value(Model.OutputNames[0]);
        return slot => Model.Backward(record, SeedFor(logits, selection, targets, slot), Layers, rules);
    }

    /// <summary>Σ_k w_k·A_k for image <paramref name="image"/> of <paramref name="activations"/> [N,K,h,w]: a new [h,w] map on the model's device.</summary>
    protected Tensor WeightedSum(Tensor activations, int image, ReadOnlySpan<float> weights)
    {
        ArgumentNullException.ThrowIfNull(activations);
        var (k, h, w) = (activations.Dim(1), activations.Dim(2), activations.Dim(3));
        var plane = h * w;
        // The K weights are a host parameter (caller memory, which a device backend uploads with the sum).
        var raw = Tensor.Uninitialized(Model.Backend, h, w);
        Model.Backend.WeightedSum(k, plane, activations.Data.Slice(image * k * plane, k * plane), BufferView.Host(weights.ToArray()), raw.Data);
        return raw;
    }

    /// <summary>
    /// One layer's map at input resolution, as pytorch-grad-cam makes it: relu, min-max at the
    /// layer's resolution, resize. With denoising, the integration of docs/methods.md instead: relu, divide by
    /// max + 1e-5, optional tanh(2·M), resize. <see cref="Combine"/> then fuses and min-maxes again.
    /// </summary>
    private Tensor LayerMap(Tensor raw, Tensor batch)
    {
        var backend = Model.Backend;
        using var normalised = Tensor.Uninitialized(backend, raw.Shape);
        backend.Map(new MapFunction(MapFunctionKind.Relu), raw.Data, normalised.Data);
        if (Options.Denoise is null)
        {
            MapMath.MinMax(backend, normalised);
        }
        else
        {
            MapMath.DivideByMax(backend, normalised, 1e-5f);
            if (Options.DenoiseTanh)
            {
                backend.Map(new MapFunction(MapFunctionKind.ScaledTanh, 2f), normalised.Data, normalised.Data);
            }
        }

        return MapMath.Resize(backend, normalised, batch.Dim(2), batch.Dim(3));
    }

    /// <summary>Fuses the layers' maps, renormalises, and keeps the last layer's raw map.</summary>
    private Explanation Combine(Tensor logits, int b, int targetClass, List<(Tensor Raw, Tensor Map)> layers)
    {
        for (var i = 0; i < layers.Count - 1; i++)
        {
            layers[i].Raw.Dispose();
        }

        var map = MapMath.Fuse(Model.Backend, [.. layers.Select(l => l.Map)], Fusion);
        MapMath.MinMax(Model.Backend, map);
        return Result(logits, b, targetClass, layers[^1].Raw, map);
    }
}
