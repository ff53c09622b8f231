using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Salient.Imaging;
using Salient.Methods.Metrics;
using Salient.Imaging.Plot;

namespace Salient.Cli.Reports;

/// <summary>What an evaluation report covers.</summary>
internal sealed record EvalSummary(string Model, string Dataset, int Items, IReadOnlyList<string> Methods, MetricOptions Options, IReadOnlyList<string> Labels, MetricAccumulator Accumulator);

/// <summary>Writes <c>metrics.json</c>, <c>report.md</c>, <c>report.html</c> and their PNG plots into a folder.</summary>
internal static class EvalReport
{
    /// <summary>The scalar metrics in table order, with a title and whether lower is better.</summary>
    private static readonly (string Key, string Title, bool LowerIsBetter)[] Scalars =
    [
        ("deletion", "Deletion AUC", true), ("insertion", "Insertion AUC", false), ("road-morf", "ROAD MoRF", true), ("road-lerf", "ROAD LeRF", false),
        ("road", "ROAD (LeRF−MoRF)/2", false), ("pointing", "Pointing game", false), ("energy", "Energy pointing", false),
        ("selectivity", "Selectivity", false), ("sanity", "Sanity ρ (randomised)", true),
    ];

    /// <summary>The curve plots: file, title, the curves drawn (second one dashed).</summary>
    private static readonly (string File, string Title, string[] Curves)[] CurvePlots =
    [
        ("deletion.png", "Deletion: target probability over the fraction of pixels deleted", ["deletion"]),
        ("insertion.png", "Insertion: target probability over the fraction of pixels inserted", ["insertion"]),
        ("road.png", "ROAD: target probability over the fraction imputed, MoRF solid, LeRF dashed", ["road-morf", "road-lerf"]),
        ("sanity.png", "Sanity check: Spearman ρ with the original map over the fraction of layers randomised (logits first)", ["sanity"]),
    ];

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static void Write(string directory, EvalSummary summary, IReadOnlyList<ReportExample> examples)
    {
        var methods = summary.Methods.Select(m => summary.Accumulator.Summarize(m)).ToArray();
        WriteJson(Path.Combine(directory, "metrics.json"), summary, methods);

        var plots = new List<(string File, string Title)>();
        foreach (var (file, title, curves) in CurvePlots)
        {
            var series = methods.SelectMany((m, i) => curves.Select((c, k) => (i, m.Curves.GetValueOrDefault(c), k * 6)))
                .Where(s => s.Item2 is not null).Select(s => (s.i, s.Item2!, s.Item3)).ToList();
            if (series.Count > 0)
            {
                Save(Path.Combine(directory, file), MetricPlots.Curves(series));
                plots.Add((file, title));
            }
        }

        var columns = Columns(methods);
        if (columns.Count > 0)
        {
            Save(Path.Combine(directory, "bars.png"), MetricPlots.Bars([.. columns.Select(c => methods.Select(c.Value).ToArray())], methods.Length));
            plots.Add(("bars.png", "Means per metric (groups left to right: " + string.Join(", ", columns.Select(c => c.Title)) + "), one bar per method"));
        }

        if (examples.Count > 0)
        {
            Save(Path.Combine(directory, "examples.png"), MetricPlots.Examples(examples, summary.Methods));
            plots.Add(("examples.png", "Examples: the input as the model saw it, then each method's overlay for the target below"));
        }

        File.WriteAllText(Path.Combine(directory, "report.md"), Markdown(summary, methods, columns, plots, examples));
        File.WriteAllText(Path.Combine(directory, "report.html"), Html(summary, methods, columns, plots, examples));
    }

    /// <summary>The table's metric columns present in the results: title and the cell value per method (NaN where absent).</summary>
    private static List<(string Title, Func<MethodSummary, double> Value, Func<MethodSummary, string> Cell)> Columns(MethodSummary[] methods)
    {
        var columns = new List<(string, Func<MethodSummary, double>, Func<MethodSummary, string>)>();
        foreach (var (key, title, lower) in Scalars.Where(s => methods.Any(m => m.Scalars.ContainsKey(s.Key))))
        {
            columns.Add(($"{title} {(lower ? "↓" : "↑")}", m => m.Scalars.TryGetValue(key, out var s) ? s.Mean : double.NaN,
                m => m.Scalars.TryGetValue(key, out var s) ? $"{Number(s.Mean)} ± {Number(s.StandardDeviation)}" : "–"));
        }

        if (methods.Any(m => m.Segmentation is not null))
        {
            columns.Add(("mIoU ↑", m => m.Segmentation?.MeanIoU ?? double.NaN, m => m.Segmentation is { } s ? Number(s.MeanIoU) : "–"));
        }

        return columns;
    }

    private static void WriteJson(string path, EvalSummary summary, MethodSummary[] methods)
    {
        using var accumulator = JsonDocument.Parse(summary.Accumulator.ToJson());
        var document = new
        {
            model = summary.Model,
            dataset = summary.Dataset,
            items = summary.Items,
            options = summary.Options,
            labels = summary.Labels,
            methods = methods.ToDictionary(m => m.Method),
            accumulator = accumulator.RootElement,
        };
        File.WriteAllText(path, JsonSerializer.Serialize(document, Json));
    }

    private static string Markdown(EvalSummary summary, MethodSummary[] methods, List<(string Title, Func<MethodSummary, double> Value, Func<MethodSummary, string> Cell)> columns,
        List<(string File, string Title)> plots, IReadOnlyList<ReportExample> examples)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Explanation quality: {summary.Model}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Dataset `{summary.Dataset}`, {summary.Items} items; metrics {string.Join(", ", summary.Options.Metrics)}. Mean ± standard deviation over targets; ↑/↓: higher/lower is better.");
        md.AppendLine();
        md.AppendLine("| Method | Colour | Items | Errors | " + string.Join(" | ", columns.Select(c => c.Title)) + " |");
        md.AppendLine("|---|---|---|---|" + string.Concat(columns.Select(_ => "---|")));
        for (var i = 0; i < methods.Length; i++)
        {
            var m = methods[i];
            md.AppendLine(CultureInfo.InvariantCulture, $"| {m.Method} | {MetricPlots.Hex(i)} | {m.Items} | {m.Errors} | {string.Join(" | ", columns.Select(c => c.Cell(m)))} |");
        }

        if (methods.Any(m => m.Segmentation is not null))
        {
            var classes = ClassesOf(methods);
            md.AppendLine();
            md.AppendLine("## IoU per class");
            md.AppendLine();
            md.AppendLine("| Method | " + string.Join(" | ", classes.Select(c => Label(summary, c).Replace("|", "\\|", StringComparison.Ordinal))) + " |");
            md.AppendLine("|---|" + string.Concat(classes.Select(_ => "---|")));
            foreach (var m in methods)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {m.Method} | {string.Join(" | ", classes.Select(c => IoU(m, c)))} |");
            }
        }

        md.AppendLine();
        md.AppendLine("## Plots");
        foreach (var (file, title) in plots)
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"{title}:");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"![{title}]({file})");
        }

        if (examples.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("Example rows, top to bottom (columns: input, " + string.Join(", ", summary.Methods) + "):");
            md.AppendLine();
            foreach (var e in examples)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"1. `{e.Item}`: {e.Labels}; maps of {e.Label ?? $"class {e.Class}"}");
            }
        }

        return md.ToString();
    }

    private static string Html(EvalSummary summary, MethodSummary[] methods, List<(string Title, Func<MethodSummary, double> Value, Func<MethodSummary, string> Cell)> columns,
        List<(string File, string Title)> plots, IReadOnlyList<ReportExample> examples)
    {
        static string E(string text) => WebUtility.HtmlEncode(text);
        var html = new StringBuilder();
        html.AppendLine(CultureInfo.InvariantCulture, $"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Explanation quality: {E(summary.Model)}</title>");
        html.AppendLine("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}.swatch{display:inline-block;width:1em;height:1em}</style></head><body>");
        html.AppendLine(CultureInfo.InvariantCulture, $"<h1>Explanation quality: {E(summary.Model)}</h1>");
        html.AppendLine(CultureInfo.InvariantCulture, $"<p>Dataset <code>{E(summary.Dataset)}</code>, {summary.Items} items; metrics {E(string.Join(", ", summary.Options.Metrics))}. Mean ± standard deviation over targets; ↑/↓: higher/lower is better.</p>");
        html.Append("<table><tr><th>Method</th><th>Items</th><th>Errors</th>");
        html.AppendJoin(string.Empty, columns.Select(c => $"<th>{E(c.Title)}</th>"));
        html.AppendLine("</tr>");
        for (var i = 0; i < methods.Length; i++)
        {
            var m = methods[i];
            html.Append(CultureInfo.InvariantCulture, $"<tr><td><span class=\"swatch\" style=\"background:{MetricPlots.Hex(i)}\"></span> {E(m.Method)}</td><td>{m.Items}</td><td>{m.Errors}</td>");
            html.AppendJoin(string.Empty, columns.Select(c => $"<td>{E(c.Cell(m))}</td>"));
            html.AppendLine("</tr>");
        }

        html.AppendLine("</table>");
        if (methods.Any(m => m.Segmentation is not null))
        {
            var classes = ClassesOf(methods);
            html.Append("<h2>IoU per class</h2><table><tr><th>Method</th>");
            html.AppendJoin(string.Empty, classes.Select(c => $"<th>{E(Label(summary, c))}</th>"));
            html.AppendLine("</tr>");
            foreach (var m in methods)
            {
                html.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(m.Method)}</td>");
                html.AppendJoin(string.Empty, classes.Select(c => $"<td>{IoU(m, c)}</td>"));
                html.AppendLine("</tr>");
            }

            html.AppendLine("</table>");
        }

        html.AppendLine("<h2>Plots</h2>");
        foreach (var (file, title) in plots)
        {
            html.AppendLine(CultureInfo.InvariantCulture, $"<figure><img src=\"{file}\" alt=\"{E(title)}\"><figcaption>{E(title)}</figcaption></figure>");
        }

        if (examples.Count > 0)
        {
            html.AppendLine(CultureInfo.InvariantCulture, $"<p>Example rows, top to bottom (columns: input, {E(string.Join(", ", summary.Methods))}):</p><ol>");
            html.AppendJoin(string.Empty, examples.Select(e => $"<li><code>{E(e.Item)}</code>: {E(e.Labels)}; maps of {E(e.Label ?? $"class {e.Class}")}</li>"));
            html.AppendLine("</ol>");
        }

        html.AppendLine("</body></html>");
        return html.ToString();
    }

    private static int[] ClassesOf(MethodSummary[] methods) => [.. methods.SelectMany(m => m.Segmentation?.ClassIoU.Keys ?? []).Distinct().Order()];

    private static string IoU(MethodSummary method, int c) => method.Segmentation?.ClassIoU.TryGetValue(c, out var v) == true ? Number(v) : "–";

    private static string Label(EvalSummary summary, int c) =>
        c == PseudoMaskIoU.Background ? "background" : c < summary.Labels.Count ? summary.Labels[c] : c.ToString(CultureInfo.InvariantCulture);

    private static string Number(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);

    private static void Save(string path, Canvas canvas) => PngEncoder.Write(path, canvas.Pixels, canvas.Width, canvas.Height, PngColorType.Rgb);
}
