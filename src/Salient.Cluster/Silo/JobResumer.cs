using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Salient.Cluster.Contracts;

namespace Salient.Cluster.Silo;

/// <summary>
/// At a coordinator's start, wakes the job grain of every unfinished job in the catalog, so that a restarted
/// cluster resumes its jobs at once (reminders do it too, within a minute, where the reminder table survives).
/// </summary>
internal sealed partial class JobResumer(IGrainFactory grains, ILogger<JobResumer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                var catalog = grains.GetGrain<IJobCatalogGrain>(0);
                var open = (await catalog.ListAsync("running", int.MaxValue).ConfigureAwait(false))
                    .Concat(await catalog.ListAsync("queued", int.MaxValue).ConfigureAwait(false)).ToList();
                await Task.WhenAll(open.Select(j => grains.GetGrain<IJobGrain>(j.Id).GetAsync())).ConfigureAwait(false);
                if (open.Count > 0)
                {
                    LogResumed(open.Count);
                }

                return;
            }
            catch (Exception e) when (e is not OperationCanceledException && attempt < 30)
            {
                // The cluster is still forming: try again.
                LogRetry(e);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Resumed {Count} unfinished jobs")]
    private partial void LogResumed(int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Resuming jobs failed; retrying")]
    private partial void LogRetry(Exception error);
}
