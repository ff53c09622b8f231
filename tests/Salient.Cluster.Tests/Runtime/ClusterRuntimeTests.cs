using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Salient.Client;
using Salient.Cluster.Grains;
using Salient.Cluster.Internal;
using Salient.Cluster.Worker;
using Microsoft.Extensions.Logging.Abstractions;

namespace Salient.Cluster.Tests.Runtime;

/// <summary>
/// Jobs through a coordinator silo and worker silos as separate processes over Azurite, with the faults a
/// cluster meets: kill -9 of a worker and of the coordinator, an Azurite restart, corrupt images, a poison
/// shard, SIGTERM drains, a stale lease token, bad requests. Nothing is lost and nothing repeated.
/// </summary>
[Collection(LiveClusterGroup.Name)]
public sealed class ClusterRuntimeTests(LiveCluster cluster)
{
    private SalientClient Client => cluster.Client;

    [Fact]
    public async Task A_job_survives_kill_9_of_a_worker_and_of_the_coordinator_with_one_output_set_per_item_method_and_target()
    {
        var items = await cluster.UploadImagesAsync("datasets/big/", 60);
        var job = await Client.SubmitJobAsync(new JobSubmission
        {
            Model = "resnet", Inputs = new JobInputs(Prefix: "datasets/big/"), Methods = ["gradcam", "gradient"], Targets = "topk:2", Outputs = ["npy"], ShardSize = 3,
        });
        Assert.Equal(20, job.Shards.Total);

        // A worker dies mid-shard (SIGKILL) once work is under way: its lease expires or its silo is declared dead,
        // and the shard is assigned again; then the coordinator, home of the job grain, dies the same way.
        await WaitAsync(async () => (await Client.GetJobAsync(job.Id)).Shards.Done >= 3);
        cluster.Kill("worker1");
        await WaitAsync(async () => (await Client.GetJobAsync(job.Id)).Shards.Done >= 6);
        await cluster.KillAndRestartCoordinatorAsync();

        var done = await cluster.FinishAsync(job.Id, TimeSpan.FromMinutes(3));
        Assert.Equal("succeeded", done.State);
        Assert.Equal(new ItemCounts(60, 60, 0), done.Items);
        var records = await ManifestAsync(job.Id);
        // One record per item, method and target; each names its own output.
        Assert.Equal(60 * 2 * 2, records.Count);
        Assert.Equal(items, records.Select(r => r.Item).Distinct());
        Assert.Equal(records.Count, records.Select(r => (r.Item, r.Method, r.Class)).Distinct().Count());
        var outputs = records.SelectMany(r => r.Outputs!.Values).ToList();
        Assert.Equal(outputs.Count, outputs.Distinct().Count());
        var written = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var blob in cluster.Blobs.ListAsync(BlobLayout.Job(job.Id) + "items/"))
        {
            written.Add(blob.Name[BlobLayout.Job(job.Id).Length..]);
        }

        // Exactly the outputs the records name: none lost, none left over by an attempt that lost its lease.
        Assert.Equal(outputs.Order(StringComparer.Ordinal), written.Order(StringComparer.Ordinal));
        var metrics = await Client.GetMetricsAsync(job.Id);
        Assert.Equal(60, metrics["items"]!.GetValue<int>());
        Assert.Equal(records.Count, metrics["records"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_worker_drains_on_SIGTERM_and_exits_0_leaving_no_lease_behind()
    {
        // A model only the workers of this test host, so the drained worker is the only one working on the job.
        await cluster.UploadModelAsync("resnet-drain");
        var items = await cluster.UploadImagesAsync("datasets/drain/", 80);
        var job = await Client.SubmitJobAsync(new JobSubmission
        {
            Model = "resnet-drain", Inputs = new JobInputs(Prefix: "datasets/drain/"), Methods = ["gradcam"], Outputs = ["png"], ShardSize = 4,
        });

        using var drained = await cluster.StartWorkerAsync("drained", "resnet-drain");
        await WaitAsync(async () => (await Client.GetJobAsync(job.Id)).Shards is { Done: >= 2, Leased: >= 1 });
        await StopAsync(drained);
        // Its shard in flight was finished or given back, not left to expire.
        var after = await Client.GetJobAsync(job.Id);
        Assert.Equal(0, after.Shards.Leased);
        Assert.InRange(after.Shards.Done, 2, after.Shards.Total - 1);

        await FinishWithAsync("successor", "resnet-drain", job.Id, items);
    }

    [Fact]
    public async Task A_worker_whose_drain_runs_out_hands_its_shard_back_and_the_next_worker_finishes_it()
    {
        // One shard of 60 Score-CAM items (a forward pass per channel each), one item per batch, and a
        // drain of 2 s: the shard cannot finish in time, while a batch ends well within the 0.5 s the
        // worker keeps for handing back.
        await cluster.UploadModelAsync("resnet-handback");
        var items = await cluster.UploadImagesAsync("datasets/handback/", 60);
        var job = await Client.SubmitJobAsync(new JobSubmission
        {
            Model = "resnet-handback", Inputs = new JobInputs(Prefix: "datasets/handback/"), Methods = ["scorecam"], Outputs = ["npy"], ShardSize = 60,
        });

        using var stopping = await cluster.StartWorkerAsync("stopping", "resnet-handback", "--batch", "1", "--drain-seconds", "2");
        await WaitAsync(async () => (await Client.GetJobAsync(job.Id)).Shards.Leased == 1);
        await StopAsync(stopping);
        var after = await Client.GetJobAsync(job.Id);
        Assert.Equal((0, 0, 1), (after.Shards.Leased, after.Shards.Done, after.Shards.Queued));

        await FinishWithAsync("next", "resnet-handback", job.Id, items);
    }

    /// <summary>SIGTERM, then the drained worker's exit, which must be 0 within a minute.</summary>
    private static async Task StopAsync(System.Diagnostics.Process worker)
    {
        await ScriptedCluster.TerminateAsync(worker.Id);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await worker.WaitForExitAsync(timeout.Token);
        }

        Assert.Equal(0, worker.ExitCode);
    }

    /// <summary>A fresh worker for <paramref name="model"/> finishes the job: it succeeds with one record per item.</summary>
    private async Task FinishWithAsync(string name, string model, Guid job, List<string> items)
    {
        using var worker = await cluster.StartWorkerAsync(name, model);
        var done = await cluster.FinishAsync(job);
        Assert.Equal("succeeded", done.State);
        Assert.Equal(items, (await ManifestAsync(job)).Select(r => r.Item));
        await StopAsync(worker);
    }

    [Fact]
    public async Task The_silos_ride_out_an_Azurite_restart_and_the_job_completes()
    {
        var items = await cluster.UploadImagesAsync("datasets/azurite/", 24);
        var job = await Client.SubmitJobAsync(new JobSubmission { Model = "resnet", Inputs = new JobInputs(Prefix: "datasets/azurite/"), Outputs = ["npy"], ShardSize = 2 });
        await WaitAsync(async () => (await Client.GetJobAsync(job.Id)).Shards.Done >= 1);
        // Membership, grain state, reminders and the blob store all go away for a while.
        await cluster.RestartAzuriteAsync();

        var done = await cluster.FinishAsync(job.Id, TimeSpan.FromMinutes(3));
        Assert.Equal("succeeded", done.State);
        Assert.Equal(items, (await ManifestAsync(job.Id)).Select(r => r.Item));
    }

    [Fact]
    public async Task A_bad_item_name_and_a_corrupt_image_fail_alone_and_the_shards_other_items_keep_their_results()
    {
        var good = await cluster.UploadImagesAsync("datasets/mixed/", 6);
        await cluster.Blobs.PutAsync("datasets/mixed/corrupt.jpg", Encoding.ASCII.GetBytes("not a jpeg"));
        // The API refuses such a name (400); a job submitted to its grain without that check still loses only the item.
        var id = await cluster.Jobs.CreateJobAsync(await StoredJobAsync("resnet", ["../poison.jpg", good[0], "datasets/mixed/corrupt.jpg", .. good[1..]]));

        var done = await cluster.FinishAsync(id);
        Assert.Equal("succeeded", done.State);
        Assert.Equal(new ShardCounts(4, 0, 0, 4, 0, 0), done.Shards);
        Assert.Equal(new ItemCounts(8, 8, 2), done.Items);

        var records = await ManifestAsync(id);
        Assert.Equal(8, records.Count);
        Assert.Contains("'../poison.jpg'", records.Single(r => r.Item == "../poison.jpg").Error!, StringComparison.Ordinal);
        Assert.Contains("corrupt.jpg", records.Single(r => r.Item == "datasets/mixed/corrupt.jpg").Error!, StringComparison.Ordinal);
        Assert.All(records.Where(r => good.Contains(r.Item)), r => Assert.NotNull(r.Outputs?["png"]));
    }

    [Fact]
    public async Task A_poison_shard_is_dead_lettered_with_its_errors()
    {
        await cluster.UploadImagesAsync("datasets/poison/", 4);
        // A model whose stored bytes do not match the digest the job names: every attempt fails to load it.
        var request = await StoredJobAsync("resnet", ["datasets/poison/0000.jpg", "datasets/poison/0001.png", "datasets/poison/0002.jpg", "datasets/poison/0003.png"]);
        var id = await cluster.Jobs.CreateJobAsync(new JobRequest
        {
            Id = request.Id, Kind = request.Kind, Spec = request.Spec, Items = request.Items, ShardSize = 2, MaxAttempts = 2,
            Model = request.Model with { Sha256 = new string('0', 64) },
        });

        var done = await cluster.FinishAsync(id);
        Assert.Equal("failed", done.State);
        Assert.Equal(new ShardCounts(2, 0, 0, 0, 2, 0), done.Shards);
        Assert.Equal("2 of 2 shards dead-lettered", done.Error);
        Assert.All(await cluster.Jobs.ListShardsAsync(id), shard =>
        {
            Assert.Equal(2, shard.Errors.Count);
            Assert.All(shard.Errors, e => Assert.Contains("SHA-256", e.Message, StringComparison.Ordinal));
        });
    }

    /// <summary>An explain job of <paramref name="items"/> (png outputs, shards of 2) as the coordinator would store it, without its checks.</summary>
    private async Task<JobRequest> StoredJobAsync(string model, IReadOnlyList<string> items)
    {
        var registered = (await Client.ListModelsAsync()).Single(m => m.Key == model);
        var id = Guid.CreateVersion7();
        var submission = new JobSubmission { Id = id, Model = model, Inputs = new JobInputs(Items: items), Outputs = ["png"], ShardSize = 2, MaxAttempts = 2 };
        return new JobRequest
        {
            Id = id, Kind = submission.Kind, Spec = JsonSerializer.SerializeToElement(submission, SalientJson.Options),
            Model = new ModelRef(registered.Key, registered.Uri, registered.Sha256), Items = items, ShardSize = 2, MaxAttempts = 2,
        };
    }

    [Fact]
    public async Task Pinned_workers_run_only_their_models_shards()
    {
        await cluster.UploadImagesAsync("datasets/affinity/", 12);
        var job = await Client.SubmitJobAsync(new JobSubmission { Model = "resnet-b", Inputs = new JobInputs(Prefix: "datasets/affinity/"), Outputs = ["png"], ShardSize = 2 });
        Assert.Equal("succeeded", (await cluster.FinishAsync(job.Id)).State);

        var worker3 = (await Client.ListWorkersAsync()).Single(w => w.Name == "worker3");
        Assert.Equal(["resnet-b"], worker3.Models);
        Assert.All(await cluster.Jobs.ListShardsAsync(job.Id), s => Assert.Equal(worker3.Id, s.LeasedBy));
    }

    [Fact]
    public async Task An_eval_job_merges_its_shards_metrics_into_the_totals_of_its_records()
    {
        await cluster.UploadImagesAsync("datasets/eval/", 12);
        var job = await Client.SubmitJobAsync(new JobSubmission
        {
            Kind = "eval", Model = "resnet", Inputs = new JobInputs(Prefix: "datasets/eval/"), Methods = ["gradcam", "gradient"], Metrics = ["deletion", "insertion"], ShardSize = 4,
        });
        Assert.Equal("succeeded", (await cluster.FinishAsync(job.Id)).State);

        var records = await ManifestAsync(job.Id);
        Assert.Equal(24, records.Count);
        var stored = JsonNode.Parse(await cluster.Blobs.ReadAllBytesAsync(BlobLayout.Metrics(job.Id)))!;
        foreach (var method in new[] { "gradcam", "gradient" })
        {
            var summary = stored["summary"]![method]!;
            Assert.Equal(12, summary["items"]!.GetValue<int>());
            var deletion = records.Where(r => r.Method == method).Select(r => r.Metrics!["deletion"]!.GetValue<double>()).Average();
            Assert.Equal(deletion, summary["scalars"]!["deletion"]!["mean"]!.GetValue<double>(), 4);
        }
    }

    [Fact]
    public async Task A_runner_with_a_stale_lease_token_writes_nothing_and_changes_nothing()
    {
        await cluster.UploadImagesAsync("datasets/fence/", 2);
        // A model no process hosts: the job waits queued, and only this test's runner, in this process, takes its shard.
        await cluster.UploadModelAsync("resnet-fence");
        var submitted = await Client.SubmitJobAsync(new JobSubmission { Model = "resnet-fence", Inputs = new JobInputs(Prefix: "datasets/fence/"), Outputs = ["png"] });
        var job = (await cluster.Jobs.GetJobAsync(submitted.Id))!;
        var shard = (await cluster.Jobs.ListShardsAsync(job.Id)).Single();
        // A token the job grain never issued, as a worker holds after its lease expired and the shard went to another.
        var lease = new ShardLease(0, job.Id, 0, job.Kind, job.Spec, job.Model, shard.FirstItem, shard.Items, 1, job.MaxAttempts, Guid.Empty, 42, DateTimeOffset.UtcNow.AddMinutes(1));

        var options = new WorkerOptions { ModelCache = Path.Combine(Path.GetTempPath(), "salient-fence-" + Guid.NewGuid().ToString("N")[..8]) };
        var runner = new ShardRunner(new GrainShardLeases(cluster.Grains), cluster.Blobs, new ModelCache(cluster.Blobs, options.ModelCache), new JobDataset(cluster.Blobs), options, NullLogger.Instance);
        await runner.RunAsync(lease);

        var written = new List<string>();
        await foreach (var blob in cluster.Blobs.ListAsync(BlobLayout.Job(job.Id)))
        {
            written.Add(blob.Name);
        }

        Assert.Empty(written);
        var after = (await cluster.Jobs.ListShardsAsync(job.Id)).Single();
        Assert.Equal((ShardState.Queued, 0, 0), (after.State, after.Attempt, after.Errors.Count));
        await Client.CancelJobAsync(job.Id);
        Directory.Delete(options.ModelCache, recursive: true);
    }

    [Fact]
    public async Task The_Orleans_client_path_submits_and_reads_jobs_with_the_HTTP_client_s_contract_types_and_errors()
    {
        var orleans = new SalientClusterClient(cluster.Grains);
        var items = await cluster.UploadImagesAsync("datasets/orleans/", 4);
        var job = await orleans.SubmitJobAsync(new JobSubmission { Model = "resnet", Inputs = new JobInputs(Prefix: "datasets/orleans/"), Outputs = ["npy"], ShardSize = 2 });
        Assert.Equal(2, job.Shards.Total);

        var done = await cluster.FinishAsync(job.Id);
        Assert.Equal("succeeded", done.State);
        var seen = await orleans.GetJobAsync(job.Id);
        Assert.Equal((done.State, done.Items, done.Shards, done.CreatedAt), (seen.State, seen.Items, seen.Shards, seen.CreatedAt));
        Assert.Contains(await orleans.ListJobsAsync(state: "succeeded", limit: 1000), j => j.Id == job.Id);
        Assert.Equal((await Client.GetMetricsAsync(job.Id)).ToJsonString(), (await orleans.GetMetricsAsync(job.Id)).ToJsonString());
        Assert.Equal((await Client.ListWorkersAsync()).Select(w => w.Id).Order(), (await orleans.ListWorkersAsync()).Select(w => w.Id).Order());
        Assert.Equal(items, (await ManifestAsync(job.Id)).Select(r => r.Item));

        // The same checks as the REST API, as the same exception.
        var refused = await Assert.ThrowsAsync<SalientApiException>(() => orleans.SubmitJobAsync(new JobSubmission { Model = "nope", Inputs = new JobInputs(Items: ["x.png"]) }));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.StartsWith("model", refused.Detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<SalientApiException>(() => orleans.GetJobAsync(Guid.NewGuid()))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await Assert.ThrowsAsync<SalientApiException>(() => orleans.CancelJobAsync(job.Id))).StatusCode);
    }

    [Fact]
    public async Task The_API_answers_bad_requests_with_problem_details_and_refuses_missing_or_wrong_keys()
    {
        using var http = new HttpClient { BaseAddress = Client.BaseUri };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("api/v1/jobs")).StatusCode);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("api/v1/jobs")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("openapi/v1.json")).StatusCode);
        // The Orleans dashboard too: a browser gives the key once as ?key= and then holds it as a cookie.
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("orleans/")).StatusCode);
        using (var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = Client.BaseUri })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("orleans/?key=wrong")).StatusCode);
            var page = await browser.GetAsync($"orleans/?key={ScriptedCluster.ApiKey}");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("orleans/")).StatusCode);
        }


        async Task ExpectAsync(HttpStatusCode status, string field, JobSubmission submission)
        {
            var error = await Assert.ThrowsAsync<SalientApiException>(() => Client.SubmitJobAsync(submission));
            Assert.Equal(status, error.StatusCode);
            Assert.StartsWith(field, error.Detail, StringComparison.Ordinal);
        }

        var inputs = new JobInputs(Items: ["x.png"]);
        await ExpectAsync(HttpStatusCode.BadRequest, "kind", new JobSubmission { Kind = "train", Model = "resnet", Inputs = inputs });
        await ExpectAsync(HttpStatusCode.BadRequest, "model", new JobSubmission { Model = "nope", Inputs = inputs });
        await ExpectAsync(HttpStatusCode.BadRequest, "inputs", new JobSubmission { Model = "resnet", Inputs = new JobInputs("a/", Items: ["x"]) });
        await ExpectAsync(HttpStatusCode.BadRequest, "methods", new JobSubmission { Model = "resnet", Inputs = inputs, Methods = ["magic"] });
        await ExpectAsync(HttpStatusCode.BadRequest, "targets", new JobSubmission { Model = "resnet", Inputs = inputs, Targets = "best" });
        await ExpectAsync(HttpStatusCode.BadRequest, "shard_size", new JobSubmission { Model = "resnet", Inputs = inputs, ShardSize = 0 });
        await ExpectAsync(HttpStatusCode.BadRequest, "outputs", new JobSubmission { Model = "resnet", Inputs = inputs, Outputs = ["gif"] });
        await ExpectAsync(HttpStatusCode.BadRequest, "inputs.items[1]", new JobSubmission { Model = "resnet", Inputs = new JobInputs(Items: ["x.png", "a/../b.png"]) });
        await cluster.Blobs.PutAsync("datasets/climbing/manifest.jsonl", Encoding.UTF8.GetBytes("{\"image\": \"a.png\"}\n{\"image\": \"../../b.png\"}\n"));
        await ExpectAsync(HttpStatusCode.BadRequest, "inputs.manifest", new JobSubmission { Model = "resnet", Inputs = new JobInputs(Manifest: "datasets/climbing/manifest.jsonl") });

        var missing = await Assert.ThrowsAsync<SalientApiException>(() => Client.GetJobAsync(Guid.NewGuid()));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ScriptedCluster.ApiKey);

        // The older target form is accepted, stored in the current one, with a Warning header (the job's one item is missing: it fails alone).
        using (var old = new StringContent("""{"model": "resnet", "inputs": {"items": ["x.png"]}, "targets": "top2"}""", Encoding.UTF8, "application/json"))
        using (var deprecated = await http.PostAsync("api/v1/jobs", old))
        {
            Assert.Equal(HttpStatusCode.Created, deprecated.StatusCode);
            Assert.Contains("write 'topk:2'", Assert.Single(deprecated.Headers.GetValues("Warning")), StringComparison.Ordinal);
        }

        using var body = new StringContent("{not json", Encoding.UTF8, "application/json");
        var malformed = await http.PostAsync("api/v1/jobs", body);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("application/problem+json", malformed.Content.Headers.ContentType?.MediaType);

        // Bodies are limited per endpoint: a submission to 4 MiB, by its Content-Length or as it streams in.
        // (Expect: 100-continue lets the 413 arrive before the body is sent, as the SDK asks for it.)
        http.DefaultRequestHeaders.ExpectContinue = true;
        var items = string.Join(",", Enumerable.Range(0, 200_000).Select(i => $"\"datasets/huge/{i:D7}.png\""));
        var huge = $"{{\"model\": \"resnet\", \"inputs\": {{\"items\": [{items}]}}}}";
        using var sized = new StringContent(huge, Encoding.UTF8, "application/json");
        await ExpectTooLargeAsync(await http.PostAsync("api/v1/jobs", sized));
        using var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(huge)));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var streamed = new HttpRequestMessage(HttpMethod.Post, "api/v1/jobs") { Content = chunked };
        streamed.Headers.TransferEncodingChunked = true;
        await ExpectTooLargeAsync(await http.SendAsync(streamed));
    }

    private static async Task ExpectTooLargeAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var detail = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["detail"]!.GetValue<string>();
        Assert.Contains("at most 4 MiB", detail, StringComparison.Ordinal);
        Assert.Contains("inputs.manifest", detail, StringComparison.Ordinal);
    }

    private async Task<List<ResultRecord>> ManifestAsync(Guid id)
    {
        var text = Encoding.UTF8.GetString(await cluster.Blobs.ReadAllBytesAsync(BlobLayout.Manifest(id)));
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonSerializer.Deserialize<ResultRecord>(l, SalientJson.Options)!)];
    }

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!await condition())
        {
            await Task.Delay(200, timeout.Token);
        }
    }
}
