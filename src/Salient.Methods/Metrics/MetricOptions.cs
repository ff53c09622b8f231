namespace Salient.Methods.Metrics;

/// <summary>Which metrics <see cref="MetricEvaluator"/> computes, and their settings. Every setting has the customary default.</summary>
public sealed record MetricOptions
{
    /// <summary>Every metric name, as the CLI and the API take them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["deletion", "insertion", "road", "pointing", "energy", "selectivity", "miou", "sanity"];

    /// <summary>The metrics to compute (see <see cref="Names"/>); the mask metrics apply to items with objects.</summary>
    public IReadOnlyList<string> Metrics { get; init; } = Names;

    /// <summary>Deletion and insertion steps: the curves have Steps + 1 points.</summary>
    public int Steps { get; init; } = 16;

    /// <summary>What deleted pixels become.</summary>
    public PerturbationBaseline DeletionBaseline { get; init; } = PerturbationBaseline.Zero;

    /// <summary>What insertion starts from (Petsiuk et al.: a blurred image).</summary>
    public PerturbationBaseline InsertionBaseline { get; init; } = PerturbationBaseline.Blur;

    /// <summary>The blur baseline's Gaussian σ in pixels of the model input.</summary>
    public float BlurSigma { get; init; } = 5f;

    /// <summary>ROAD's percentages of removed pixels.</summary>
    public IReadOnlyList<int> RoadPercentages { get; init; } = Road.DefaultPercentages;

    /// <summary>ROAD's imputation noise (standard deviation, model input units).</summary>
    public double RoadNoise { get; init; } = 0.01;

    /// <summary>The pointing game's tolerance in pixels of the model input.</summary>
    public double PointingTolerance { get; init; } = PointingGame.DefaultTolerance;

    /// <summary>How class maps become a pseudo mask for mIoU.</summary>
    public PseudoMaskRule MaskRule { get; init; } = PseudoMaskRule.Argmax;

    /// <summary>The map threshold of the pseudo mask (the background score with <see cref="PseudoMaskRule.Argmax"/>).</summary>
    public float MaskThreshold { get; init; } = 0.5f;

    /// <summary>How many cascade depths the sanity check evaluates, evenly spaced up to all layers randomised.</summary>
    public int SanitySteps { get; init; } = 4;

    /// <summary>Perturbed images per forward pass.</summary>
    public int InnerBatch { get; init; } = 32;

    /// <summary>
    /// How probabilities are read from the logits (<see cref="ClassScores.For"/> the model's card):
    /// the deletion, insertion and ROAD curves and every method's target probability.
    /// </summary>
    public ClassScores Scores { get; init; } = ClassScores.Softmax;

    /// <summary>Seeds ROAD's noise and the sanity check's random weights.</summary>
    public int Seed { get; init; }

    /// <summary>True when <paramref name="metric"/> is selected.</summary>
    public bool Wants(string metric) => Metrics.Contains(metric);

    /// <summary>Throws <see cref="ArgumentException"/> naming what is out of range or unknown.</summary>
    public void Validate()
    {
        var unknown = Metrics.Except(Names).ToList();
        if (unknown.Count > 0 || Metrics.Count == 0)
        {
            throw new ArgumentException($"Unknown metric(s) {string.Join(", ", unknown.Select(m => $"'{m}'"))}. Valid metrics: {string.Join(", ", Names)}.");
        }

        if (Steps <= 0 || InnerBatch <= 0 || SanitySteps <= 0 || BlurSigma <= 0 || RoadNoise < 0 || PointingTolerance < 0
            || RoadPercentages.Count == 0 || RoadPercentages.Any(p => p is < 0 or > 100) || float.IsNaN(MaskThreshold))
        {
            throw new ArgumentException("Metric options out of range: steps, inner batch, sanity steps and blur σ must be > 0, ROAD noise and the pointing tolerance ≥ 0, ROAD percentages in [0, 100], the mask threshold a number.");
        }
    }
}
