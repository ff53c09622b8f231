using Salient.Engine;
using Salient.Methods.Internal;

namespace Salient.Methods;

/// <summary>
/// Computes explanations for batches of inputs without touching disk. Create one per model and
/// options with <see cref="Create"/>; it is thread-safe and reusable across batches.
/// A method is one subclass (usually of <see cref="CamExplainer"/> or <see cref="GradientExplainer"/>)
/// registered by name in <see cref="ExplanationMethods"/>; docs/methods.md describes how to add one.
/// </summary>
public abstract class Explainer
{
    /// <summary>Sets the model, options and resolved layers a subclass explains with.</summary>
    protected Explainer(Model model, ExplainOptions options, IReadOnlyList<string> layers)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(layers);
        Model = model;
        Options = options;
        Layers = layers;
    }

    /// <summary>Every registered method name, as the CLI and the API take them (<see cref="ExplanationMethods.Names"/>).</summary>
    public static IReadOnlyList<string> MethodNames => ExplanationMethods.Names;

    /// <summary>The model explained.</summary>
    public Model Model { get; }

    /// <summary>The options, as given.</summary>
    public ExplainOptions Options { get; }

    /// <summary>The layers used (ONNX value names), defaults resolved; empty for methods that use none.</summary>
    public IReadOnlyList<string> Layers { get; }

    /// <summary>
    /// Checks the options against the model and makes the explainer of the registered method
    /// <see cref="ExplainOptions.Method"/>. Throws <see cref="ArgumentException"/> naming the valid
    /// choices for an unknown method or layer, or saying why a method cannot apply to this model.
    /// </summary>
    public static Explainer Create(Model model, ExplainOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var method = ExplanationMethods.Find(options.Method);
        if (options.SmoothSamples < 0 || options.SmoothNoise < 0 || options.InnerBatch <= 0 || options.IntegrationSteps <= 0
            || options.DenoiseQuantile is < 0 or > 1)
        {
            throw new ArgumentException("Options out of range: --smooth and --noise must be ≥ 0, --inner-batch and integration steps > 0, --denoise-q in [0, 1].");
        }

        if (options.SmoothSamples > 0 && !method.Accepts.HasFlag(MethodOptions.Smooth))
        {
            throw new ArgumentException($"--smooth applies to {ExplanationMethods.Describe(MethodOptions.Smooth)}, not '{method.Name}'.");
        }

        if (options.Denoise is not null && !method.Accepts.HasFlag(MethodOptions.Denoise))
        {
            throw new ArgumentException($"--denoise applies to {ExplanationMethods.Describe(MethodOptions.Denoise)}, not '{method.Name}'.");
        }

        foreach (var name in options.Parameters.Keys)
        {
            if (!method.Parameters.Any(p => p.Name == name))
            {
                throw new ArgumentException(method.Parameters.Count == 0
                    ? $"'{method.Name}' takes no parameters (got '{name}')."
                    : $"'{method.Name}' has no parameter '{name}'. Valid parameters: {string.Join(", ", method.Parameters.Select(p => $"{p.Name} ({p.Description}, default {p.Default})"))}.");
            }
        }

        return method.Create(model, options);
    }

    /// <summary>The method's parameter <paramref name="name"/>: set in <see cref="ExplainOptions.Parameters"/>, else its registered default.</summary>
    protected double Parameter(string name)
    {
        if (Options.Parameters.TryGetValue(name, out var value))
        {
            return value;
        }

        return ExplanationMethods.Find(Options.Method).Parameters.FirstOrDefault(p => p.Name == name)?.Default
            ?? throw new InvalidOperationException($"'{Options.Method}' reads the parameter '{name}' but does not register it.");
    }

    /// <summary>A parameter that must be a whole number in [<paramref name="min"/>, <paramref name="max"/>]; throws <see cref="ArgumentException"/> naming it otherwise.</summary>
    protected int WholeParameter(string name, int min, int max = int.MaxValue)
    {
        var value = Parameter(name);
        return value == Math.Floor(value) && value >= min && value <= max
            ? (int)value
            : throw new ArgumentException($"{Options.Method}: parameter {name} must be a whole number in [{min}, {max}], not {value}.");
    }

    /// <summary>A parameter that must lie in [<paramref name="min"/>, <paramref name="max"/>]; throws <see cref="ArgumentException"/> naming it otherwise.</summary>
    protected double ParameterIn(string name, double min, double max)
    {
        var value = Parameter(name);
        return value >= min && value <= max ? value : throw new ArgumentException($"{Options.Method}: parameter {name} must be in [{min}, {max}], not {value}.");
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
        if (targets.IsContrast && !ExplanationMethods.Find(Options.Method).Accepts.HasFlag(MethodOptions.WeightedTargets))
        {
            throw new ArgumentException(WeightedTargetsRefused(Options.Method));
        }

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

    /// <summary>
    /// The method itself: explains <paramref name="batch"/> for the classes <paramref name="selection"/>
    /// picks and adds one <see cref="Explanation"/> per image and target to <paramref name="results"/>
    /// (in any order; <see cref="Explain"/> sorts them and disposes them if this throws).
    /// </summary>
    protected abstract void Run(Tensor batch, TargetSelection selection, List<Explanation> results);

    /// <summary>The targets of every image from the logits [N, classes].</summary>
    protected static IReadOnlyList<int>[] SelectTargets(Tensor logits, TargetSelection selection)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(selection);
        var n = logits.Dim(0);
        var classes = logits.Length / n;
        var targets = new IReadOnlyList<int>[n];
        using var host = OnHost(logits);
        for (var b = 0; b < n; b++)
        {
            targets[b] = selection.Select(b, host.Value.Span.Slice(b * classes, classes));
        }

        return targets;
    }

    /// <summary>
    /// The seed on the logits of image b's <paramref name="slot"/>-th target, zero for images with fewer targets:
    /// the gradient of the score <paramref name="selection"/> explains it by, one-hot for a plain class.
    /// </summary>
    protected static Tensor Seed(Tensor logits, TargetSelection selection, IReadOnlyList<int>[] targets, int slot)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(selection);
        ArgumentNullException.ThrowIfNull(targets);
        var seed = Tensor.Zeros(logits.Shape);
        var classes = logits.Length / logits.Dim(0);
        // A plain class's seed is one-hot: only contrasts read the logits (and bring them from a device).
        using var host = selection.IsContrast ? OnHost(logits) : default;
        for (var b = 0; b < targets.Length; b++)
        {
            if (slot < targets[b].Count)
            {
                ReadOnlySpan<float> row = host.Value is { } values ? values.Span.Slice(b * classes, classes) : default;
                selection.ScoreGradient(b, row, targets[b][slot], seed.Span.Slice(b * classes, classes));
            }
        }

        return seed;
    }

    /// <summary>Why <paramref name="method"/> takes no contrast or weighted-sum targets, as the explainer and the options parser say it.</summary>
    internal static string WeightedTargetsRefused(string method) =>
        $"contrast and weighted-sum targets (contrast:A,B, weights:A=W,B=W) are explained by backpropagating their score from the logits, "
        + $"which {ExplanationMethods.Describe(MethodOptions.WeightedTargets)} do; not '{method}'.";

    /// <summary>
    /// The gradient seeded on the logits for one target slot of a backward pass: <see cref="Seed"/>
    /// unless a method seeds more rows (DeepLIFT's baseline half).
    /// </summary>
    private protected virtual Tensor SeedFor(Tensor logits, TargetSelection selection, IReadOnlyList<int>[] targets, int slot) => Seed(logits, selection, targets, slot);

    /// <summary>
    /// Wraps a computed map (taking over <paramref name="raw"/>, <paramref name="map"/> and <paramref name="conceptScores"/>) with its
    /// target's logit and probability (<see cref="ExplainOptions.Scores"/>). Maps made on a device come to the host here, once, to be written.
    /// </summary>
    protected Explanation Result(Tensor logits, int image, int targetClass, Tensor raw, Tensor map, Tensor? conceptScores = null)
    {
        ArgumentNullException.ThrowIfNull(logits);
        var classes = logits.Length / logits.Dim(0);
        using var host = OnHost(logits);
        var row = host.Value.Span.Slice(image * classes, classes);
        var probability = (float)Options.Scores.Probability(row, targetClass);
        return KeepsMapsOnDevice
            ? new Explanation(image, targetClass, row[targetClass], probability, raw, map, conceptScores)
            : new Explanation(image, targetClass, row[targetClass], probability, ToHost(raw), ToHost(map), conceptScores);
    }

    /// <summary>Whether <see cref="Result"/> leaves the maps on the model's device: for an explainer whose maps another method's arithmetic uses (Guided Grad-CAM's Grad-CAM).</summary>
    internal bool KeepsMapsOnDevice { get; init; }

    // A map computed on a device, downloaded; the device copy goes back to its pool.
    private static Tensor ToHost(Tensor tensor)
    {
        if (tensor.Device.IsCpu)
        {
            return tensor;
        }

        using (tensor)
        {
            return tensor.ToHost();
        }
    }

    /// <summary>Small results (logits) on the host: the tensor itself when it is there, else a copy (downloaded once, disposed with the lease).</summary>
    private protected static Borrowed OnHost(Tensor tensor) => tensor.Device.IsCpu ? new Borrowed(tensor, false) : new Borrowed(tensor.ToHost(), true);

    /// <summary>A tensor that is the caller's, or a copy this lease disposes.</summary>
    private protected readonly record struct Borrowed(Tensor Value, bool Owned) : IDisposable
    {
        public void Dispose()
        {
            if (Owned)
            {
                Value.Dispose();
            }
        }
    }
}
