using Microsoft.Playwright;

namespace Salient.Dashboard.Tests;

/// <summary>
/// Headless Chromium through Playwright: the system's Debian <c>chromium</c> (or <c>SALIENT_CHROMIUM</c>),
/// since Playwright's own browser download may be unavailable offline.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private static readonly string[] SystemChromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var executable = Environment.GetEnvironmentVariable("SALIENT_CHROMIUM") is { Length: > 0 } configured ? configured : SystemChromium.FirstOrDefault(File.Exists);
        _playwright = await Playwright.CreateAsync();
        // Without a system browser, Playwright looks for its own download (playwright.ps1 install chromium).
        Browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = executable, Headless = true });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}
