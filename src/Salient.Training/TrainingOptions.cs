using Salient.Training.Csg;

namespace Salient.Training;

/// <summary>How <see cref="ClassifierTrainer"/> trains.</summary>
public sealed record TrainingOptions
{
    public int Epochs { get; init; } = 10;

    public int BatchSize { get; init; } = 64;

    /// <summary>"adam" or "sgd" (with <see cref="Momentum"/>, Nesterov).</summary>
    public string Optimizer { get; init; } = "adam";

    public float LearningRate { get; init; } = 1e-3f;

    public float Momentum { get; init; } = 0.9f;

    public float WeightDecay { get; init; }

    /// <summary>"cosine", "constant" or "step[:E1,E2]" (see <see cref="LearningRateSchedule.Parse"/>).</summary>
    public string Schedule { get; init; } = "cosine";

    public double WarmupEpochs { get; init; }

    /// <summary>
    /// Images an epoch visits; null: the whole training set. A long schedule of short epochs (the CSG
    /// spec's 151) then walks a stream of shuffles of the set, so each image is still seen once per pass.
    /// </summary>
    public int? EpochImages { get; init; }

    /// <summary>Seeds the shuffling and augmentation (the architecture's initial weights take their own seed).</summary>
    public int Seed { get; init; }

    /// <summary>Random horizontal flips of training images.</summary>
    public bool Flip { get; init; } = true;

    /// <summary>Train with a class-specific gate (CSG) when set.</summary>
    public CsgOptions? Csg { get; init; }
}

/// <summary>Scores on held-out images of the ungated model: top-1 accuracy, or for multi-label sets subset accuracy (the predicted set, logits &gt; 0, equals the true set) and mAP.</summary>
public sealed record ValidationScores(double Accuracy, double? MeanAveragePrecision, int Images)
{
    /// <summary>Multi-label sets: each class's average precision, in class order (null for a class with no positive); the mAP is their mean.</summary>
    public IReadOnlyList<double?>? ClassAveragePrecisions { get; init; }
}

/// <summary>Where an epoch stands after a batch.</summary>
public sealed record BatchProgress(int Epoch, int Batch, int Batches, double Loss, double Accuracy, double ImagesPerSecond);

/// <summary>
/// One finished epoch. On CSG epochs the training accuracy is that of the gated path, which
/// sees the label and is inflated (docs/csg.md); only <see cref="Validation"/> is a real score.
/// </summary>
public sealed record EpochReport(int Epoch, bool CsgEpoch, double Loss, double TrainAccuracy, ValidationScores? Validation,
    double ImagesPerSecond, double Seconds, float LearningRate, float? GateDensity);
