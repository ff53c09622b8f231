using Salient.Engine;
using Salient.Engine.IO;
using Salient.Methods.Metrics;

namespace Salient.Methods.Tests.Metrics;

/// <summary>The batch evaluator on the ResNet fixture: every metric recorded, per-item errors, shards merging into the whole.</summary>
public sealed class MetricEvaluatorTests
{
    private static readonly Lazy<Model> ResNet = new(() => Model.Load(Fixtures.Path("models", "resnet_basic.onnx")));

    private static readonly MetricOptions Fast = new() { Steps = 4, RoadPercentages = [25, 75], SanitySteps = 2 };

    [Fact]
    public void Every_metric_is_scored_per_target_and_a_bad_item_fails_alone()
    {
        var evaluator = new MetricEvaluator(ResNet.Value, [new ExplainOptions { Method = "gradcam" }, new ExplainOptions { Method = "gradient" }], Fast);
        using var input = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var accumulator = new MetricAccumulator();
        var seen = new List<(int, string)>();
        EvaluationItem[] items =
        [
            new("two objects", [new(2, Half(left: true)), new(7, Half(left: false))]),
            new("bad mask", [new(3, new bool[10])]),
        ];

        var results = evaluator.Evaluate(input, items, accumulator, (item, method, _) => seen.Add((item, method)));

        Assert.Equal(4, results.Count);
        Assert.All(results.Where(r => r.Item == 1), r => Assert.Contains("'bad mask'", r.Error, StringComparison.Ordinal));
        foreach (var result in results.Where(r => r.Item == 0))
        {
            Assert.Null(result.Error);
            Assert.Equal([2, 7], result.Targets.Select(t => t.Class));
            Assert.All(result.Targets, t => Assert.Equal(
                ["deletion", "energy", "insertion", "pointing", "road", "road-lerf", "road-morf", "sanity", "selectivity"],
                t.Scores.Keys.Order(StringComparer.Ordinal)));
            Assert.InRange(result.MeanIoU!.Value, 0, 1);
        }

        Assert.Equal([(0, "gradcam"), (0, "gradcam"), (1, "gradcam"), (0, "gradient"), (0, "gradient"), (1, "gradient")], seen);
        var summary = accumulator.Summarize("gradcam");
        Assert.Equal((2L, 1L), (summary.Items, summary.Errors));
        Assert.Equal(2, summary.Scalars["deletion"].Count);
        Assert.Equal(5, summary.Curves["deletion"].X.Count);
        Assert.Equal([-1, 2, 7], summary.Segmentation!.ClassIoU.Keys.Order());
    }

    [Fact]
    public void Shards_evaluated_apart_merge_into_the_whole_batchs_numbers()
    {
        var options = Fast with { Metrics = ["deletion", "insertion", "pointing", "energy", "miou"] };
        var evaluator = new MetricEvaluator(ResNet.Value, [new ExplainOptions { Method = "gradcam" }], options);
        using var input = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        EvaluationItem[] items = [new("a", [new(1, Half(left: true))]), new("b", [new(4, Half(left: false))])];
        var whole = new MetricAccumulator();
        evaluator.Evaluate(input, items, whole);

        var merged = new MetricAccumulator();
        for (var i = 0; i < 2; i++)
        {
            var shard = new MetricAccumulator();
            using var one = Tensor.FromSpan(input.Span.Slice(i * 3072, 3072), 1, 3, 32, 32);
            evaluator.Evaluate(one, [items[i]], shard);
            merged.Merge(MetricAccumulator.FromJson(shard.ToJson()));
        }

        // Alone, an item's maps differ from the batched ones by float rounding (~1e-7), which can reorder near-equal
        // pixels in the deletion order; the accumulation itself is exact (MetricAccumulatorTests).
        var (a, b) = (whole.Summarize("gradcam"), merged.Summarize("gradcam"));
        Assert.Equal((a.Items, a.Errors), (b.Items, b.Errors));
        Assert.Equal(a.Segmentation!.ClassIoU.Keys, b.Segmentation!.ClassIoU.Keys);
        Assert.All(a.Segmentation.ClassIoU, kv => Assert.Equal(kv.Value, b.Segmentation.ClassIoU[kv.Key], 3));
        foreach (var metric in a.Scalars.Keys)
        {
            Assert.Equal(a.Scalars[metric].Count, b.Scalars[metric].Count);
            Assert.Equal(a.Scalars[metric].Mean, b.Scalars[metric].Mean, 3);
        }
    }

    [Fact]
    public void Unknown_metrics_and_repeated_methods_are_refused_naming_the_valid_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => new MetricEvaluator(ResNet.Value, [new ExplainOptions { Method = "gradcam" }], new MetricOptions { Metrics = ["deletoin"] }));
        Assert.Contains("deletion, insertion, road", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new MetricEvaluator(ResNet.Value, [new ExplainOptions { Method = "gradcam" }, new ExplainOptions { Method = "gradcam" }], new MetricOptions()));
    }

    private static ReadOnlyMemory<bool> Half(bool left) => Enumerable.Range(0, 32 * 32).Select(p => p % 32 < 16 == left).ToArray();
}
