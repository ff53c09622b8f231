using System.Globalization;

namespace Salient.Methods.Pipeline;

/// <summary>
/// What a run explains or evaluates: the options <c>salient explain</c>, <c>salient eval</c> and a
/// cluster job submission share, read by one parser (<see cref="Parse"/>) so that the CLI and the
/// workers explain the same targets with the same methods, layers and parameters.
/// </summary>
public sealed record PipelineOptions
{
    /// <summary>The targets value that takes each item's classes from its manifest line.</summary>
    public const string LabelTargets = "labels";

    /// <summary>The explanation methods, each once, in order.</summary>
    public required IReadOnlyList<string> Methods { get; init; }

    /// <summary>The targets in their current syntax (<see cref="TargetSelection.Syntax"/>), or <see cref="LabelTargets"/>.</summary>
    public string Targets { get; init; } = "top1";

    /// <summary>ONNX value names of the CAM layers; empty for each method's default.</summary>
    public IReadOnlyList<string> Layers { get; init; } = [];

    /// <summary>Gradient truncation of shallow-layer CAMs; null = off.</summary>
    public DenoiseMode? Denoise { get; init; }

    /// <summary>The quantile q of the truncation.</summary>
    public float DenoiseQuantile { get; init; } = 0.7f;

    /// <summary>Method parameters by name; each method gets the ones it declares.</summary>
    public IReadOnlyDictionary<string, double> Parameters { get; init; } = new Dictionary<string, double>();

    /// <summary>Seed of the sampling methods and of SmoothGrad's noise.</summary>
    public int Seed { get; init; }

    /// <summary>The targets every item gets, or null for <see cref="LabelTargets"/> (each item's own labels).</summary>
    public TargetSelection? FixedTargets => Targets == LabelTargets ? null : TargetSelection.Parse(Targets);

    /// <summary>The explainer options of <paramref name="method"/>: the shared ones, and the parameters that method declares.</summary>
    public ExplainOptions ExplainOptionsFor(string method)
    {
        ArgumentNullException.ThrowIfNull(method);
        var declared = ExplanationMethods.Find(method).Parameters;
        return new ExplainOptions
        {
            Method = method,
            Layers = Layers,
            Denoise = Denoise,
            DenoiseQuantile = DenoiseQuantile,
            Parameters = Parameters.Where(p => declared.Any(d => d.Name == p.Key)).ToDictionary(StringComparer.Ordinal),
            Seed = Seed,
        };
    }

    /// <summary>The explainer options of every method, in order (<see cref="ExplainOptionsFor"/>).</summary>
    public IReadOnlyList<ExplainOptions> ExplainerOptions() => [.. Methods.Select(ExplainOptionsFor)];

    /// <summary>
    /// Checks and reads the options as a user wrote them. Each problem is an <see cref="ArgumentException"/>
    /// that names the field as the caller calls it (<paramref name="fieldName"/> maps the JSON field names
    /// <c>methods</c>, <c>targets</c>, <c>layers</c>, <c>denoise</c>, <c>denoise_quantile</c>, <c>parameters</c>
    /// to, e.g., the CLI's options). A deprecated form that is still read adds a note to <paramref name="warnings"/>,
    /// and the options hold its current form.
    /// </summary>
    public static PipelineOptions Parse(PipelineText text, Func<string, string> fieldName, ICollection<string> warnings)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fieldName);
        ArgumentNullException.ThrowIfNull(warnings);
        var methods = text.Methods ?? [];
        if (methods.Count == 0)
        {
            throw Problem(fieldName, "methods", "give at least one method.");
        }

        if (methods.FirstOrDefault(m => !Explainer.MethodNames.Contains(m)) is { } unknown)
        {
            throw Problem(fieldName, "methods", $"unknown method '{unknown}'. Valid methods: {string.Join(", ", Explainer.MethodNames)}.");
        }

        if (methods.Distinct(StringComparer.Ordinal).Count() != methods.Count)
        {
            throw Problem(fieldName, "methods", "give each method once.");
        }

        var targets = text.Targets ?? "top1";
        if (targets != LabelTargets)
        {
            try
            {
                _ = TargetSelection.Parse(targets);
            }
            catch (FormatException e)
            {
                throw Problem(fieldName, "targets", $"{e.Message} Use {TargetSelection.Syntax} or {LabelTargets}.");
            }

            if (TargetSelection.Parse(targets).IsContrast && methods.FirstOrDefault(m => !ExplanationMethods.Find(m).Accepts.HasFlag(MethodOptions.WeightedTargets)) is { } refusing)
            {
                throw Problem(fieldName, "targets", $"'{targets}': {Explainer.WeightedTargetsRefused(refusing)}");
            }

            if (TargetSelection.DeprecationOf(targets) is { } note)
            {
                warnings.Add($"{fieldName("targets")}: {note}");
                targets = TargetSelection.Current(targets);
            }
        }

        DenoiseMode? denoise = null;
        if (text.Denoise is { } mode)
        {
            denoise = Enum.TryParse<DenoiseMode>(mode, ignoreCase: true, out var parsed) && !int.TryParse(mode, CultureInfo.InvariantCulture, out _)
                ? parsed
                : throw Problem(fieldName, "denoise", $"'{mode}' is not floor, ceil, rectify or backprop.");
        }

        if (text.DenoiseQuantile is { } q && q is not (> 0 and < 1))
        {
            throw Problem(fieldName, "denoise_quantile", $"{q.ToString(CultureInfo.InvariantCulture)} is not in (0, 1).");
        }

        var parameters = text.Parameters ?? new Dictionary<string, double>();
        foreach (var (name, value) in parameters)
        {
            if (!methods.Any(m => ExplanationMethods.Find(m).Parameters.Any(p => p.Name == name)))
            {
                var declared = methods.Select(m => ExplanationMethods.Find(m).Parameters switch
                {
                    [] => $"'{m}' takes no parameters",
                    var list => $"'{m}' takes {string.Join(", ", list.Select(p => $"{p.Name} ({p.Description}, default {p.Default.ToString(CultureInfo.InvariantCulture)})"))}",
                });
                throw Problem(fieldName, "parameters", $"none of {string.Join(", ", methods)} has a parameter '{name}' ({string.Join("; ", declared)}).");
            }

            if (!double.IsFinite(value))
            {
                throw Problem(fieldName, "parameters", $"'{name}' must be a finite number.");
            }
        }

        return new PipelineOptions
        {
            Methods = [.. methods],
            Targets = targets,
            Layers = [.. (text.Layers ?? []).Select(l => l.Trim()).Where(l => l.Length > 0)],
            Denoise = denoise,
            DenoiseQuantile = text.DenoiseQuantile ?? 0.7f,
            Parameters = new Dictionary<string, double>(parameters, StringComparer.Ordinal),
            Seed = text.Seed,
        };
    }

    private static ArgumentException Problem(Func<string, string> fieldName, string field, string problem) => new($"{fieldName(field)}: {problem}");
}

/// <summary>The options of a run as given (the CLI's options, a job submission's fields), before <see cref="PipelineOptions.Parse"/> reads them.</summary>
/// <param name="Methods">Method names.</param>
/// <param name="Targets">The target text; null for <c>top1</c>.</param>
/// <param name="Layers">CAM layer names; null or empty for the default.</param>
/// <param name="Denoise">floor, ceil, rectify or backprop; null = off.</param>
/// <param name="DenoiseQuantile">The truncation's quantile; null for 0.7.</param>
/// <param name="Parameters">Method parameters by name.</param>
/// <param name="Seed">The sampling seed.</param>
public sealed record PipelineText(
    IReadOnlyList<string>? Methods, string? Targets = null, IReadOnlyList<string>? Layers = null, string? Denoise = null, float? DenoiseQuantile = null,
    IReadOnlyDictionary<string, double>? Parameters = null, int Seed = 0);
