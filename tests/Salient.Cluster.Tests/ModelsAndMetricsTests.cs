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
    public void Silos_use_kubernetes_hosting_only_in_a_pod_that_names_itself()
    {
        var pod = new Dictionary<string, string> { ["POD_NAME"] = "salient-worker-cpu-0", ["POD_NAMESPACE"] = "salient", ["POD_IP"] = "10.1.2.3" };
        Assert.True(Silo.SiloSetup.InKubernetesPod(pod.GetValueOrDefault));
        pod.Remove("POD_IP");
        Assert.False(Silo.SiloSetup.InKubernetesPod(pod.GetValueOrDefault));
        Assert.False(Silo.SiloSetup.InKubernetesPod(_ => null));
    }
}
