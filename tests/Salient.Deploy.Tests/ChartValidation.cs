using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Salient.Deploy.Tests;

/// <summary>
/// Runs <c>helm/validate.sh</c> once for the test class: it lints and renders the chart with each
/// <c>helm/salient/ci/*-values.yaml</c> into <c>helm/.rendered/</c>, validates every object against
/// the Kubernetes and KEDA schemas, and checks that invalid values are refused.
/// </summary>
public sealed class ChartValidation
{
    /// <summary>validate.sh's exit status when it cannot obtain helm or its node packages.</summary>
    private const int ToolsUnavailable = 3;

    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    public ChartValidation()
    {
        HelmDirectory = FindHelmDirectory();
        using var process = Process.Start(new ProcessStartInfo("bash", [Path.Combine(HelmDirectory, "validate.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"helm/validate.sh ran longer than {Timeout}");
        }

        ExitCode = process.ExitCode;
        Output = stdout.Result + stderr.Result;
    }

    public string HelmDirectory { get; }

    public int ExitCode { get; }

    public string Output { get; }

    /// <summary>Skips the calling test when the tools could not be obtained; fails it when validation failed.</summary>
    public void RequireValid()
    {
        Skip.If(ExitCode == ToolsUnavailable, "helm/validate.sh could not obtain its tools: " + Output.Trim());
        Assert.True(ExitCode == 0, "helm/validate.sh failed:\n" + Output);
    }

    /// <summary>The objects rendered from <c>helm/salient/ci/{name}-values.yaml</c>.</summary>
    public IReadOnlyList<JsonObject> Rendered(string name)
    {
        RequireValid();
        var json = File.ReadAllText(Path.Combine(HelmDirectory, ".rendered", name + ".yaml.json"));
        return JsonNode.Parse(json)!.AsArray().Select(node => node!.AsObject()).ToList();
    }

    private static string FindHelmDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "helm");
            if (File.Exists(Path.Combine(candidate, "validate.sh")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("helm/validate.sh not found above " + AppContext.BaseDirectory);
    }
}
