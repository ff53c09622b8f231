using System.Text.Json;
using System.Text.Json.Serialization;

namespace Salient.Methods.Metrics;

/// <summary>
/// Sums of metric results per method — item and error counts, scalar sums with histograms, curve
/// sums and per-class segmentation counts — that merge into exact totals: a job's numbers are the
/// merge of its shards' accumulators, in any order, with the same bits as one pass over all items.
/// Scalars and curve points are summed in fixed point (resolution 2⁻³², so values up to ±2³¹ in
/// total), which makes the sums associative where floating-point sums are not; minima, maxima and
/// counts are exact anyway. Round-trips through <see cref="ToJson"/> and <see cref="FromJson"/>.
/// </summary>
public sealed class MetricAccumulator
{
    /// <summary>Histogram bins: 40 of width 0.05 over [−1, 1]; values outside fall into the end bins.</summary>
    public const int HistogramBins = 40;

    private const double FixedPoint = 4294967296.0;

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = false };

    private readonly SortedDictionary<string, MethodSums> _methods;

    /// <summary>An empty accumulator.</summary>
    public MetricAccumulator()
        : this(new SortedDictionary<string, MethodSums>(StringComparer.Ordinal))
    {
    }

    private MetricAccumulator(SortedDictionary<string, MethodSums> methods) => _methods = methods;

    /// <summary>The methods with results, in ordinal order.</summary>
    public IReadOnlyList<string> Methods => [.. _methods.Keys];

    /// <summary>Counts one item evaluated with <paramref name="method"/>, as failed or not.</summary>
    public void CountItem(string method, bool failed)
    {
        var sums = For(method);
        sums.Items++;
        sums.Errors += failed ? 1 : 0;
    }

    /// <summary>Adds one value of a scalar metric.</summary>
    public void Add(string method, string metric, double value)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentException($"{method} {metric}: the value {value} is not finite.", nameof(value));
        }

        var sums = For(method);
        if (!sums.Scalars.TryGetValue(metric, out var scalar))
        {
            sums.Scalars[metric] = scalar = new ScalarSums { Min = value, Max = value, Histogram = new long[HistogramBins] };
        }

        scalar.Count++;
        scalar.Sum += ToFixed(value);
        scalar.SumOfSquares += ToFixed(value * value);
        scalar.Min = Math.Min(scalar.Min, value);
        scalar.Max = Math.Max(scalar.Max, value);
        scalar.Histogram[Math.Clamp((int)Math.Floor((value + 1) / 2 * HistogramBins), 0, HistogramBins - 1)]++;
    }

    /// <summary>Adds one curve <paramref name="y"/> sampled at <paramref name="x"/>; every curve of a metric must share its x.</summary>
    public void AddCurve(string method, string metric, IReadOnlyList<double> x, ReadOnlySpan<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Count != y.Length)
        {
            throw new ArgumentException($"{method} {metric}: {y.Length} curve values for {x.Count} positions.", nameof(y));
        }

        var sums = For(method);
        if (!sums.Curves.TryGetValue(metric, out var curve))
        {
            sums.Curves[metric] = curve = new CurveSums { X = [.. x], Sums = new long[x.Count] };
        }

        CheckSameX(method, metric, curve.X, x);
        curve.Count++;
        for (var i = 0; i < y.Length; i++)
        {
            curve.Sums[i] += ToFixed(y[i]);
        }
    }

    /// <summary>Adds a class's segmentation counts from one image.</summary>
    public void AddOverlap(string method, ClassOverlap overlap)
    {
        var segmentation = For(method).Segmentation;
        var counts = segmentation.GetValueOrDefault(overlap.Class) ?? new long[2];
        counts[0] += overlap.Intersection;
        counts[1] += overlap.Union;
        segmentation[overlap.Class] = counts;
    }

    /// <summary>Adds everything <paramref name="other"/> holds into this accumulator.</summary>
    /// <exception cref="InvalidOperationException">A curve was sampled at other positions in <paramref name="other"/>.</exception>
    public void Merge(MetricAccumulator other)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (var (method, theirs) in other._methods)
        {
            var ours = For(method);
            ours.Items += theirs.Items;
            ours.Errors += theirs.Errors;
            foreach (var (metric, scalar) in theirs.Scalars)
            {
                if (!ours.Scalars.TryGetValue(metric, out var mine))
                {
                    ours.Scalars[metric] = mine = new ScalarSums { Min = scalar.Min, Max = scalar.Max, Histogram = new long[HistogramBins] };
                }

                mine.Count += scalar.Count;
                mine.Sum += scalar.Sum;
                mine.SumOfSquares += scalar.SumOfSquares;
                mine.Min = Math.Min(mine.Min, scalar.Min);
                mine.Max = Math.Max(mine.Max, scalar.Max);
                for (var b = 0; b < HistogramBins; b++)
                {
                    mine.Histogram[b] += scalar.Histogram[b];
                }
            }

            foreach (var (metric, curve) in theirs.Curves)
            {
                if (!ours.Curves.TryGetValue(metric, out var mine))
                {
                    ours.Curves[metric] = mine = new CurveSums { X = [.. curve.X], Sums = new long[curve.X.Length] };
                }

                CheckSameX(method, metric, mine.X, curve.X);
                mine.Count += curve.Count;
                for (var i = 0; i < mine.Sums.Length; i++)
                {
                    mine.Sums[i] += curve.Sums[i];
                }
            }

            foreach (var (c, counts) in theirs.Segmentation)
            {
                AddOverlap(method, new ClassOverlap(c, counts[0], counts[1]));
            }
        }
    }

    /// <summary>What has been accumulated for <paramref name="method"/>, as means, spreads, mean curves and IoUs.</summary>
    public MethodSummary Summarize(string method)
    {
        var sums = _methods.TryGetValue(method, out var found) ? found : new MethodSums();
        var scalars = sums.Scalars.ToDictionary(kv => kv.Key, kv =>
        {
            var s = kv.Value;
            var mean = s.Sum / FixedPoint / s.Count;
            var variance = Math.Max(0, (s.SumOfSquares / FixedPoint / s.Count) - (mean * mean));
            return new ScalarSummary(s.Count, mean, Math.Sqrt(variance), s.Min, s.Max, [.. s.Histogram]);
        }, StringComparer.Ordinal);
        var curves = sums.Curves.ToDictionary(kv => kv.Key, kv => new CurveSummary(kv.Value.Count, kv.Value.X, [.. kv.Value.Sums.Select(v => v / FixedPoint / kv.Value.Count)]), StringComparer.Ordinal);
        SegmentationSummary? segmentation = null;
        if (sums.Segmentation.Count > 0)
        {
            var iou = sums.Segmentation.Where(kv => kv.Value[1] > 0).ToDictionary(kv => kv.Key, kv => (double)kv.Value[0] / kv.Value[1]);
            segmentation = new SegmentationSummary(iou.Count == 0 ? 0 : iou.Values.Average(), iou);
        }

        return new MethodSummary(method, sums.Items, sums.Errors, scalars, curves, segmentation);
    }

    /// <summary>The accumulator as JSON, for storing a shard's sums.</summary>
    public string ToJson() => JsonSerializer.Serialize(_methods, Json);

    /// <summary>An accumulator from <see cref="ToJson"/>'s text.</summary>
    /// <exception cref="JsonException">The text is not an accumulator.</exception>
    public static MetricAccumulator FromJson(string json)
    {
        var methods = JsonSerializer.Deserialize<SortedDictionary<string, MethodSums>>(json, Json) ?? throw new JsonException("The accumulator JSON is null.");
        var accumulator = new MetricAccumulator(new SortedDictionary<string, MethodSums>(methods, StringComparer.Ordinal));
        foreach (var (method, sums) in methods)
        {
            if (sums.Scalars.Values.Any(s => s.Histogram?.Length != HistogramBins) || sums.Curves.Values.Any(c => c.X is null || c.Sums?.Length != c.X.Length)
                || sums.Segmentation.Values.Any(v => v?.Length != 2))
            {
                throw new JsonException($"The accumulator JSON of method '{method}' has malformed histograms, curves or segmentation counts.");
            }
        }

        return accumulator;
    }

    private static long ToFixed(double value) => checked((long)Math.Round(value * FixedPoint));

    private static void CheckSameX(string method, string metric, IReadOnlyList<double> mine, IReadOnlyList<double> theirs)
    {
        if (!mine.SequenceEqual(theirs))
        {
            throw new InvalidOperationException($"{method} {metric}: curves sampled at different positions cannot be summed ([{string.Join(", ", mine)}] and [{string.Join(", ", theirs)}]).");
        }
    }

    private MethodSums For(string method)
    {
        ArgumentNullException.ThrowIfNull(method);
        if (!_methods.TryGetValue(method, out var sums))
        {
            _methods[method] = sums = new MethodSums();
        }

        return sums;
    }

    // Serialised state: public properties for System.Text.Json, internal types so they are not API.
    internal sealed class MethodSums
    {
        public long Items { get; set; }

        public long Errors { get; set; }

        public SortedDictionary<string, ScalarSums> Scalars { get; set; } = new(StringComparer.Ordinal);

        public SortedDictionary<string, CurveSums> Curves { get; set; } = new(StringComparer.Ordinal);

        /// <summary>Per class: [intersection, union].</summary>
        public SortedDictionary<int, long[]> Segmentation { get; set; } = [];
    }

    internal sealed class ScalarSums
    {
        public long Count { get; set; }

        public long Sum { get; set; }

        public long SumOfSquares { get; set; }

        public double Min { get; set; }

        public double Max { get; set; }

        public long[] Histogram { get; set; } = [];
    }

    internal sealed class CurveSums
    {
        public long Count { get; set; }

        public double[] X { get; set; } = [];

        public long[] Sums { get; set; } = [];
    }
}

/// <summary>A method's accumulated results.</summary>
/// <param name="Method">The method.</param>
/// <param name="Items">Items evaluated.</param>
/// <param name="Errors">Items that failed.</param>
/// <param name="Scalars">Per scalar metric, its statistics.</param>
/// <param name="Curves">Per curve metric, its mean curve.</param>
/// <param name="Segmentation">Pseudo-mask IoUs, when any were counted.</param>
public sealed record MethodSummary(string Method, long Items, long Errors, IReadOnlyDictionary<string, ScalarSummary> Scalars,
    IReadOnlyDictionary<string, CurveSummary> Curves, SegmentationSummary? Segmentation);

/// <summary>Statistics of one scalar metric.</summary>
/// <param name="Count">Values added.</param>
/// <param name="Mean">Their mean.</param>
/// <param name="StandardDeviation">Their population standard deviation.</param>
/// <param name="Min">The smallest value.</param>
/// <param name="Max">The largest value.</param>
/// <param name="Histogram">Counts in <see cref="MetricAccumulator.HistogramBins"/> bins over [−1, 1].</param>
public sealed record ScalarSummary(long Count, double Mean, double StandardDeviation, double Min, double Max, IReadOnlyList<long> Histogram);

/// <summary>The mean of a curve metric's curves.</summary>
/// <param name="Count">Curves added.</param>
/// <param name="X">Where the curves are sampled.</param>
/// <param name="Mean">The mean value at each position.</param>
public sealed record CurveSummary(long Count, IReadOnlyList<double> X, IReadOnlyList<double> Mean);

/// <summary>Pseudo-mask segmentation quality: IoU per class (<see cref="PseudoMaskIoU.Background"/> included) from summed intersections and unions.</summary>
/// <param name="MeanIoU">The mean of <paramref name="ClassIoU"/>.</param>
/// <param name="ClassIoU">Per class with a non-empty union, intersection / union.</param>
public sealed record SegmentationSummary(double MeanIoU, IReadOnlyDictionary<int, double> ClassIoU);
