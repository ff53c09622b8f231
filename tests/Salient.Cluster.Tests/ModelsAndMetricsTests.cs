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
}
