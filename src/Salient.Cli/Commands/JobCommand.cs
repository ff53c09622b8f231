using System.CommandLine;
using System.Text.Json;
using Salient.Client;
using Salient.Cluster;
using Salient.Methods;
using Salient.Methods.Pipeline;
using Salient.Pwla;
using Spectre.Console;

namespace Salient.Cli.Commands;

/// <summary><c>salient job submit|status|watch|results|cancel</c> and <c>salient workers</c>: the cluster through <see cref="SalientClient"/>.</summary>
internal static class JobCommand
{
    private static readonly JsonSerializerOptions Indented = new(SalientJson.Options) { WriteIndented = true };

    public static Command Create()
    {
        var job = new Command("job", "Submit, follow, read and cancel cluster jobs.");
        job.Subcommands.Add(Submit());
        job.Subcommands.Add(WithId("status", "Print a job's state and progress.", async (client, id, ct) =>
        {
            Print(await client.GetJobAsync(id, ct).ConfigureAwait(false));
            return 0;
        }));
        job.Subcommands.Add(WithId("watch", "Follow a job until it finishes, with a progress bar.", WatchAsync));
        job.Subcommands.Add(WithId("results", "Print a job's manifest records as JSON lines.", async (client, id, ct) =>
        {
            await foreach (var record in client.GetAllResultsAsync(id, cancellationToken: ct).ConfigureAwait(false))
            {
                Console.WriteLine(JsonSerializer.Serialize(record, SalientJson.Options));
            }

            return 0;
        }));
        job.Subcommands.Add(WithId("cancel", "Cancel a job.", async (client, id, ct) =>
        {
            Print(await client.CancelJobAsync(id, ct).ConfigureAwait(false));
            return 0;
        }));
        return job;
    }

    public static Command Workers()
    {
        var command = new Command("workers", "List the cluster's workers.");
        var (coordinator, apiKey) = ConnectionOptions(command);
        command.SetAction((r, ct) => RunAsync(r, coordinator, apiKey, async client =>
        {
            foreach (var w in await client.ListWorkersAsync(ct).ConfigureAwait(false))
            {
                Console.WriteLine($"{w.Id}  {w.Name,-24} {w.State,-6} models={string.Join(',', w.Models)} devices={string.Join(',', w.Devices)} capacity={w.Capacity} in-flight={w.ShardsInFlight} heartbeat={w.HeartbeatAt:O}");
            }

            return 0;
        }));
        return command;
    }

    private static Command Submit()
    {
        var command = new Command("submit", "Submit a job; prints it (and follows it with --watch).");
        var (coordinator, apiKey) = ConnectionOptions(command);
        var kind = new Option<string>("--kind") { Description = $"The job kind: {string.Join(", ", JobKinds.Names)}.", DefaultValueFactory = _ => "explain" };
        kind.AcceptOnlyFromAmong([.. JobKinds.Names]);
        var model = new Option<string?>("--model") { Description = "A registered model key (explain and eval)." };
        var prefix = new Option<string?>("--prefix") { Description = "Every image blob under this prefix." };
        var manifest = new Option<string?>("--manifest") { Description = "A JSON-lines manifest blob (scenes format)." };
        var items = new Option<string[]>("--items") { Description = "Explicit item blob names.", AllowMultipleArgumentsPerToken = true };
        var methods = new Option<string>("--methods") { Description = "Comma-separated methods.", DefaultValueFactory = _ => "gradcam" };
        var targets = new Option<string>("--targets") { Description = $"{TargetSelection.Syntax} or labels.", DefaultValueFactory = _ => "top1" };
        var layers = new Option<string?>("--layers") { Description = "Comma-separated CAM layers." };
        var denoise = new Option<string?>("--denoise") { Description = "floor, ceil, rectify or backprop." };
        var denoiseQ = new Option<float?>("--denoise-q") { Description = "Quantile q of the truncation (default 0.7)." };
        var parameters = new Option<string[]>("--param") { Description = "A method's own parameter NAME=VALUE, repeatable; given to each method that has it (docs/methods.md lists them)." };
        var metrics = new Option<string?>("--metrics") { Description = "Comma-separated metrics of an eval job; default all." };
        var outputs = new Option<string>("--outputs") { Description = "Comma-separated outputs: npy, png, overlay, mask, boxes.", DefaultValueFactory = _ => "npy,png,overlay" };
        var shardSize = new Option<int>("--shard-size") { Description = "Items per shard.", DefaultValueFactory = _ => 64 };
        var priority = new Option<int>("--priority") { Description = "Lower runs first." };
        var maxAttempts = new Option<int>("--max-attempts") { Description = "Leases of a shard before it is dead-lettered.", DefaultValueFactory = _ => 5 };
        var watch = new Option<bool>("--watch") { Description = "Follow the job until it finishes." };
        var functions = new Option<string[]>("--function") { Description = "pwla: f(x) expressions to fit, added to --items (which name .csv sample blobs)." };
        var segments = new Option<int>("--segments") { Description = "pwla: linear segments n.", DefaultValueFactory = _ => 4 };
        var continuous = new Option<bool>("--continuous") { Description = "pwla: fit a continuous function (CPWLA)." };
        var fitMethod = new Option<string>("--fit-method") { Description = "pwla: lnn, dp (discontinuous only) or de.", DefaultValueFactory = _ => "lnn" };
        var interval = new Option<string?>("--interval") { Description = "pwla: a,b (expressions allowed, e.g. 0,2*pi); required with --function." };
        var seed = new Option<int>("--seed") { Description = "Seed of the sampling methods, SmoothGrad, ROAD and the sanity check (explain, eval), or of the pwla solver." };
        foreach (var option in new Option[] { kind, model, prefix, manifest, items, methods, targets, layers, denoise, denoiseQ, parameters, metrics, outputs, shardSize, priority, maxAttempts, watch,
            functions, segments, continuous, fitMethod, interval, seed })
        {
            command.Options.Add(option);
        }

        command.Validators.Add(r =>
        {
            if ((r.GetValue(kind) == "pwla") != (r.GetValue(model) is null))
            {
                r.AddError("--model is required for explain and eval jobs, and not taken by pwla jobs.");
            }

            try
            {
                _ = r.GetValue(interval) is { } text ? PwlaFitting.ParseInterval(text) : default;
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                r.AddError($"--interval: {e.Message}");
            }
        });

        command.SetAction((r, ct) =>
        {
            // Explain and eval options are read here as the coordinator and `salient explain` read them, so a mistake fails before the request.
            PipelineOptions? shared = null;
            if (r.GetValue(kind) != "pwla")
            {
                try
                {
                    shared = PipelineArguments.Parse(
                        new PipelineText(Split(r.GetValue(methods)), r.GetValue(targets), Split(r.GetValue(layers)), r.GetValue(denoise), r.GetValue(denoiseQ), Seed: r.GetValue(seed)),
                        r.GetValue(parameters) ?? []);
                }
                catch (ArgumentException e)
                {
                    Console.Error.WriteLine($"error: {e.Message}");
                    return Task.FromResult(1);
                }
            }

            return Submit(r, shared, ct);
        });
        return command;

        Task<int> Submit(ParseResult r, PipelineOptions? shared, CancellationToken ct) => RunAsync(r, coordinator, apiKey, async client =>
        {
            string[] itemList = [.. r.GetValue(items) ?? [], .. r.GetValue(functions) ?? []];
            var bounds = r.GetValue(interval) is { } text ? PwlaFitting.ParseInterval(text) : ((double A, double B)?)null;
            var submitted = await client.SubmitJobAsync(new JobSubmission
            {
                Kind = r.GetValue(kind)!,
                Model = r.GetValue(model),
                Inputs = new JobInputs(r.GetValue(prefix), r.GetValue(manifest), itemList.Length > 0 ? itemList : null),
                Pwla = r.GetValue(kind) == "pwla"
                    ? new PwlaSpec(r.GetValue(segments), r.GetValue(continuous), r.GetValue(fitMethod)!, bounds is { } b ? [b.A, b.B] : null, r.GetValue(seed))
                    : null,
                Methods = shared is null ? Split(r.GetValue(methods)) : [.. shared.Methods],
                Targets = shared?.Targets ?? r.GetValue(targets)!,
                Layers = shared is null ? Split(r.GetValue(layers)) : [.. shared.Layers],
                Denoise = r.GetValue(denoise),
                DenoiseQuantile = r.GetValue(denoiseQ),
                Parameters = shared is { Parameters.Count: > 0 } ? shared.Parameters : null,
                Seed = shared is null ? 0 : shared.Seed,
                Metrics = Split(r.GetValue(metrics)),
                Outputs = Split(r.GetValue(outputs)),
                ShardSize = r.GetValue(shardSize),
                Priority = r.GetValue(priority),
                MaxAttempts = r.GetValue(maxAttempts),
            }, ct).ConfigureAwait(false);
            Print(submitted);
            return r.GetValue(watch) ? await WatchAsync(client, submitted.Id, ct).ConfigureAwait(false) : 0;
        });
    }

    /// <summary>Follows the job; exit code 0 when it succeeded, 2 when it failed or was cancelled.</summary>
    private static async Task<int> WatchAsync(SalientClient client, Guid id, CancellationToken ct)
    {
        Job? last = null;
        if (AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected)
        {
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask($"job {id}");
                    await foreach (var job in client.WatchJobAsync(id, ct).ConfigureAwait(false))
                    {
                        task.MaxValue = Math.Max(job.Items.Total, 1);
                        task.Value = job.Items.Done;
                        task.Description = $"{job.State} {job.Shards.Done}/{job.Shards.Total} shards{(job.Items.Failed > 0 ? $", {job.Items.Failed} failed items" : "")}";
                        last = job;
                    }
                }).ConfigureAwait(false);
        }
        else
        {
            await foreach (var job in client.WatchJobAsync(id, ct).ConfigureAwait(false))
            {
                Console.Error.WriteLine($"{job.State}: {job.Items.Done}/{job.Items.Total} items, {job.Items.Failed} failed, shards {job.Shards.Done}/{job.Shards.Total} done, {job.Shards.Dead} dead");
                last = job;
            }
        }

        Print(last!);
        return last!.State == "succeeded" ? 0 : 2;
    }

    private static Command WithId(string name, string description, Func<SalientClient, Guid, CancellationToken, Task<int>> action)
    {
        var command = new Command(name, description);
        var (coordinator, apiKey) = ConnectionOptions(command);
        var id = new Argument<Guid>("JOB") { Description = "The job's id." };
        command.Arguments.Add(id);
        command.SetAction((r, ct) => RunAsync(r, coordinator, apiKey, client => action(client, r.GetValue(id), ct)));
        return command;
    }

    private static (Option<string?> Coordinator, Option<string?> ApiKey) ConnectionOptions(Command command)
    {
        var coordinator = new Option<string?>("--coordinator") { Description = "The coordinator's URL (env SALIENT_COORDINATOR).", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SALIENT_COORDINATOR") };
        var apiKey = new Option<string?>("--api-key") { Description = "The API key (env SALIENT_API_KEY).", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SALIENT_API_KEY") };
        command.Options.Add(coordinator);
        command.Options.Add(apiKey);
        return (coordinator, apiKey);
    }

    private static async Task<int> RunAsync(ParseResult result, Option<string?> coordinator, Option<string?> apiKey, Func<SalientClient, Task<int>> action)
    {
        if (!Uri.TryCreate(result.GetValue(coordinator) ?? "", UriKind.Absolute, out var uri))
        {
            await Console.Error.WriteLineAsync("error: give the coordinator's URL with --coordinator or SALIENT_COORDINATOR.").ConfigureAwait(false);
            return 1;
        }

        using var client = new SalientClient(uri, result.GetValue(apiKey));
        try
        {
            return await action(client).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SalientApiException or HttpRequestException)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static void Print(Job job) => Console.WriteLine(JsonSerializer.Serialize(job, Indented));

    private static string[] Split(string? list) => list?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
}
