using Salient.Methods;
using Salient.Methods.Pipeline;

namespace Salient.Cli;

/// <summary>
/// Reads a command's pipeline options with the parser cluster job submissions use
/// (<see cref="PipelineOptions.Parse"/>), naming the command's own options in errors and printing
/// deprecation notes on standard error.
/// </summary>
internal static class PipelineArguments
{
    /// <summary>
    /// The options, from the command's values: <paramref name="parameters"/> as <c>--param NAME=VALUE</c>,
    /// <paramref name="optionNames"/> mapping the JSON field names to the command's options (default <c>--</c> + field).
    /// Throws <see cref="ArgumentException"/> naming the option.
    /// </summary>
    public static PipelineOptions Parse(PipelineText text, IEnumerable<string> parameters, IReadOnlyDictionary<string, string>? optionNames = null)
    {
        string Name(string field) => optionNames?.GetValueOrDefault(field) ?? field switch
        {
            "parameters" => "--param",
            "denoise_quantile" => "--denoise-q",
            _ => "--" + field,
        };

        IReadOnlyDictionary<string, double> values;
        try
        {
            values = ExplanationMethods.ParseParameters(parameters);
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"{Name("parameters")}: {e.Message}", e);
        }

        var warnings = new List<string>();
        var options = PipelineOptions.Parse(text with { Parameters = values }, Name, warnings);
        foreach (var warning in warnings)
        {
            Console.Error.WriteLine($"warning: {warning}");
        }

        return options;
    }

    /// <summary>A comma-separated option's values.</summary>
    public static string[] Split(string? list) => list?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
}
