using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;
using Salient.Methods.Internal;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods;

/// <summary>
/// The CAMs weighted by the target's gradient at the layer (Grad-CAM and its relatives): a
/// subclass says how the channels combine into the map (<see cref="CombineChannels"/>), with backend
/// operations, so the map is made on the model's device. With <see cref="ExplainOptions.Denoise"/>,
/// shallow layers' gradients are truncated first, on the device too (docs/methods.md).
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
    /// Writes one image's raw map [h·w] to <paramref name="map"/> from its <paramref name="activations"/> and
    /// <paramref name="gradients"/> at the layer, <paramref name="channels"/> planes of <paramref name="plane"/> values
    /// each on <paramref name="backend"/>'s device (the gradients already truncated under denoising), with that
    /// backend's operations, e.g. <see cref="IKernelBackend.ChannelProductSum"/> or <see cref="WeighChannels"/>.
    /// </summary>
    protected abstract void CombineChannels(IKernelBackend backend, int channels, int plane, BufferView activations, BufferView gradients, BufferView map);

    /// <summary>Σ_k w_k·A_k with the weights w_k by <paramref name="weighting"/>: the map of the CAMs that weigh whole channels.</summary>
    protected static void WeighChannels(IKernelBackend backend, ChannelWeighting weighting, int channels, int plane, BufferView activations,
        BufferView gradients, BufferView map)
    {
        ArgumentNullException.ThrowIfNull(backend);
        using var weights = Tensor.Uninitialized(backend, channels);
        backend.ChannelWeights(weighting, channels, plane, activations, gradients, weights.Data);
        backend.WeightedSum(channels, plane, activations, weights.Data, map);
    }

    /// <inheritdoc/>
    protected sealed override Tensor[] RawMaps(CamLayer layer, int image, IReadOnlyList<int> targets)
    {
        ArgumentNullException.ThrowIfNull(layer);
        var backend = Model.Backend;
        var activations = layer.Activations;
        var (k, h, w) = (activations.Dim(1), activations.Dim(2), activations.Dim(3));
        var plane = h * w;
        var a = activations.Data.Slice(image * k * plane, k * plane);
        var g = layer.Gradients!.Data.Slice(image * k * plane, k * plane);
        using var truncated = Options.Denoise is { } denoise && layer.Name != DeepLayer ? Truncated(denoise, g) : null;
        var map = Tensor.Uninitialized(backend, h, w);
        try
        {
            CombineChannels(backend, k, plane, a, truncated?.Data ?? g, map.Data);
        }
        catch
        {
            map.Dispose();
            throw;
        }

        return [map];
    }

    // A shallow layer's gradients of one image, truncated on the device (docs/methods.md). The backprop mode has already
    // truncated along the way; the layer itself gets floor.
    private Tensor Truncated(DenoiseMode mode, BufferView gradients)
    {
        var backend = Model.Backend;
        var truncated = Tensor.Uninitialized(backend, gradients.Length);
        if (mode == DenoiseMode.Rectify)
        {
            backend.Map(new MapFunction(MapFunctionKind.Relu), gradients, truncated.Data);
            return truncated;
        }

        backend.Copy(gradients, truncated.Data);
        var truncation = mode == DenoiseMode.Ceil ? QuantileTruncation.Ceil : QuantileTruncation.Floor;
        backend.TruncatePositives(truncation, Options.DenoiseQuantile, 1, truncated.Data);
        return truncated;
    }
}
