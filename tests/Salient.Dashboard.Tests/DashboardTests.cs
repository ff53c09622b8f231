using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Salient.Dashboard.Tests;

/// <summary>
/// The dashboard in headless Chromium against a coordinator: a job followed to 100% over SSE, its
/// metrics table and plots, its gallery images, the workers table. Screenshots go to
/// <c>TestResults/dashboard/</c> under the test output folder.
/// </summary>
public abstract class DashboardTests<TCluster>(TCluster cluster, BrowserFixture browser, ITestOutputHelper output)
    where TCluster : class, IDashboardCluster
{
    // A real cluster's job takes tens of seconds on a loaded machine; the stub's runs in one.
    private const float Timeout = 45_000;

    /// <summary>The coordinator under test, for tests of one kind of cluster.</summary>
    protected TCluster Cluster => cluster;

    /// <summary>The headless browser.</summary>
    protected BrowserFixture Browser => browser;

    /// <summary>The test's log.</summary>
    protected ITestOutputHelper Output => output;

    [Fact]
    public async Task Dashboard_follows_a_job_to_the_end_and_shows_its_metrics_gallery_and_the_workers()
    {
        var jobId = await cluster.SubmitJobAsync(CancellationToken.None);
        await using var context = await browser.Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(Timeout);
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                problems.Add($"{message.Text} ({message.Location})");
            }
        };
        page.PageError += (_, error) => problems.Add(error);

        // Jobs: the key comes from ?key= and leaves the address bar; progress reaches 100% by SSE.
        await page.GotoAsync(new Uri(cluster.BaseAddress, $"/?key={Uri.EscapeDataString(cluster.ApiKey)}#/").ToString());
        Assert.Equal("Salient cluster", await page.TitleAsync());
        Assert.DoesNotContain("key=", page.Url, StringComparison.Ordinal);
        Assert.Equal(cluster.ApiKey, await page.InputValueAsync("#api-key"));
        var row = $"#jobs tr[data-job=\"{jobId}\"]";
        await page.WaitForSelectorAsync($"{row} progress[value=\"100\"]");
        Assert.Equal("100%", await page.InnerTextAsync($"{row} .percent"));
        await page.WaitForSelectorAsync($"{row}[data-state=\"succeeded\"]");
        await Screenshot(page, "jobs.png");

        // Job: the metrics table has a row per method with mean ± sd cells; plots are drawn.
        await page.ClickAsync($"{row} a");
        await page.WaitForSelectorAsync("#metrics:not([hidden]) tbody tr");
        var metricRows = await page.Locator("#metrics tbody tr").AllInnerTextsAsync();
        Assert.Equal(cluster.MethodCount, metricRows.Count);
        Assert.All(metricRows, r => Assert.Contains("±", r, StringComparison.Ordinal));
        Assert.True(await page.Locator("#plots svg").CountAsync() >= 2, "a bar chart and a curve plot");
        Assert.Equal("100%", await page.InnerTextAsync("#job-summary .percent"));

        // Gallery: every image decoded (naturalWidth > 0), each card names its target.
        await page.WaitForSelectorAsync("#gallery img");
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#gallery img')].every(img => img.complete && img.naturalWidth > 0)");
        Assert.True(await page.Locator("#gallery img").CountAsync() >= 2, "inputs and overlays of the job's items");
        Assert.Contains("Target:", await page.InnerTextAsync("#gallery .card"), StringComparison.Ordinal);
        await Screenshot(page, "job.png");

        // Narrow screens: only the tables scroll sideways, never the page.
        await page.SetViewportSizeAsync(390, 844);
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= innerWidth"), "the page fits a 390 px wide screen");
        await Screenshot(page, "job-narrow.png");
        await page.SetViewportSizeAsync(1280, 900);

        // Workers.
        await page.ClickAsync("nav a[data-nav=\"workers\"]");
        await page.WaitForSelectorAsync("#workers tbody tr");
        Assert.True(await page.Locator("#workers tbody tr").CountAsync() > 0);
        Assert.Contains("ago", await page.InnerTextAsync("#workers tbody tr"), StringComparison.Ordinal);
        await Screenshot(page, "workers.png");

        Assert.Empty(problems);
    }

    private async Task Screenshot(IPage page, string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "TestResults", "dashboard", $"{typeof(TCluster).Name}-{name}");
        await page.ScreenshotAsync(new() { Path = path, FullPage = true });
        output.WriteLine($"screenshot: {path}");
    }
}

/// <summary>The dashboard against <see cref="StubCoordinator"/>.</summary>
public sealed class StubDashboardTests(StubCoordinator cluster, BrowserFixture browser, ITestOutputHelper output)
    : DashboardTests<StubCoordinator>(cluster, browser, output), IClassFixture<StubCoordinator>, IClassFixture<BrowserFixture>;
