using System.Diagnostics;
using Salient.Engine;
using Salient.Engine.Training;
using Salient.Imaging.Datasets;
using Salient.Training.Csg;

namespace Salient.Training;

/// <summary>
/// Trains a classifier epoch by epoch: softmax + cross-entropy for single-label sets, sigmoid +
/// binary cross-entropy for multi-label ones, optionally with a CSG gate on alternate epochs
/// (docs/csg.md: CSG epochs optimize CE on the gated path plus the hinge with their own
/// optimizer, then project the gate). Deterministic for a seed on a given machine.
/// </summary>
/// <remarks>
/// With a trunk (a frozen network, run for inference), every batch of images goes through it first
/// and the model trains on its output: the alternative to <see cref="CachedFeatures"/> when the
/// training set is too large to hold its features, e.g. scenes generated as they are read.
/// </remarks>
public sealed class ClassifierTrainer
{
    private const string StandardOptimizer = "std";
    private const string GateOptimizer = "csg";
    private const string GateKey = "csg.gate";
    private readonly LabeledImageSet _train;
    private readonly LabeledImageSet? _validation;
    private readonly TrainingOptions _options;
    private readonly LearningRateSchedule _schedule;
    private readonly Dictionary<string, Optimizer> _optimizers = new(StringComparer.Ordinal);
    private readonly int _classes;

    /// <summary>
    /// A trainer of <paramref name="model"/> on images normalized by <paramref name="mean"/> and
    /// <paramref name="std"/>, which go through <paramref name="trunk"/> first when it is given.
    /// </summary>
    public ClassifierTrainer(TrainableModel model, LabeledImageSet train, LabeledImageSet? validation, TrainingOptions options, float[] mean, float[] std, Model? trunk = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        Model = model;
        _train = train;
        _validation = validation;
        _options = options;
        Mean = mean;
        Std = std;
        Trunk = trunk;
        _classes = train.ClassNames.Count;

        // The gate's head is checked first: without one, no data can make CSG apply.
        var gatedValue = options.Csg is null ? null : CsgGate.GatedValue(model.Graph);
        var inference = model.ToModel();
        int[] oneImage = [1, train.Channels, train.Height, train.Width];
        if (trunk is not null)
        {
            oneImage = [.. trunk.ShapeOf(trunk.OutputNames[0], oneImage)];
        }

        var logitsShape = inference.ShapeOf(model.Graph.OutputNames[0], oneImage);
        if (logitsShape.Count != 2 || logitsShape[1] != _classes)
        {
            throw new ArgumentException($"Model '{model.Name}' outputs [{string.Join(',', logitsShape)}]; the dataset has {_classes} classes, so [N,{_classes}] is needed.");
        }

        _schedule = LearningRateSchedule.Parse(options.Schedule, options.LearningRate, options.Epochs) with { WarmupEpochs = options.WarmupEpochs };
        _optimizers[StandardOptimizer] = CreateOptimizer();
        if (options.Csg is not null)
        {
            Gate = CsgGate.Create(gatedValue!, inference.ShapeOf(gatedValue!, oneImage)[1], _classes);
            _optimizers[GateOptimizer] = CreateOptimizer();
        }
    }

    public TrainableModel Model { get; }

    public float[] Mean { get; }

    public float[] Std { get; }

    /// <summary>The frozen network in front of the model, when there is one.</summary>
    public Model? Trunk { get; }

    /// <summary>The CSG gate, when training with one.</summary>
    public CsgGate? Gate { get; }

    /// <summary>Epochs finished (including those restored from a checkpoint).</summary>
    public int EpochsDone { get; private set; }

    /// <summary>Metadata to save with the model: the gate, when there is one.</summary>
    public IReadOnlyDictionary<string, string> Metadata =>
        Gate is null ? new Dictionary<string, string>() : new Dictionary<string, string> { [CsgGate.MetadataKey] = Gate.ToJson() };

    /// <summary>Runs the next epoch, then scores the ungated model on the validation set.</summary>
    public EpochReport RunEpoch(Action<BatchProgress>? progress = null)
    {
        var epoch = EpochsDone;
        var csg = Gate is not null && _options.Csg!.IsCsgEpoch(epoch);
        var optimizer = _optimizers[csg ? GateOptimizer : StandardOptimizer];
        var rate = csg && _options.Csg!.LearningRate is { } own ? own : (float?)null;
        if (Gate is not null)
        {
            Gate.Active = csg;
        }

        var random = new Random(unchecked((_options.Seed * 1_000_003) + epoch));
        var order = EpochOrder(_train.Count, epoch, _options.Seed, _options.EpochImages, random);
        var batchSize = _options.BatchSize;
        var batches = (order.Length + batchSize - 1) / batchSize;
        var clock = Stopwatch.StartNew();
        double lossSum = 0;
        var (correct, seen) = (0, 0);
        float learningRate = 0;
        for (var b = 0; b < batches; b++)
        {
            var indices = order.AsSpan(b * batchSize, Math.Min(batchSize, order.Length - (b * batchSize)));
            var flips = _options.Flip ? indices.ToArray().Select(_ => random.Next(2) == 1).ToArray() : null;
            learningRate = rate ?? _schedule.At(epoch + (b / (double)batches));
            var (loss, right) = Step(indices, flips, optimizer, learningRate);
            lossSum += loss * indices.Length;
            correct += right;
            seen += indices.Length;
            progress?.Invoke(new BatchProgress(epoch, b + 1, batches, lossSum / seen, correct / (double)seen, seen / clock.Elapsed.TotalSeconds));
        }

        if (Gate is not null)
        {
            Gate.Active = false;
        }

        var imagesPerSecond = seen / clock.Elapsed.TotalSeconds;
        EpochsDone++;
        var validation = _validation is null ? null : Evaluate(Model.ToModel(), _validation, Mean, Std, trunk: Trunk);
        return new EpochReport(epoch, csg, lossSum / seen, correct / (double)seen, validation, imagesPerSecond, clock.Elapsed.TotalSeconds, learningRate, Gate?.Density);
    }

    /// <summary>
    /// The training images epoch <paramref name="epoch"/> visits, in order. Without
    /// <paramref name="epochImages"/>: the whole set shuffled by <paramref name="epochRandom"/>
    /// (which then draws the epoch's flips). With it: positions [epoch·n, epoch·n + n) of an endless
    /// stream of passes over the set, pass p shuffled by its own seed, so the order depends only on
    /// the seed and the epoch (a resumed run continues it) and every pass holds each image once.
    /// </summary>
    public static int[] EpochOrder(int count, int epoch, int seed, int? epochImages, Random epochRandom)
    {
        ArgumentNullException.ThrowIfNull(epochRandom);
        if (epochImages is not { } size)
        {
            var whole = Enumerable.Range(0, count).ToArray();
            epochRandom.Shuffle(whole);
            return whole;
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size, nameof(epochImages));
        var order = new int[size];
        int[] pass = [];
        var passIndex = -1L;
        for (var k = 0; k < size; k++)
        {
            var position = ((long)epoch * size) + k;
            if (position / count != passIndex)
            {
                passIndex = position / count;
                pass = Enumerable.Range(0, count).ToArray();
                new Random(unchecked((seed * 1_000_003) ^ (int)(passIndex * 7_919) ^ 0x5A17)).Shuffle(pass);
            }

            order[k] = pass[position % count];
        }

        return order;
    }

    /// <summary>Scores <paramref name="model"/> (ungated, inference batch norm) on <paramref name="set"/>.</summary>
    /// <remarks>
    /// With <paramref name="observed"/>, <paramref name="onObserved"/> sees that value of every batch
    /// (with the batch's first image index and labels) from the same forward pass. With
    /// <paramref name="trunk"/>, each batch goes through it (a frozen network) before <paramref name="model"/>.
    /// </remarks>
    public static ValidationScores Evaluate(Model model, LabeledImageSet set, float[] mean, float[] std, string? observed = null,
        Action<int, Tensor, IReadOnlyList<int>[]>? onObserved = null, int batchSize = 128, Model? trunk = null)
    {
        var classes = set.ClassNames.Count;
        var scores = new float[set.Count * classes];
        var labels = new IReadOnlyList<int>[set.Count];
        var correct = 0;
        var indices = Enumerable.Range(0, set.Count).ToArray();
        for (var start = 0; start < set.Count; start += batchSize)
        {
            var count = Math.Min(batchSize, set.Count - start);
            using var batch = Tensor.Uninitialized(count, set.Channels, set.Height, set.Width);
            var batchLabels = ImageBatches.Fill(set, indices.AsSpan(start, count), batch, mean, std);
            using var features = trunk?.Forward(batch);
            var values = model.Forward(features ?? batch, observed is null ? [] : [observed]);
            using var logits = values[model.OutputNames[0]];
            if (observed is not null)
            {
                using var value = values[observed];
                onObserved?.Invoke(start, value, batchLabels);
            }

            if (logits.Length != count * classes)
            {
                throw new ArgumentException($"Model '{model.Name}' gives {logits.Length / count} outputs per image; the dataset has {classes} classes.");
            }

            logits.Span.CopyTo(scores.AsSpan(start * classes));
            batchLabels.CopyTo(labels, start);
            correct += ClassificationScores.Correct(logits.Span, classes, batchLabels, set.MultiLabel);
        }

        var precisions = set.MultiLabel ? ClassificationScores.AveragePrecisions(scores, classes, labels) : null;
        double? map = precisions?.OfType<double>().DefaultIfEmpty(0).Average();
        return new ValidationScores(correct / (double)Math.Max(1, set.Count), map, set.Count) { ClassAveragePrecisions = precisions };
    }

    /// <summary>Saves everything needed to continue after this epoch.</summary>
    public void SaveCheckpoint(string path)
    {
        // The gate's values travel in the model's metadata, its optimizer state with the optimizer's.
        new Checkpoint { EpochsDone = EpochsDone, Model = Model.Export(Metadata), Optimizers = _optimizers }.Save(path);
    }

    /// <summary>
    /// Opens a checkpoint saved by <see cref="SaveCheckpoint"/> with the same options: a new
    /// trainer that continues after its last epoch.
    /// </summary>
    public static ClassifierTrainer Resume(string path, LabeledImageSet train, LabeledImageSet? validation, TrainingOptions options, float[] mean, float[] std, Model? trunk = null)
    {
        var optimizers = new Dictionary<string, Optimizer>(StringComparer.Ordinal) { [StandardOptimizer] = CreateOptimizer(options) };
        if (options.Csg is not null)
        {
            optimizers[GateOptimizer] = CreateOptimizer(options);
        }

        var checkpoint = Checkpoint.Load(path, optimizers);
        var trainer = new ClassifierTrainer(TrainableModel.FromProto(checkpoint.Model, Path.GetFileNameWithoutExtension(path) + ".onnx"), train, validation, options, mean, std, trunk);
        foreach (var (name, optimizer) in optimizers)
        {
            trainer._optimizers[name] = optimizer;
        }

        if (trainer.Gate is not null)
        {
            var saved = CsgGate.FromJson(checkpoint.Model.MetadataProps.FirstOrDefault(p => p.Key == CsgGate.MetadataKey)?.Value, path)
                ?? throw new InvalidDataException($"Checkpoint '{path}' has no CSG gate; it was not trained with --csg.");
            trainer.Gate.CopyFrom(saved);
        }

        trainer.EpochsDone = checkpoint.EpochsDone;
        return trainer;
    }

    private (float Loss, int Correct) Step(ReadOnlySpan<int> indices, bool[]? flips, Optimizer optimizer, float learningRate)
    {
        var n = indices.Length;
        using var batch = Tensor.Uninitialized(n, _train.Channels, _train.Height, _train.Width);
        var labels = ImageBatches.Fill(_train, indices, batch, Mean, Std, flips);
        using var features = Trunk?.Forward(batch);
        Gate?.Begin(labels);
        using var record = Model.Forward(features ?? batch, onValue: Gate is { Active: true } ? Gate.OnValue : null);
        var logits = Model.Logits(record);
        var gradient = Tensor.Uninitialized(logits.Shape);
        float loss;
        if (_train.MultiLabel)
        {
            var targets = new float[logits.Length];
            for (var i = 0; i < n; i++)
            {
                foreach (var c in labels[i])
                {
                    targets[(i * _classes) + c] = 1f;
                }
            }

            loss = Losses.SigmoidBinaryCrossEntropy(logits.Span, _classes, targets, gradient.Span);
        }
        else
        {
            loss = Losses.SoftmaxCrossEntropy(logits.Span, _classes, labels.Select(l => l[0]).ToArray(), gradient.Span);
        }

        var correct = ClassificationScores.Correct(logits.Span, _classes, labels, _train.MultiLabel);
        var gradients = Model.Backward(record, gradient, Gate is { Active: true } ? Gate : null);
        try
        {
            optimizer.BeginStep();
            foreach (var parameter in Model.Parameters)
            {
                optimizer.Update(parameter.Name, parameter.Value.Span, gradients[parameter.Name].Span, learningRate);
            }

            if (Gate is { Active: true })
            {
                loss += Gate.AddHinge(_options.Csg!.Lambda, _options.Csg.Mu);
                optimizer.Update(GateKey, Gate.Gate, Gate.Gradient, learningRate);
                Gate.Project();
            }
        }
        finally
        {
            foreach (var tensor in gradients.Values)
            {
                tensor.Dispose();
            }
        }

        return (loss, correct);
    }

    private Optimizer CreateOptimizer() => CreateOptimizer(_options);

    private static Optimizer CreateOptimizer(TrainingOptions options) => options.Optimizer switch
    {
        "adam" => new AdamOptimizer(weightDecay: options.WeightDecay),
        "sgd" => new SgdOptimizer(options.Momentum, nesterov: true, weightDecay: options.WeightDecay),
        _ => throw new ArgumentException($"Unknown optimizer '{options.Optimizer}' (use adam or sgd)."),
    };
}
