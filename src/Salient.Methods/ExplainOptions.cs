namespace Salient.Methods;

/// <summary>How several layers' maps are combined.</summary>
public enum LayerFusion
{
    /// <summary>Mean of the per-layer maps (pytorch-grad-cam's default).</summary>
    Mean,

    /// <summary>Element-wise maximum (LayerCAM's convention; the default with gradient denoising).</summary>
    Max,

    /// <summary>Element-wise product of the normalised maps.</summary>
    Product,
}

/// <summary>The gradient truncation applied to shallow-layer CAMs (docs/methods.md, "Denoising shallow-layer CAMs").</summary>
public enum DenoiseMode
{
    /// <summary>Zero the positive gradients below the q-quantile of the positive gradients.</summary>
    Floor,

    /// <summary>Clip the positive gradients at the q-quantile.</summary>
    Ceil,

    /// <summary>Keep only positive gradients (LayerCAM's own rule).</summary>
    Rectify,

    /// <summary>Apply <see cref="Floor"/> at every block output between the head and the layer, during the backward pass.</summary>
    Backprop,
}

/// <summary>How a CAM layer's activation becomes [N, C, H, W] maps (pytorch-grad-cam's reshape_transform).</summary>
public enum LayerReshape
{
    /// <summary>[N, C, H, W] stays; a token sequence [N, L, C] becomes a grid as with <see cref="Tokens"/>.</summary>
    Auto,

    /// <summary>Only [N, C, H, W] layers.</summary>
    None,

    /// <summary>A token sequence [N, L, C] with L = 1 + H·W (the class token, first, is dropped) or L = H·W, H = W.</summary>
    Tokens,

    /// <summary>A channels-last activation [N, H, W, C] (Swin's blocks), permuted to [N, C, H, W].</summary>
    ChannelsLast,
}

/// <summary>What to explain and how. Only <see cref="Method"/> is required.</summary>
public sealed record ExplainOptions
{
    /// <summary>The method's CLI name, e.g. "gradcam" (see <see cref="Explainer.MethodNames"/>).</summary>
    public required string Method { get; init; }

    /// <summary>ONNX value names of the layers for CAM methods; empty for the default (the last 4-D activation before global pooling).</summary>
    public IReadOnlyList<string> Layers { get; init; } = [];

    /// <summary>How each layer's activation and gradient become [N, C, H, W] maps.</summary>
    public LayerReshape Reshape { get; init; } = LayerReshape.Auto;

    /// <summary>How maps of several layers are fused; null for the method's default (mean, or max with denoising).</summary>
    public LayerFusion? Fuse { get; init; }

    /// <summary>SmoothGrad: average the gradient method over this many noisy copies (0 = off).</summary>
    public int SmoothSamples { get; init; }

    /// <summary>SmoothGrad noise standard deviation as a fraction of each image's value range.</summary>
    public float SmoothNoise { get; init; } = 0.15f;

    /// <summary>Gradient truncation for shallow layers of Grad-CAM, Grad-CAM++, XGrad-CAM and LayerCAM; null = off.</summary>
    public DenoiseMode? Denoise { get; init; }

    /// <summary>The quantile q of the truncation.</summary>
    public float DenoiseQuantile { get; init; } = 0.7f;

    /// <summary>With denoising, rescale each normalised layer map by tanh(2·M) before fusion.</summary>
    public bool DenoiseTanh { get; init; }

    /// <summary>Masked, ablated or perturbed inputs per forward pass (Score-CAM, Ablation-CAM, Occlusion, feature ablation, RISE).</summary>
    public int InnerBatch { get; init; } = 32;

    /// <summary>Integration steps of integrated gradients (midpoint rule, zero baseline).</summary>
    public int IntegrationSteps { get; init; } = 16;

    /// <summary>
    /// Called by the perturbation methods (Occlusion, feature ablation, RISE) after each forward pass
    /// of perturbed copies with (copies done, copies in all) for the image being explained; null = silent.
    /// </summary>
    public Action<long, long>? Progress { get; init; }

    /// <summary>How the target's probability is read from the logits: <see cref="ClassScores.For"/> the model's card (softmax unless it is multi-label).</summary>
    public ClassScores Scores { get; init; } = ClassScores.Softmax;

    /// <summary>Seed of the SmoothGrad noise and of every sampling method (RISE, GradientSHAP, RandomCAM, ...): the same seed gives the same maps.</summary>
    public int Seed { get; init; }

    /// <summary>The method's own numeric parameters by name (<see cref="ExplanationMethod.Parameters"/> lists them and their defaults; docs/methods.md describes them).</summary>
    public IReadOnlyDictionary<string, double> Parameters { get; init; } = new Dictionary<string, double>();

    /// <summary>
    /// Score-CAM and Ablation-CAM over the first N channels only: for benchmarks that time a subset
    /// and scale, as PyTorch's side does for its slow loop. Not a method option.
    /// </summary>
    public int? ChannelLimit { get; init; }
}
