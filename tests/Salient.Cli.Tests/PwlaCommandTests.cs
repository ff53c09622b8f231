using System.Globalization;
using System.IO.Compression;
using System.Text.Json;

namespace Salient.Cli.Tests;

/// <summary><c>salient pwla</c> end to end, in process: written files, exit codes and error messages.</summary>
public sealed class PwlaCommandTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("salient-pwla-");

    public void Dispose() => _work.Delete(true);

    [Fact]
    public void Fit_of_a_function_writes_json_summary_and_plot()
    {
        var exit = Program.Main(["pwla", "fit", "--function", "sin(x)", "--interval", "0,2*pi", "--segments", "4", "--continuous", "--out", _work.FullName]);

        Assert.Equal(0, exit);
        var fit = Json("fit.json");
        Assert.Equal(0.0205618, fit.GetProperty("error").GetDouble(), 6);
        Assert.Equal(3, fit.GetProperty("knots").GetArrayLength());
        Assert.Equal(4, fit.GetProperty("lines").GetArrayLength());
        Assert.Equal(4, fit.GetProperty("lattice").GetProperty("weights").GetArrayLength());
        Assert.True(fit.GetProperty("conditions").GetProperty("knot_violation").GetDouble() < 1e-6);
        Assert.Contains("E = 0.02056", File.ReadAllText(Path.Combine(_work.FullName, "summary.txt")), StringComparison.Ordinal);
        AssertValidPng(Path.Combine(_work.FullName, "fit.png"));
    }

    [Fact]
    public void Dp_fit_of_piecewise_linear_samples_is_exact()
    {
        var csv = Path.Combine(_work.FullName, "samples.csv");
        var rows = Enumerable.Range(0, 61).Select(i => i / 20.0).Select(x => string.Create(CultureInfo.InvariantCulture, $"{x},{(x < 1.01 ? x : x < 2.01 ? 5 - (2 * x) : 0.5 * x)}"));
        File.WriteAllLines(csv, ["x,y", .. rows]);

        var exit = Program.Main(["pwla", "fit", "--samples", csv, "--segments", "3", "--method", "dp", "--out", _work.FullName]);

        Assert.Equal(0, exit);
        Assert.True(Json("fit.json").GetProperty("error").GetDouble() < 1e-20);
        AssertValidPng(Path.Combine(_work.FullName, "fit.png"));
    }

    [Theory]
    [InlineData("sin(x", "never closed")]
    [InlineData("sinh(x)", "unknown name 'sinh'")]
    [InlineData("log(x - 2)", "not finite")]
    public void Bad_expressions_exit_1_with_the_reason(string expression, string reason)
    {
        var (exit, _, error) = Cli.Run("pwla", "fit", "--function", expression, "--interval", "0,1", "--segments", "2", "--out", _work.FullName);
        Assert.Equal(1, exit);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_commands_exit_1()
    {
        var output = _work.FullName;
        Assert.Equal(1, Program.Main(["pwla", "fit", "--function", "x", "--segments", "2", "--out", output]));
        Assert.Equal(1, Program.Main(["pwla", "fit", "--function", "x", "--interval", "1,0", "--segments", "2", "--out", output]));
        Assert.Equal(1, Program.Main(["pwla", "fit", "--function", "x", "--interval", "0,1", "--segments", "0", "--out", output]));
        Assert.Equal(1, Program.Main(["pwla", "fit", "--function", "x", "--interval", "0,1", "--segments", "2", "--continuous", "--method", "dp", "--out", output]));
        Assert.Equal(1, Program.Main(["pwla", "fit", "--interval", "0,1", "--segments", "2", "--out", output]));
        Assert.Equal(1, Program.Main(["pwla", "fit", "--samples", Path.Combine(output, "missing.csv"), "--segments", "2", "--out", output]));
        Assert.Equal(1, Program.Main(["pwla", "bench", "--functions", "nope", "--out", output]));
    }

    [Fact]
    public void Bench_writes_json_and_markdown()
    {
        var exit = Program.Main(["pwla", "bench", "--functions", "square", "--segments", "2,3", "--seeds", "1", "--methods", "lnn,de", "--reference-starts", "1", "--out", _work.FullName]);

        Assert.Equal(0, exit);
        var bench = Json("pwla-bench.json");
        Assert.Equal(4, bench.GetProperty("runs").GetArrayLength());
        Assert.All(bench.GetProperty("runs").EnumerateArray(), r => Assert.True(r.GetProperty("ratio").GetDouble() < 1.001));
        var markdown = File.ReadAllText(Path.Combine(_work.FullName, "pwla-bench.md"));
        Assert.Contains("salient pwla bench --functions square --segments 2,3", markdown, StringComparison.Ordinal);
        Assert.Contains("| CPWLA | lnn | 2 |", markdown, StringComparison.Ordinal);
    }

    private static void AssertValidPng(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], bytes[..8]);
        var width = (bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19];
        var height = (bytes[20] << 24) | (bytes[21] << 16) | (bytes[22] << 8) | bytes[23];

        // The IDAT chunk follows IHDR (8 + 25 bytes); its zlib stream holds one filter byte plus RGB per row.
        var length = (bytes[33] << 24) | (bytes[34] << 16) | (bytes[35] << 8) | bytes[36];
        using var zlib = new ZLibStream(new MemoryStream(bytes, 41, length), CompressionMode.Decompress);
        using var raw = new MemoryStream();
        zlib.CopyTo(raw);
        Assert.Equal(height * ((3 * width) + 1), raw.Length);
    }

    private JsonElement Json(string name) => JsonDocument.Parse(File.ReadAllText(Path.Combine(_work.FullName, name))).RootElement;
}
