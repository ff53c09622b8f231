using System.Text.Json.Nodes;

namespace Salient.Cluster.Tests;

public sealed class ModelsAndMetricsTests
{
    [Fact]
    public void Hosted_models_parse_a_models_option()
    {
        Assert.Equal(["resnet50", "vgg16"], HostedModels.Parse(" resnet50, vgg16,resnet50 ").Keys);
        Assert.Same(HostedModels.Any, HostedModels.Parse("any"));
        Assert.Same(HostedModels.Any, HostedModels.Parse("resnet50,any"));
        Assert.Equal("resnet50,vgg16", HostedModels.Parse("resnet50,vgg16").ToString());
    }

    [Fact]
    public void The_sum_merger_sums_numbers_key_by_key_nested_objects_included_and_drops_the_rest()
    {
        var merged = new SumMetricsMerger().Merge(
        [
            new ShardMetrics(0, JsonNode.Parse("""{"images": 2, "pointing": {"hits": 1, "total": 2}, "note": "x"}""")!.AsObject()),
            new ShardMetrics(1, JsonNode.Parse("""{"images": 3, "pointing": {"hits": 2.5}, "seconds": 0.25}""")!.AsObject()),
        ]);

        Assert.Equal("""{"images":5,"pointing":{"hits":3.5,"total":2},"seconds":0.25}""", merged.ToJsonString());
    }
}
