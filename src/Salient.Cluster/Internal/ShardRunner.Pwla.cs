using System.Text;
using Salient.Client;
using Salient.Methods.Pipeline;
using Salient.Pwla;
using Salient.Storage;

namespace Salient.Cluster.Internal;

// pwla shards: one piecewise linear fit per item, as `salient pwla fit` makes it.
public sealed partial class ShardRunner
{
    private async Task<ShardReport> FitAsync(Shard shard)
    {
        var (lease, job) = (shard.Lease, shard.Job);
        var pwla = job.Pwla ?? throw new InvalidDataException("The pwla job's spec has no 'pwla' fit.");
        var totals = new PwlaTotals(0, 0, 0, 0);
        foreach (var item in lease.Items)
        {
            PwlaResult result;
            try
            {
                result = PwlaFitting.Fit(
                    PwlaJobs.IsSamples(item) ? $"samples {item}" : $"f(x) = {item}",
                    await TargetAsync(item, pwla, shard.Token).ConfigureAwait(false),
                    pwla.Segments, pwla.Continuous, pwla.Method, pwla.Seed);
            }
            catch (Exception e) when (e is BlobNotFoundException or FormatException or ArgumentException or InvalidDataException)
            {
                // A missing or malformed input fails its item, not the shard: retrying cannot fix it.
                shard.Records.Add(new ManifestRecord(item, pwla.Method, null, null, null, null, null, e.Message));
                continue;
            }

            await EnsureLeaseAsync(shard).ConfigureAwait(false);
            var stem = $"items/{PwlaJobs.ItemKey(item)}/";
            var prefix = BlobLayout.Job(lease.JobId);
            await PutOnceAsync($"{prefix}{stem}pwla.json", Encoding.UTF8.GetBytes(result.ToJson()), shard.Token).ConfigureAwait(false);
            await PutOnceAsync($"{prefix}{stem}pwla.png", result.PlotPng(), shard.Token).ConfigureAwait(false);
            totals = totals.Add(result.Fit.Error, result.L2, result.MaxDeviation);
            shard.Records.Add(new ManifestRecord(item, pwla.Method, null, null, null, null,
                new Dictionary<string, string> { ["json"] = $"{stem}pwla.json", ["png"] = $"{stem}pwla.png" }, null,
                new Dictionary<string, double> { ["error"] = result.Fit.Error, ["l2"] = result.L2, ["linf"] = result.MaxDeviation }));
        }

        var report = await FinishAsync(shard, null).ConfigureAwait(false);
        return report with { Pwla = totals };
    }

    private async Task<PwlaTarget> TargetAsync(string item, PwlaSpec pwla, CancellationToken cancellationToken)
    {
        double? a = null, b = null;
        if (pwla.Interval is [var first, var second])
        {
            (a, b) = (first, second);
        }

        if (!PwlaJobs.IsSamples(item))
        {
            return PwlaTarget.FromExpression(MathExpression.Parse(item), a!.Value, b!.Value);
        }

        var text = Encoding.UTF8.GetString(await blobs.ReadAllBytesAsync(item, cancellationToken).ConfigureAwait(false));
        var (x, y) = PwlaFitting.ReadSamples(text.Split('\n'), item);
        return PwlaTarget.FromSamples(x, y, a, b);
    }
}
