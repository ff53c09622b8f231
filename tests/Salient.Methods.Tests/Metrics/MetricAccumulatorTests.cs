using System.Text.Json;
using Salient.Methods.Metrics;

namespace Salient.Methods.Tests.Metrics;

/// <summary>Accumulation, exact merging and the JSON round trip.</summary>
public sealed class MetricAccumulatorTests
{
    private static readonly double[] X = [0, 0.5, 1];

    [Fact]
    public void Shards_merged_in_any_order_equal_one_pass_over_all_items_to_the_bit()
    {
        var random = new Random(11);
        var items = Enumerable.Range(0, 300).Select(_ => (Value: random.NextDouble(), Curve: new[] { random.NextDouble(), random.NextDouble() / 3, random.NextDouble() * 1e-3 }, I: random.Next(50), U: 50 + random.Next(50))).ToArray();
        void AddItem(MetricAccumulator accumulator, int i)
        {
            accumulator.CountItem("gradcam", failed: i % 7 == 0);
            accumulator.Add("gradcam", "deletion", items[i].Value);
            accumulator.Add("gradcam", "sanity", (2 * items[i].Value) - 1);
            accumulator.AddCurve("gradcam", "deletion", X, items[i].Curve);
            accumulator.AddOverlap("gradcam", new ClassOverlap(i % 3, items[i].I, items[i].U));
        }

        var whole = new MetricAccumulator();
        for (var i = 0; i < items.Length; i++)
        {
            AddItem(whole, i);
        }

        var shards = Enumerable.Range(0, 4).Select(_ => new MetricAccumulator()).ToArray();
        for (var i = 0; i < items.Length; i++)
        {
            AddItem(shards[(i * 7) % 4], i);
        }

        var merged = new MetricAccumulator();
        foreach (var shard in new[] { shards[2], shards[0], shards[3], shards[1] })
        {
            merged.Merge(MetricAccumulator.FromJson(shard.ToJson()));
        }

        Assert.Equal(whole.ToJson(), merged.ToJson());
        var summary = merged.Summarize("gradcam");
        Assert.Equal(300, summary.Items);
        Assert.Equal(43, summary.Errors);
        Assert.Equal(items.Average(t => t.Value), summary.Scalars["deletion"].Mean, 9);
        Assert.Equal(300, summary.Scalars["sanity"].Histogram.Sum());

        // IoU per class is Σ intersections / Σ unions, not a mean of per-item ratios.
        for (var c = 0; c < 3; c++)
        {
            var ofClass = items.Where((_, i) => i % 3 == c).ToArray();
            Assert.Equal((double)ofClass.Sum(t => t.I) / ofClass.Sum(t => t.U), summary.Segmentation!.ClassIoU[c], 12);
        }
    }

    [Fact]
    public void Summaries_give_mean_spread_extremes_histogram_and_mean_curves()
    {
        var accumulator = new MetricAccumulator();
        accumulator.Add("m", "energy", 0.25);
        accumulator.Add("m", "energy", 0.75);
        accumulator.AddCurve("m", "insertion", X, [0, 1, 1]);
        accumulator.AddCurve("m", "insertion", X, [0, 0, 1]);

        var summary = MetricAccumulator.FromJson(accumulator.ToJson()).Summarize("m");

        var energy = summary.Scalars["energy"];
        Assert.Equal((2L, 0.5, 0.25, 0.25, 0.75), (energy.Count, energy.Mean, energy.StandardDeviation, energy.Min, energy.Max));
        Assert.Equal(1, energy.Histogram[25]); // [0.25, 0.30)
        Assert.Equal(1, energy.Histogram[35]); // [0.75, 0.80)
        Assert.Equal([0, 0.5, 1], summary.Curves["insertion"].Mean);
        Assert.Null(summary.Segmentation);
    }

    [Fact]
    public void Curves_sampled_elsewhere_or_non_finite_values_are_refused()
    {
        var a = new MetricAccumulator();
        a.AddCurve("m", "deletion", X, [1, 1, 1]);
        var b = new MetricAccumulator();
        b.AddCurve("m", "deletion", [0, 1], [1, 1]);

        Assert.Throws<InvalidOperationException>(() => a.Merge(b));
        Assert.Throws<InvalidOperationException>(() => a.AddCurve("m", "deletion", [0, 1], [1, 1]));
        Assert.Throws<ArgumentException>(() => a.Add("m", "energy", double.NaN));
        Assert.Throws<JsonException>(() => MetricAccumulator.FromJson("""{"m":{"scalars":{"energy":{"count":1,"histogram":[1]}}}}"""));
    }
}
