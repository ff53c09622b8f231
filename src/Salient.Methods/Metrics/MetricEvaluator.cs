using Salient.Engine;

namespace Salient.Methods.Metrics;

/// <summary>An object of an item: its class and its mask at the model input's resolution (row-major, height × width).</summary>
/// <param name="Class">The object's class.</param>
/// <param name="Mask">True on the object's pixels.</param>
public sealed record EvaluationObject(int Class, ReadOnlyMemory<bool> Mask);

/// <summary>One input of a batch to evaluate: a name for reports, and its objects (none for a plain image: then the top-1 class is explained and the mask metrics are skipped).</summary>
/// <param name="Name">How reports name the item, e.g. its path.</param>
/// <param name="Objects">The annotated objects; their classes are the targets explained.</param>
public sealed record EvaluationItem(string Name, IReadOnlyList<EvaluationObject> Objects);

/// <summary>The scores of one target of an item.</summary>
/// <param name="Class">The target class.</param>
/// <param name="Probability">The original model's probability of the class (<see cref="MetricOptions.Scores"/>).</param>
/// <param name="Scores">Per scalar metric (accumulator names, e.g. "deletion", "road-morf"), the score.</param>
public sealed record TargetScores(int Class, float Probability, IReadOnlyDictionary<string, double> Scores);

/// <summary>The outcome of one item with one method: scores per target, or why it failed.</summary>
/// <param name="Item">The item's index in the batch.</param>
/// <param name="Method">The method.</param>
/// <param name="Targets">Scores per target; empty when the item failed.</param>
/// <param name="MeanIoU">The item's own mean IoU over its classes and background, when mIoU applies.</param>
/// <param name="Error">Why the item failed, or null.</param>
public sealed record ItemEvaluation(int Item, string Method, IReadOnlyList<TargetScores> Targets, double? MeanIoU, string? Error);

/// <summary>
/// Computes explanation-quality metrics batch by batch on the machinery that explains: each
/// method's explainer maps the batch, perturbed copies go through the model's forward pass in
/// batches, and results are added to a <see cref="MetricAccumulator"/>, so a worker can evaluate a
/// shard and a coordinator merge the shards. An item's scores do not depend on the other items of
/// its batch, up to float rounding of its map (which can reorder near-equal pixels). Scalars
/// added per target: <c>deletion</c> and <c>insertion</c> (AUC), <c>road-morf</c>,
/// <c>road-lerf</c> (mean probability over the percentages) and <c>road</c> ((LeRF − MoRF) / 2),
/// <c>pointing</c> (1 hit, 0 miss), <c>energy</c>, <c>selectivity</c> (items with two or more
/// objects), <c>sanity</c> (rank correlation with every cascade layer randomised); curves
/// <c>deletion</c>, <c>insertion</c>, <c>road-morf</c>, <c>road-lerf</c>, <c>sanity</c>; and per-class
/// segmentation counts for mIoU.
/// </summary>
public sealed class MetricEvaluator
{
    private readonly Model _model;
    private readonly MetricOptions _options;
    private readonly Explainer[] _explainers;
    private readonly Lazy<Explainer[][]> _randomized;

    /// <summary>Checks the options and makes an explainer per method; throws <see cref="ArgumentException"/> naming what is wrong.</summary>
    public MetricEvaluator(Model model, IReadOnlyList<ExplainOptions> methods, MetricOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(methods);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (methods.Count == 0 || methods.Select(m => m.Method).Distinct().Count() != methods.Count)
        {
            throw new ArgumentException("Give at least one method, each once.");
        }

        _model = model;
        _options = options;
        methods = [.. methods.Select(m => m with { Scores = options.Scores })];
        _explainers = [.. methods.Select(m => Explainer.Create(model, m))];
        _randomized = new Lazy<Explainer[][]>(() => SanityExplainers(methods));
    }

    /// <summary>The explainers of the methods, in order (their resolved layers name the records).</summary>
    public IReadOnlyList<Explainer> Explainers => _explainers;

    /// <summary>The methods evaluated, in order.</summary>
    public IReadOnlyList<string> Methods => [.. _explainers.Select(e => e.Options.Method)];

    /// <summary>The fractions of cascade layers randomised at each point of the sanity curve (0 first).</summary>
    public IReadOnlyList<double> SanityFractions => [0.0, .. SanityDepths().Select(d => (double)d / SanityCheck.CascadeLayers(_model).Count)];

    /// <summary>
    /// Evaluates every method on <paramref name="batch"/> [N,C,H,W] (the preprocessed items, in
    /// order), adds the results to <paramref name="accumulator"/> and returns them per item and method.
    /// <paramref name="onExplanation"/> sees each original map (item index, method, explanation) before it is disposed.
    /// </summary>
    public IReadOnlyList<ItemEvaluation> Evaluate(Tensor batch, IReadOnlyList<EvaluationItem> items, MetricAccumulator accumulator,
        Action<int, string, Explanation>? onExplanation = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(accumulator);
        if (batch.Rank != 4 || batch.Dim(0) != items.Count)
        {
            throw new ArgumentException($"The batch {batch} must hold one [C,H,W] image per item ({items.Count}).", nameof(batch));
        }

        var selection = TargetSelection.PerImage([.. items.Select(i => i.Objects.Count == 0 ? TargetSelection.Top1 : TargetSelection.Classes([.. i.Objects.Select(o => o.Class).Distinct()]))]);
        var results = new List<ItemEvaluation>();
        for (var m = 0; m < _explainers.Length; m++)
        {
            var method = _explainers[m].Options.Method;
            var outcomes = new MethodBatch(items.Count);
            try
            {
                var explanations = _explainers[m].Explain(batch, selection);
                try
                {
                    foreach (var e in explanations)
                    {
                        onExplanation?.Invoke(e.Image, method, e);
                    }

                    Score(batch, items, explanations, m, outcomes);
                }
                finally
                {
                    foreach (var e in explanations)
                    {
                        e.Dispose();
                    }
                }
            }
            catch (Exception e) when (e is ModelException or ArgumentException or InvalidOperationException)
            {
                outcomes.FailAll(e.Message);
            }

            results.AddRange(outcomes.Record(method, accumulator));
        }

        return results;
    }

    /// <summary>Computes every selected metric for one method's explanations of the batch into <paramref name="outcomes"/>.</summary>
    private void Score(Tensor batch, IReadOnlyList<EvaluationItem> items, IReadOnlyList<Explanation> explanations, int method, MethodBatch outcomes)
    {
        foreach (var e in explanations.Where(e => !e.IsFinite))
        {
            outcomes.Fail(e.Image, $"the {_explainers[method].Options.Method} map of class {e.Class} contains NaN or infinity");
        }

        var valid = explanations.Where(e => outcomes.Errors[e.Image] is null).ToArray();
        if (valid.Length == 0)
        {
            return;
        }

        foreach (var e in valid)
        {
            outcomes.Targets[e.Image].Add(new TargetResult(e.Class, e.Probability));
        }

        var perTarget = valid.Select(e => outcomes.Targets[e.Image].First(t => t.Class == e.Class)).ToArray();
        var o = _options;
        if (o.Wants("deletion"))
        {
            AddCurves("deletion", perTarget, DeletionInsertion.Curves(_model, batch, valid, false, o.DeletionBaseline, o.Steps, o.InnerBatch, o.BlurSigma, o.Scores), DeletionInsertion.Fractions(o.Steps), c => DeletionInsertion.Auc(c));
        }

        if (o.Wants("insertion"))
        {
            AddCurves("insertion", perTarget, DeletionInsertion.Curves(_model, batch, valid, true, o.InsertionBaseline, o.Steps, o.InnerBatch, o.BlurSigma, o.Scores), DeletionInsertion.Fractions(o.Steps), c => DeletionInsertion.Auc(c));
        }

        if (o.Wants("road"))
        {
            var percentages = o.RoadPercentages.Select(p => p / 100.0).ToArray();
            AddCurves("road-morf", perTarget, Road.Curves(_model, batch, valid, RoadOrder.MostRelevantFirst, o.RoadPercentages, o.RoadNoise, o.Seed, o.InnerBatch, o.Scores), percentages, Mean);
            AddCurves("road-lerf", perTarget, Road.Curves(_model, batch, valid, RoadOrder.LeastRelevantFirst, o.RoadPercentages, o.RoadNoise, o.Seed, o.InnerBatch, o.Scores), percentages, Mean);
            foreach (var t in perTarget)
            {
                t.Scores["road"] = (t.Scores["road-lerf"] - t.Scores["road-morf"]) / 2;
            }
        }

        if (o.Wants("sanity"))
        {
            Sanity(batch, valid, perTarget, method);
        }

        foreach (var group in valid.GroupBy(e => e.Image))
        {
            try
            {
                ScoreMasks(items[group.Key], [.. group], outcomes.Targets[group.Key], out var meanIoU, out var overlaps);
                outcomes.MeanIoU[group.Key] = meanIoU;
                outcomes.Overlaps[group.Key] = overlaps;
            }
            catch (ArgumentException e)
            {
                outcomes.Fail(group.Key, e.Message);
            }
        }
    }

    /// <summary>The metrics that compare maps with object masks, for one item's explanations.</summary>
    private void ScoreMasks(EvaluationItem item, Explanation[] explanations, List<TargetResult> targets, out double? meanIoU, out IReadOnlyList<ClassOverlap> overlaps)
    {
        (meanIoU, overlaps) = (null, []);
        if (item.Objects.Count == 0)
        {
            return;
        }

        var width = explanations[0].Map.Dim(1);
        var pixels = explanations[0].Map.Length;
        var o = _options;
        foreach (var e in explanations)
        {
            var target = targets.First(t => t.Class == e.Class);
            var onTarget = Union(item.Objects.Where(x => x.Class == e.Class), pixels, item.Name);
            if (o.Wants("pointing"))
            {
                target.Scores["pointing"] = PointingGame.Hit(e.Map.Span, width, onTarget, o.PointingTolerance) ? 1 : 0;
            }

            if (o.Wants("energy"))
            {
                target.Scores["energy"] = EnergyPointingGame.Score(e.Map.Span, onTarget);
            }

            if (o.Wants("selectivity") && item.Objects.Any(x => x.Class != e.Class))
            {
                target.Scores["selectivity"] = TargetSelectivity.Score(e.Map.Span, onTarget, Union(item.Objects.Where(x => x.Class != e.Class), pixels, item.Name));
            }
        }

        if (o.Wants("miou"))
        {
            var truth = new int[pixels];
            Array.Fill(truth, PseudoMaskIoU.Background);
            foreach (var x in item.Objects)
            {
                var mask = Checked(x, pixels, item.Name).Span;
                for (var p = 0; p < pixels; p++)
                {
                    truth[p] = mask[p] ? x.Class : truth[p];
                }
            }

            overlaps = PseudoMaskIoU.Overlaps(explanations.ToDictionary(e => e.Class, e => (ReadOnlyMemory<float>)e.Map.Memory), truth, o.MaskRule, o.MaskThreshold);
            var ious = overlaps.Where(v => v.Union > 0).Select(v => (double)v.Intersection / v.Union).ToList();
            meanIoU = ious.Count == 0 ? null : ious.Average();
        }
    }

    /// <summary>Rank correlation of each map with the same target's map under the randomised models.</summary>
    private void Sanity(Tensor batch, Explanation[] valid, TargetResult[] perTarget, int method)
    {
        var classes = Enumerable.Range(0, batch.Dim(0)).Select(i => (IReadOnlyList<int>)[.. valid.Where(e => e.Image == i).Select(e => e.Class)]).ToArray();
        var curves = valid.Select(_ => new List<double> { 1.0 }).ToArray();
        foreach (var explainer in _randomized.Value[method])
        {
            var randomized = explainer.Explain(batch, TargetSelection.PerImage(classes));
            try
            {
                for (var i = 0; i < valid.Length; i++)
                {
                    var match = randomized.First(r => r.Image == valid[i].Image && r.Class == valid[i].Class);
                    curves[i].Add(SanityCheck.Correlation(valid[i].Map.Span, match.Map.Span));
                }
            }
            finally
            {
                foreach (var r in randomized)
                {
                    r.Dispose();
                }
            }
        }

        AddCurves("sanity", perTarget, [.. curves.Select(c => c.ToArray())], SanityFractions, curve => curve[^1]);
    }

    private static void AddCurves(string metric, TargetResult[] targets, IReadOnlyList<double[]> curves, IReadOnlyList<double> x, Func<double[], double> score)
    {
        for (var i = 0; i < targets.Length; i++)
        {
            targets[i].Curves[metric] = (x, curves[i]);
            targets[i].Scores[metric] = score(curves[i]);
        }
    }

    private static double Mean(double[] curve) => curve.Average();

    private static bool[] Union(IEnumerable<EvaluationObject> objects, int pixels, string item)
    {
        var union = new bool[pixels];
        foreach (var o in objects)
        {
            var mask = Checked(o, pixels, item).Span;
            for (var p = 0; p < pixels; p++)
            {
                union[p] |= mask[p];
            }
        }

        return union;
    }

    private static ReadOnlyMemory<bool> Checked(EvaluationObject o, int pixels, string item) =>
        o.Mask.Length == pixels ? o.Mask : throw new ArgumentException($"Item '{item}': the mask of class {o.Class} has {o.Mask.Length} pixels; the maps have {pixels}.");

    private int[] SanityDepths()
    {
        var layers = SanityCheck.CascadeLayers(_model).Count;
        return [.. Enumerable.Range(1, Math.Min(_options.SanitySteps, layers)).Select(s => (int)Math.Ceiling((double)s * layers / Math.Min(_options.SanitySteps, layers))).Distinct()];
    }

    /// <summary>Per method, an explainer per cascade depth over the randomised model.</summary>
    private Explainer[][] SanityExplainers(IReadOnlyList<ExplainOptions> methods)
    {
        var models = SanityDepths().Select(d => SanityCheck.Randomized(_model, d, _options.Seed)).ToArray();
        return [.. methods.Select(m => models.Select(model => Explainer.Create(model, m)).ToArray())];
    }

    /// <summary>A target's scores and curves while its batch is scored.</summary>
    private sealed class TargetResult(int targetClass, float probability)
    {
        public int Class => targetClass;

        public float Probability => probability;

        public Dictionary<string, double> Scores { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, (IReadOnlyList<double> X, double[] Y)> Curves { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>One method's results for one batch, item by item, until they are recorded.</summary>
    private sealed class MethodBatch(int items)
    {
        public string?[] Errors { get; } = new string?[items];

        public List<TargetResult>[] Targets { get; } = [.. Enumerable.Range(0, items).Select(_ => new List<TargetResult>())];

        public double?[] MeanIoU { get; } = new double?[items];

        public IReadOnlyList<ClassOverlap>[] Overlaps { get; } = [.. Enumerable.Range(0, items).Select(_ => (IReadOnlyList<ClassOverlap>)[])];

        public void Fail(int item, string error) => Errors[item] ??= error;

        public void FailAll(string error)
        {
            for (var i = 0; i < items; i++)
            {
                Fail(i, error);
            }
        }

        /// <summary>Adds the successful items' results to the accumulator (a failed item adds only its count) and lists every item's outcome.</summary>
        public IEnumerable<ItemEvaluation> Record(string method, MetricAccumulator accumulator)
        {
            for (var i = 0; i < items; i++)
            {
                var failed = Errors[i] is not null;
                accumulator.CountItem(method, failed);
                if (failed)
                {
                    yield return new ItemEvaluation(i, method, [], null, Errors[i]);
                    continue;
                }

                foreach (var target in Targets[i])
                {
                    foreach (var (metric, value) in target.Scores)
                    {
                        accumulator.Add(method, metric, value);
                    }

                    foreach (var (metric, (x, y)) in target.Curves)
                    {
                        accumulator.AddCurve(method, metric, x, y);
                    }
                }

                foreach (var overlap in Overlaps[i])
                {
                    accumulator.AddOverlap(method, overlap);
                }

                yield return new ItemEvaluation(i, method, [.. Targets[i].Select(t => new TargetScores(t.Class, t.Probability, t.Scores))], MeanIoU[i], null);
            }
        }
    }
}
