using Microsoft.Playwright;

namespace Salient.Dashboard.Tests;

/// <summary>
/// What the dashboard shows of jobs and workers that are not plain successes, against <see cref="StubCoordinator"/>:
/// ids of jobs created together, ETAs of failed and cancelled jobs, an input that failed for every method,
/// a worker whose heartbeats stopped.
/// </summary>
public sealed class DashboardDetailsTests(StubCoordinator cluster, BrowserFixture browser) : IClassFixture<StubCoordinator>, IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task Jobs_created_together_get_distinct_ids_and_only_a_succeeded_job_says_done()
    {
        var page = await OpenAsync("#/");
        var (failed, cancelled) = (StubCoordinator.TwinJobs[0].Id, StubCoordinator.TwinJobs[1].Id);
        await page.WaitForSelectorAsync($"#jobs tr[data-job=\"{cancelled}\"]");

        var failedLabel = await page.InnerTextAsync($"#jobs tr[data-job=\"{failed}\"] th a");
        var cancelledLabel = await page.InnerTextAsync($"#jobs tr[data-job=\"{cancelled}\"] th a");
        Assert.NotEqual(failedLabel, cancelledLabel);
        Assert.Equal("0193a1b2…4a5b", failedLabel);
        Assert.Equal("4f6c1e2a", await page.InnerTextAsync("#jobs tr[data-job=\"4f6c1e2a-9b3d-4c5e-8f7a-1b2c3d4e5f60\"] th a"));

        // ETA is the 7th td (the id is the row's th).
        Assert.Equal("–", await page.InnerTextAsync($"#jobs tr[data-job=\"{failed}\"] td:nth-of-type(7)"));
        Assert.Equal("–", await page.InnerTextAsync($"#jobs tr[data-job=\"{cancelled}\"] td:nth-of-type(7)"));
    }

    [Fact]
    public async Task An_input_that_failed_for_every_method_has_one_error_card_naming_the_methods()
    {
        var page = await OpenAsync("#/jobs/4f6c1e2a-9b3d-4c5e-8f7a-1b2c3d4e5f60");
        await page.WaitForSelectorAsync("#gallery .card.failed");
        await page.WaitForSelectorAsync("#gallery .card:not(.failed)");

        Assert.Equal(1, await page.Locator("#gallery .card.failed").CountAsync());
        var text = await page.InnerTextAsync("#gallery .card.failed");
        Assert.Contains("datasets/demo/broken.jpg", text, StringComparison.Ordinal);
        Assert.Contains("Failed (gradcam, layercam): Input 'datasets/demo/broken.jpg': JPEG data is truncated or corrupt", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_worker_without_heartbeats_for_45_s_is_stale_while_the_coordinator_still_says_active()
    {
        var page = await OpenAsync("#/workers");
        await page.WaitForSelectorAsync("#workers tbody tr[data-worker$=\"3\"]");

        Assert.Equal("stale", await page.GetAttributeAsync("#workers tr[data-worker$=\"3\"]", "data-state"));
        Assert.Equal("stale", await page.InnerTextAsync("#workers tr[data-worker$=\"3\"] .state"));
        Assert.Equal("active", await page.InnerTextAsync("#workers tr[data-worker$=\"1\"] .state"));
        Assert.Equal("lost", await page.InnerTextAsync("#workers tr[data-worker$=\"2\"] .state"));
    }

    private async Task<IPage> OpenAsync(string view)
    {
        var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(new Uri(cluster.BaseAddress, $"/?key={Uri.EscapeDataString(cluster.ApiKey)}{view}").ToString());
        return page;
    }
}
