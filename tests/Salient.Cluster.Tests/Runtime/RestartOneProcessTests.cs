using Salient.Client;

namespace Salient.Cluster.Tests.Runtime;

/// <summary>
/// Processes stopped and started again: clients that follow a job while its coordinator is down for a
/// while, and one worker restarted by <c>deploy/cluster.sh restart</c>.
/// </summary>
[Collection(LiveClusterGroup.Name)]
public sealed class RestartOneProcessTests(LiveCluster cluster)
{
    private static readonly TimeSpan Downtime = TimeSpan.FromSeconds(12);

    [Fact]
    public async Task Job_watch_and_the_SDK_ride_out_a_coordinator_that_is_down_for_12_seconds()
    {
        // A model no running worker hosts: the job waits, queued, through the whole outage.
        await cluster.UploadModelAsync("resnet-outage");
        await cluster.UploadImagesAsync("datasets/outage/", 8);
        var job = await cluster.Client.SubmitJobAsync(new JobSubmission
        {
            Model = "resnet-outage", Inputs = new JobInputs(Prefix: "datasets/outage/"), Outputs = ["png"], ShardSize = 4,
        });

        // The pending-shards metric that sizes the model's worker pool (KEDA's metrics-api scaler) counts its waiting shards.
        using (var http = new HttpClient { BaseAddress = cluster.Coordinator })
        {
            Assert.Equal("{\"pending\":2}", await http.GetStringAsync("metrics/pending?models=resnet-outage,resnet-none"));
            Assert.Contains("salient_pending_shards{model=\"resnet-outage\"} 2", await http.GetStringAsync("metrics"), StringComparison.Ordinal);
        }

        using var watch = cluster.StartCli("job", "watch", job.Id.ToString());
        var output = watch.StandardOutput.ReadToEndAsync();
        var progress = new List<string>();
        var firstLine = new TaskCompletionSource();
        var lines = Task.Run(async () =>
        {
            while (await watch.StandardError.ReadLineAsync() is { } line)
            {
                lock (progress)
                {
                    progress.Add(line);
                }

                firstLine.TrySetResult();
            }
        });
        var sdk = Task.Run(async () =>
        {
            Job? last = null;
            await foreach (var state in cluster.Client.WatchJobAsync(job.Id))
            {
                last = state;
            }

            return last!;
        });
        await firstLine.Task.WaitAsync(TimeSpan.FromSeconds(60));

        await cluster.StopCoordinatorAsync();
        await Task.Delay(Downtime);
        Assert.False(watch.HasExited, $"salient job watch exited during the outage:\n{string.Join('\n', progress)}");
        Assert.False(sdk.IsCompleted, "the SDK's watch ended during the outage");
        await cluster.StartCoordinatorAsync();

        using var worker = await cluster.StartWorkerAsync("outage", "resnet-outage");
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
        {
            await watch.WaitForExitAsync(timeout.Token);
        }

        await lines;
        Assert.True(watch.ExitCode == 0, $"exit {watch.ExitCode}:\n{string.Join('\n', progress)}");
        Assert.Contains("\"state\": \"succeeded\"", await output, StringComparison.Ordinal);
        Assert.StartsWith("queued:", progress[0], StringComparison.Ordinal);
        Assert.StartsWith("succeeded: 8/8 items", progress[^1], StringComparison.Ordinal);
        Assert.Equal("succeeded", (await sdk.WaitAsync(TimeSpan.FromSeconds(30))).State);

        await ScriptedCluster.TerminateAsync(worker.Id);
        await worker.WaitForExitAsync();
    }

    [Fact]
    public async Task Cluster_sh_restart_brings_one_worker_back_with_its_own_arguments()
    {
        var before = cluster.Pid("worker2");
        var restarted = DateTimeOffset.UtcNow;
        await cluster.RestartProcessAsync("worker2");
        Assert.NotEqual(before, cluster.Pid("worker2"));

        // It registers again, pinned to resnet as before, and takes that model's work.
        var worker2 = (await cluster.Client.ListWorkersAsync()).Where(w => w.Name == "worker2").MaxBy(w => w.HeartbeatAt)!;
        Assert.Equal(["resnet"], worker2.Models);
        Assert.True(worker2.HeartbeatAt > restarted, "a heartbeat of the restarted process");
        await cluster.UploadImagesAsync("datasets/restarted/", 4);
        var job = await cluster.Client.SubmitJobAsync(new JobSubmission { Model = "resnet", Inputs = new JobInputs(Prefix: "datasets/restarted/"), Outputs = ["png"], ShardSize = 2 });
        Assert.Equal("succeeded", (await cluster.FinishAsync(job.Id)).State);
    }
}
