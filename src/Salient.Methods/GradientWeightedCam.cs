using Salient.Engine;
using Salient.Engine.Graph.Backward;
using Salient.Methods.Internal;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods;

/// <summary>
/// The CAMs weighted by the target's gradient at the layer (Grad-CAM and its relatives): a
/// subclass says how one channel adds to the map (<see cref="AddChannel"/>). With
/// <see cref="ExplainOptions.Denoise"/>, shallow layers' gradients are truncated first (docs/methods.md).
/// </summary>
public abstract class GradientWeightedCam : CamExplainer
{
    /// <inheritdoc cref="CamExplainer(Model, ExplainOptions)"/>
    protected GradientWeightedCam(Model model, ExplainOptions options)
        : base(model, options)
    {
    }

    /// <inheritdoc/>
    protected sealed override bool NeedsGradients => true;

    private protected sealed override IBackwardRules? BackwardRules =>
        Options.Denoise == DenoiseMode.Backprop ? new TruncationRules(Model, Layers, DeepLayer, Options.DenoiseQuantile) : null;

    /// <summary>
    /// Adds channel k's share to <paramref name="map"/> [h·w], from its activations <paramref name="activation"/>
    /// and gradients <paramref name="gradient"/>; <paramref name="scratch"/> is free space of the same size.
    /// </summary>
    protected abstract void AddChannel(ReadOnlySpan<float> activation, ReadOnlySpan<float> gradient, Span<float> map, Span<float> scratch);

    /// <summary>
    /// Whether channel k weighs by the mean of its gradient, w_k = mean(g_k), and adds w_k·A_k (Grad-CAM):
    /// then, without truncation, the map is made on the model's device by backend operations, not by <see cref="AddChannel"/>.
    /// </summary>
    private protected virtual bool WeighsByGradientMean => false;

    /// <inheritdoc/>
    protected sealed override Tensor[] RawMaps(CamLayer layer, int image, IReadOnlyList<int> targets)
    {
        ArgumentNullException.ThrowIfNull(layer);
        var activations = layer.Activations;
        var (k, h, w) = (activations.Dim(1), activations.Dim(2), activations.Dim(3));
        var plane = h * w;
        if (WeighsByGradientMean && Options.Denoise is null)
        {
            var backend = Model.Backend;
            using var weights = Tensor.Uninitialized(backend, k);
            backend.PlaneMeans(k, plane, layer.Gradients!.Data.Slice(image * k * plane, k * plane), weights.Data);
            var map = Tensor.Uninitialized(backend, h, w);
            backend.WeightedSum(k, plane, activations.Data.Slice(image * k * plane, k * plane), weights.Data, map.Data);
            return [map];
        }

        var a = activations.Span.Slice(image * k * plane, k * plane);
        var g = layer.Gradients!.Span.Slice(image * k * plane, k * plane).ToArray();
        if (Options.Denoise is { } denoise && layer.Name != DeepLayer)
        {
            // The backprop mode has already truncated along the way; the layer itself gets floor.
            Truncation.Apply(denoise == DenoiseMode.Backprop ? DenoiseMode.Floor : denoise, Options.DenoiseQuantile, g);
        }

        var raw = Tensor.Zeros(h, w);
        var scratch = new float[plane];
        for (var c = 0; c < k; c++)
        {
            AddChannel(a.Slice(c * plane, plane), g.AsSpan(c * plane, plane), raw.Span, scratch);
        }

        return [raw];
    }
}
