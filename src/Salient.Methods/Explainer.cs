using Salient.Engine;
using Salient.Methods.Internal;

namespace Salient.Methods;

/// <summary>
/// Computes explanations for batches of inputs without touching disk. Create one per model and
/// options with <see cref="Create"/>; it is thread-safe and reusable across batches.
/// </summary>
public abstract class Explainer
{
    private static readonly string[] CamMethods = ["cam", "gradcam", "gradcam++", "xgradcam", "layercam", "hirescam", "scorecam", "ablationcam", "eigencam"];
    private static readonly string[] GradientMethods = ["gradient", "gradxinput", "guided-backprop", "guided-gradcam", "integrated-gradients", "tsgb"];

    private protected Explainer(Model model, ExplainOptions options, IReadOnlyList<string> layers)
    {
        Model = model;
        Options = options;
        Layers = layers;
    }

    /// <summary>Every method name, as the CLI and the API take them.</summary>
    public static IReadOnlyList<string> MethodNames { get; } = [.. CamMethods, .. GradientMethods];

    /// <summary>The model explained.</summary>
    public Model Model { get; }

    /// <summary>The options, as given.</summary>
    public ExplainOptions Options { get; }

    /// <summary>The layers used (ONNX value names), defaults resolved; empty for methods that use none.</summary>
    public IReadOnlyList<string> Layers { get; }

    /// <summary>
    /// Checks the options against the model and makes the explainer. Throws
    /// <see cref="ArgumentException"/> naming the valid choices for an unknown method or layer, or
    /// saying why a method cannot apply to this model.
    /// </summary>
    public static Explainer Create(Model model, ExplainOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var method = options.Method;
        if (!MethodNames.Contains(method))
        {
            throw new ArgumentException($"Unknown method '{method}'. Valid methods: {string.Join(", ", MethodNames)}.");
        }

        if (options.SmoothSamples < 0 || options.SmoothNoise < 0 || options.InnerBatch <= 0 || options.IntegrationSteps <= 0
            || options.DenoiseQuantile is < 0 or > 1)
        {
            throw new ArgumentException("Options out of range: --smooth and --noise must be ≥ 0, --inner-batch and integration steps > 0, --denoise-q in [0, 1].");
        }

        if (options.SmoothSamples > 0 && !GradientMethods.Contains(method))
        {
            throw new ArgumentException($"--smooth applies to gradient methods ({string.Join(", ", GradientMethods)}), not '{method}'.");
        }

        if (options.Denoise is not null && method is not ("gradcam" or "gradcam++" or "xgradcam" or "layercam"))
        {
            throw new ArgumentException($"--denoise applies to gradcam, gradcam++, xgradcam and layercam, not '{method}'.");
        }

        var architecture = new Architecture(model, options.Reshape);
        if (GradientMethods.Contains(method))
        {
            var layers = method == "guided-gradcam" ? architecture.ResolveLayers(options.Layers) : [];
            return new GradientExplainer(model, options, layers, architecture);
        }

        var camLayers = architecture.ResolveLayers(options.Layers);
        if (method == "ablationcam" && camLayers.FirstOrDefault(architecture.IsReshaped) is { } reshaped)
        {
            throw new ArgumentException($"ablationcam zeroes channels of the layer in the model's own layout; layer '{reshaped}' is reshaped to maps (--reshape), which it cannot write back. Use gradcam or scorecam.");
        }

        if (method == "cam")
        {
            foreach (var layer in camLayers)
            {
                architecture.ClassifierWeightsAfter(layer);
            }
        }

        return new CamExplainer(model, options, camLayers, architecture);
    }

    /// <summary>
    /// Explains each image of <paramref name="batch"/> [N,C,H,W] (preprocessed model input) for the
    /// classes <paramref name="targets"/> selects. Results come image by image, targets in order.
    /// The map of an image does not depend on the other images of the batch.
    /// </summary>
    public IReadOnlyList<Explanation> Explain(Tensor batch, TargetSelection targets)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(targets);
        var results = new List<Explanation>();
        try
        {
            Run(batch, targets, results);
        }
        catch
        {
            foreach (var result in results)
            {
                result.Dispose();
            }

            throw;
        }

        return [.. results.OrderBy(r => r.Image)];
    }

    private protected abstract void Run(Tensor batch, TargetSelection selection, List<Explanation> results);

    /// <summary>The targets of every image from the logits [N, classes].</summary>
    private protected static IReadOnlyList<int>[] SelectTargets(Tensor logits, TargetSelection selection)
    {
        var n = logits.Dim(0);
        var classes = logits.Length / n;
        var targets = new IReadOnlyList<int>[n];
        for (var b = 0; b < n; b++)
        {
            targets[b] = selection.Select(b, logits.Span.Slice(b * classes, classes));
        }

        return targets;
    }

    /// <summary>A one-hot seed on the logits: image b's <paramref name="slot"/>-th target, zero for images with fewer targets.</summary>
    private protected static Tensor Seed(Tensor logits, IReadOnlyList<int>[] targets, int slot)
    {
        var seed = Tensor.Zeros(logits.Shape);
        var classes = logits.Length / logits.Dim(0);
        for (var b = 0; b < targets.Length; b++)
        {
            if (slot < targets[b].Count)
            {
                seed.Span[(b * classes) + targets[b][slot]] = 1f;
            }
        }

        return seed;
    }

    /// <summary>Wraps a computed map with its target's logit and probability.</summary>
    private protected static Explanation Result(Tensor logits, int image, int targetClass, Tensor raw, Tensor map)
    {
        var classes = logits.Length / logits.Dim(0);
        var row = logits.Span.Slice(image * classes, classes);
        return new Explanation(image, targetClass, row[targetClass], MapMath.SoftmaxProbability(row, targetClass), raw, map);
    }
}
