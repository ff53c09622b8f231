using Salient.Client;
using Xunit.Abstractions;

namespace Salient.Dashboard.Tests;

/// <summary>
/// The dashboard's coordinator for real (<see cref="ScriptedCluster"/>): a folder blob store, a
/// coordinator and two workers, the fixture model registered through <see cref="SalientClient"/>, and
/// an eval job over a few dozen fixture images submitted through it, so that the job has metrics as
/// well as results.
/// </summary>
public sealed class RealCluster() : ScriptedCluster(workers: 2, blob: "folder", models: "any"), IDashboardCluster
{
    private const string Prefix = "datasets/dashboard/";
    private static readonly string[] Methods = ["gradcam", "gradient"];

    public Uri BaseAddress => Coordinator;

    string IDashboardCluster.ApiKey => ApiKey;

    public int MethodCount => Methods.Length;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await UploadModelAsync("resnet");
        await UploadImagesAsync(Prefix, 24);
    }

    public async Task<string> SubmitJobAsync(CancellationToken cancellationToken)
    {
        var job = await Client.SubmitJobAsync(new JobSubmission
        {
            Kind = "eval", Model = "resnet", Inputs = new JobInputs(Prefix: Prefix), Methods = Methods, Metrics = ["deletion", "insertion"], ShardSize = 4,
        }, cancellationToken);
        return job.Id.ToString();
    }
}

/// <summary>The dashboard against <see cref="RealCluster"/>.</summary>
public sealed class RealClusterDashboardTests(RealCluster cluster, BrowserFixture browser, ITestOutputHelper output)
    : DashboardTests<RealCluster>(cluster, browser, output), IClassFixture<RealCluster>, IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task A_killed_worker_stops_showing_active_within_a_minute()
    {
        await using var context = await Browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(Cluster.BaseAddress, $"/?key={Uri.EscapeDataString(ScriptedCluster.ApiKey)}#/workers").ToString());
        var row = page.Locator("#workers tbody tr", new() { HasText = "worker2" });
        // Listed once the coordinator has the silo's metadata (a moment after it joins).
        await Microsoft.Playwright.Assertions.Expect(row).ToHaveAttributeAsync("data-state", "active", new() { Timeout = 60_000 });

        Cluster.Kill("worker2");
        var killed = System.Diagnostics.Stopwatch.StartNew();
        // Stale when its heartbeats stop, or lost once its peers declare its silo dead (Orleans' membership: seconds).
        await Microsoft.Playwright.Assertions.Expect(row).ToHaveAttributeAsync("data-state", new System.Text.RegularExpressions.Regex("^(stale|lost)$"), new() { Timeout = 60_000 });
        Output.WriteLine($"worker2 shown {await row.GetAttributeAsync("data-state")} {killed.Elapsed.TotalSeconds:0} s after kill -9");
        Assert.Equal("active", await page.Locator("#workers tbody tr", new() { HasText = "worker1" }).GetAttributeAsync("data-state"));
    }
}
