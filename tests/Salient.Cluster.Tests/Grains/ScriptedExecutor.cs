using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Salient.Cluster.Internal;
using Salient.Storage;

namespace Salient.Cluster.Tests.Grains;

/// <summary>
/// A shard executor with known outputs: per item one create-only output blob and one record naming the silo that
/// ran it; its report sums a number per item (carried as pwla totals, merged by sum), so a job's metrics are
/// exact only when every shard merged exactly once. Items named <c>poison*</c> fail their shard; a shard with an
/// item named <c>stall*</c> stalls its first attempt without renewing and then reports late; one with an item named
/// <c>hold*</c> waits (renewing its lease) until <see cref="Gate"/> opens. Every start is logged in <see cref="Started"/>
/// (the silos of a test cluster share the process).
/// </summary>
internal sealed class ScriptedExecutor(IShardLeases leases, IBlobStore blobs, string silo, TimeSpan delay) : IShardExecutor
{
    /// <summary>The shards in the order they started, across the silos of the process.</summary>
    public static ConcurrentQueue<(Guid Job, int Index)> Started { get; } = new();

    /// <summary>What shards with an item named <c>hold*</c> wait for; a test that holds shards sets a new one.</summary>
    public static TaskCompletionSource Gate { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static double ValueOf(string item) => item.Sum(c => c);

    public async Task RunAsync(ShardLease lease, CancellationToken handBack = default)
    {
        Started.Enqueue((lease.JobId, lease.Index));
        try
        {
            if (lease.Items.Any(i => i.StartsWith("poison", StringComparison.Ordinal)))
            {
                await leases.FailShardAsync(lease, "poison item", CancellationToken.None);
                return;
            }

            if (lease.Items.Any(i => i.StartsWith("hold", StringComparison.Ordinal)))
            {
                var gate = Gate.Task;
                while (!gate.IsCompleted)
                {
                    await Task.WhenAny(gate, Task.Delay(300, handBack));
                    handBack.ThrowIfCancellationRequested();
                    if (!await leases.RenewLeaseAsync(lease, TimeSpan.Zero, CancellationToken.None))
                    {
                        return;
                    }
                }
            }

            if (lease.Attempt == 1 && lease.Items.Any(i => i.StartsWith("stall", StringComparison.Ordinal)))
            {
                await Task.Delay(TimeSpan.FromSeconds(4), CancellationToken.None);
            }
            else
            {
                await Task.Delay(delay, handBack);
                if (!await leases.RenewLeaseAsync(lease, TimeSpan.Zero, CancellationToken.None))
                {
                    return;
                }
            }

            var prefix = BlobLayout.Job(lease.JobId);
            var records = new StringBuilder();
            foreach (var item in lease.Items)
            {
                await PutOnceAsync($"{prefix}items/{item}/m-c0.npy", Encoding.UTF8.GetBytes(item));
                records.Append(JsonSerializer.Serialize(new { item, silo })).Append('\n');
            }

            // As the runner keeps them: in the report when small (these are), so the fault tests recover them from the job's state.
            var inline = await ShardRecords.KeepAsync(blobs, lease, Encoding.UTF8.GetBytes(records.ToString()), CancellationToken.None);
            var report = new ShardReport(lease.Items.Count, 0, lease.Items.Count, lease.FencingToken, null,
                new PwlaTotals(lease.Items.Count, lease.Items.Sum(ValueOf), 0, 0), inline);
            await leases.CompleteShardAsync(lease, report.ToJson(), CancellationToken.None);
        }
        catch (OperationCanceledException) when (handBack.IsCancellationRequested)
        {
            await leases.ReleaseShardAsync(lease, CancellationToken.None);
        }
        catch (Exception) when (!handBack.IsCancellationRequested)
        {
            // The job grain's silo went away mid-call: the lease expires and the shard runs again.
        }
    }

    private async Task PutOnceAsync(string name, byte[] content)
    {
        try
        {
            await blobs.PutAsync(name, content, null, overwrite: false);
        }
        catch (BlobAlreadyExistsException)
        {
        }
    }
}
