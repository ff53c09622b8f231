using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Salient.Pwla;
using Salient.Pwla.Plot;

namespace Salient.Cli.Commands;

/// <summary><c>salient pwla</c>: optimal 1-D piecewise linear approximation (LNN and baselines, spec denoise-lnn Part 2).</summary>
internal static class PwlaCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Create()
    {
        var command = new Command("pwla", "Optimal piecewise linear approximation of a 1-D function or samples.");
        command.Subcommands.Add(CreateFit());
        command.Subcommands.Add(CreateBench());
        return command;
    }

    private static Command CreateFit()
    {
        var function = new Option<string>("--function") { Description = "f(x) to approximate, e.g. \"sin(6*x) + step(x - 0.37)\" (x, numbers, + - * / ^, sin cos tan exp log sqrt abs tanh step, pi, e)." };
        var samples = new Option<FileInfo>("--samples") { Description = "CSV of x,y rows (a header line and # comments are skipped)." };
        var interval = new Option<string>("--interval") { Description = "a,b: the interval (required with --function; defaults to the samples' range)." };
        var segments = new Option<int>("--segments") { Description = "Number of linear segments n.", Required = true };
        segments.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1)
            {
                r.AddError("--segments must be at least 1.");
            }
        });
        var continuous = new Option<bool>("--continuous") { Description = "Fit a continuous function (CPWLA) instead of allowing jumps (PWLA)." };
        var method = new Option<string>("--method") { Description = "lnn (lattice neural network), dp (exact dynamic programming on samples, PWLA only), or de (pwlf-style differential evolution).", DefaultValueFactory = _ => "lnn" };
        method.AcceptOnlyFromAmong("lnn", "dp", "de");
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for fit.json, summary.txt and fit.png (created if missing).", Required = true };
        var command = new Command("fit", "Fit n segments and write knots, lines, error, the optimality report and a plot.")
        {
            function, samples, interval, segments, continuous, method, seed, output,
        };
        command.Validators.Add(r =>
        {
            if ((r.GetResult(function) is null) == (r.GetResult(samples) is null))
            {
                r.AddError("give exactly one of --function and --samples.");
            }
        });
        command.SetAction(r => Fit(
            r.GetValue(function),
            r.GetValue(samples),
            r.GetValue(interval),
            r.GetValue(segments),
            r.GetValue(continuous),
            r.GetValue(method)!,
            r.GetValue(seed),
            r.GetValue(output)!));
        return command;
    }

    private static Command CreateBench()
    {
        var functions = new Option<string>("--functions") { Description = $"Comma-separated suite functions ({string.Join(", ", PwlaBench.Suite.Select(f => f.Name))}).", DefaultValueFactory = _ => string.Join(',', PwlaBench.Suite.Select(f => f.Name)) };
        var segments = new Option<string>("--segments") { Description = "Segment counts: a range like 2-10 or a list like 2,4,8.", DefaultValueFactory = _ => "2-10" };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per method and case.", DefaultValueFactory = _ => 10 };
        var methods = new Option<string>("--methods") { Description = $"Comma-separated methods ({string.Join(", ", PwlaBench.Methods.Keys)}).", DefaultValueFactory = _ => "lnn,de" };
        var variant = new Option<string>("--variant") { Description = "continuous (CPWLA), discontinuous (PWLA) or both.", DefaultValueFactory = _ => "continuous" };
        variant.AcceptOnlyFromAmong("continuous", "discontinuous", "both");
        var referenceStarts = new Option<int>("--reference-starts") { Description = "Starts of the multi-start reference optimum.", DefaultValueFactory = _ => 20 };
        var parallel = new Option<int>("--parallel") { Description = "Cases run at once (each run is single-threaded).", DefaultValueFactory = _ => 1 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for pwla-bench.json and pwla-bench.md.", Required = true };
        var command = new Command("bench", "Run the benchmark suite and write E, E/E*, success rate and time per method as JSON and Markdown.")
        {
            functions, segments, seeds, methods, variant, referenceStarts, parallel, output,
        };
        command.SetAction(r => Bench(
            r.GetValue(functions)!,
            r.GetValue(segments)!,
            r.GetValue(seeds),
            r.GetValue(methods)!,
            r.GetValue(variant)!,
            r.GetValue(referenceStarts),
            r.GetValue(parallel),
            r.GetValue(output)!));
        return command;
    }

    private static int Fit(string? expression, FileInfo? samples, string? interval, int segments, bool continuous, string method, int seed, DirectoryInfo outDir)
    {
        PwlaResult result;
        try
        {
            var bounds = interval is null ? ((double A, double B)?)null : PwlaFitting.ParseInterval(interval);
            PwlaTarget target;
            if (expression is not null)
            {
                if (bounds is null)
                {
                    throw new ArgumentException("--interval a,b is required with --function");
                }

                target = PwlaTarget.FromExpression(MathExpression.Parse(expression), bounds.Value.A, bounds.Value.B);
            }
            else
            {
                var (x, y) = PwlaFitting.ReadSamples(File.ReadLines(samples!.FullName), samples.Name);
                target = PwlaTarget.FromSamples(x, y, bounds?.A, bounds?.B);
            }

            result = PwlaFitting.Fit(expression is not null ? $"f(x) = {expression}" : $"samples {samples!.Name}", target, segments, continuous, method, seed);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }

        Directory.CreateDirectory(outDir.FullName);
        File.WriteAllText(Path.Combine(outDir.FullName, "fit.json"), result.ToJson());
        var summary = result.Summary();
        File.WriteAllText(Path.Combine(outDir.FullName, "summary.txt"), summary);
        File.WriteAllBytes(Path.Combine(outDir.FullName, "fit.png"), result.PlotPng());
        Console.Write(summary);
        return 0;
    }

    private static int Bench(string functionList, string segmentSpec, int seeds, string methodList, string variant, int referenceStarts, int parallel, DirectoryInfo outDir)
    {
        PwlaBench bench;
        try
        {
            var names = Split(functionList);
            var unknown = names.Where(n => PwlaBench.Suite.All(f => f.Name != n)).Concat(Split(methodList).Where(m => !PwlaBench.Methods.ContainsKey(m))).ToList();
            if (unknown.Count > 0)
            {
                throw new ArgumentException($"unknown function or method: {string.Join(", ", unknown)}");
            }

            if (seeds < 1 || referenceStarts < 1)
            {
                throw new ArgumentException("--seeds and --reference-starts must be at least 1");
            }

            bench = new PwlaBench
            {
                Functions = [.. PwlaBench.Suite.Where(f => names.Contains(f.Name))],
                Segments = ParseSegments(segmentSpec),
                Variants = variant switch { "both" => [true, false], "discontinuous" => [false], _ => [true] },
                MethodNames = Split(methodList),
                Seeds = seeds,
                ReferenceStarts = referenceStarts,
                Parallelism = parallel,
            };
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (cases, runs) = bench.Run((done, total) => Console.Error.WriteLine($"pwla bench: {done}/{total} cases"));
        var summaries = PwlaBench.Summarise(runs);
        var commandLine = $"salient pwla bench --functions {functionList} --segments {segmentSpec} --seeds {seeds} --methods {methodList} --variant {variant} --reference-starts {referenceStarts} --parallel {parallel} --out {outDir.Name}";

        Directory.CreateDirectory(outDir.FullName);
        var document = new { Command = commandLine, bench.SuccessRatio, WallSeconds = clock.Elapsed.TotalSeconds, Summary = summaries, Cases = cases, Runs = runs };
        File.WriteAllText(Path.Combine(outDir.FullName, "pwla-bench.json"), JsonSerializer.Serialize(document, Json));
        var markdown = BenchMarkdown(bench, commandLine, clock.Elapsed, cases, runs, summaries);
        File.WriteAllText(Path.Combine(outDir.FullName, "pwla-bench.md"), markdown);
        Console.Write(markdown);
        return 0;
    }

    private static string BenchMarkdown(PwlaBench bench, string commandLine, TimeSpan wall, IReadOnlyList<BenchCase> cases, IReadOnlyList<BenchRun> runs, IReadOnlyList<BenchSummary> summaries)
    {
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("# PWLA benchmark (spec denoise-lnn §2.7)");
        md.AppendLine();
        md.AppendLine(inv, $"Produced by `{commandLine}` in {wall.TotalMinutes:F1} min wall time on {Environment.ProcessorCount} cores.");
        md.AppendLine();
        md.AppendLine(inv, $"E is the least-squares error (integral by Gauss–Legendre quadrature split at the knots). E* of a case is the smallest E found by the multi-start reference ({bench.ReferenceStarts} Nelder–Mead starts + BFGS) or by any run. A run succeeds when E/E* ≤ {bench.SuccessRatio}. Times are wall seconds per run, single-threaded.");
        md.AppendLine();
        md.AppendLine("## Summary per method");
        md.AppendLine();
        md.AppendLine("| variant | method | runs | median E/E* | mean E/E* | worst E/E* | success | median s | total s |");
        md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var s in summaries.OrderByDescending(s => s.Continuous).ThenBy(s => bench.MethodNames.ToList().IndexOf(s.Method)))
        {
            md.AppendLine(inv, $"| {Variant(s.Continuous)} | {s.Method} | {s.Runs} | {s.MedianRatio:F6} | {s.MeanRatio:F4} | {s.WorstRatio:F4} | {s.SuccessRate:P0} | {s.MedianSeconds:F3} | {s.TotalSeconds:F1} |");
        }

        md.AppendLine();
        md.AppendLine("## Per case: E*, and per method median E/E* / success rate / median seconds");
        md.AppendLine();
        var methods = bench.MethodNames;
        md.AppendLine("| function | n | variant | E* | " + string.Join(" | ", methods) + " |");
        md.AppendLine("| --- | ---: | --- | ---: | " + string.Join(" | ", methods.Select(_ => "---:")) + " |");
        foreach (var c in cases)
        {
            var cells = methods.Select(m =>
            {
                var mine = runs.Where(r => r.Function == c.Function && r.Segments == c.Segments && r.Continuous == c.Continuous && r.Method == m).ToList();
                return mine.Count == 0
                    ? "—"
                    : string.Create(inv, $"{PwlaBench.Median(mine.Select(r => r.Ratio)):F4} / {mine.Count(r => r.Success) * 100 / mine.Count}% / {PwlaBench.Median(mine.Select(r => r.Seconds)):F2}");
            });
            md.AppendLine(inv, $"| {c.Function} | {c.Segments} | {Variant(c.Continuous)} | {c.BestError:G6} | {string.Join(" | ", cells)} |");
        }

        return md.ToString();
    }

    private static string Variant(bool continuous) => continuous ? "CPWLA" : "PWLA";

    private static List<string> Split(string list) => [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static List<int> ParseSegments(string spec)
    {
        var dash = spec.IndexOf('-', StringComparison.Ordinal);
        var values = dash > 0
            ? Enumerable.Range(ParseInt(spec[..dash]), ParseInt(spec[(dash + 1)..]) - ParseInt(spec[..dash]) + 1).ToList()
            : Split(spec).Select(ParseInt).ToList();
        if (values.Count == 0 || values.Any(v => v < 1))
        {
            throw new ArgumentException($"--segments '{spec}' must be a range like 2-10 or a list of positive counts");
        }

        return values;
    }

    private static int ParseInt(string text) => int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
        ? v
        : throw new ArgumentException($"'{text}' is not a whole number");
}
