using System.Text.Json;

namespace Salient.Imaging.Tests;

/// <summary>The files written by tests/fixtures/imaging/make_imaging_fixtures.py.</summary>
internal static class ImagingFixtures
{
    public static string Dir { get; } = Fixtures.Path("imaging");

    public static string PathOf(string name) => Path.Combine(Dir, name);

    public sealed record Case(string Image, string Decoded, string CardJson, string Expected)
    {
        public override string ToString() => Expected;
    }

    public static IReadOnlyList<Case> Cases { get; } = LoadCases();

    private static Case[] LoadCases()
    {
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(PathOf("manifest.json")));
        return [.. manifest.RootElement.GetProperty("cases").EnumerateArray().Select(c => new Case(
            c.GetProperty("image").GetString()!,
            c.GetProperty("decoded").GetString()!,
            c.GetProperty("card").GetRawText(),
            c.GetProperty("expected").GetString()!))];
    }
}
