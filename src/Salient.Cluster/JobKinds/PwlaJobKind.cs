using System.Text;
using Salient.Client;
using Salient.Cluster.Internal;
using Salient.Methods.Pipeline;
using Salient.Pwla;
using Salient.Storage;

namespace Salient.Cluster;

/// <summary>
/// <c>pwla</c>: one optimal piecewise linear fit per item (an expression in x over the job's interval, or a CSV blob
/// of samples), as <c>salient pwla fit</c> makes it, with its JSON and plot; no model.
/// </summary>
public sealed class PwlaJobKind : JobKind
{
    /// <inheritdoc/>
    public override string Name => "pwla";

    /// <inheritdoc/>
    public override bool UsesModel => false;

    // Expressions are parsed here so a typo is a 400; a sample blob's content is only read by the worker,
    // where a missing or malformed CSV becomes that item's error.
    public override string? Validate(JobSubmission job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Model is not null)
        {
            return "model: pwla jobs take no model.";
        }

        if (job.Inputs?.Items is not { Count: > 0 } items || job.Inputs.Prefix is not null || job.Inputs.Manifest is not null)
        {
            return "inputs: a pwla job takes inputs.items only (expressions in x, or .csv blobs of x,y samples).";
        }

        if (job.Pwla is not { } pwla)
        {
            return "pwla: the fit (segments, continuous, method, interval, seed) is required.";
        }

        if (pwla.Segments is < 1 or > PwlaJobs.MaxSegments)
        {
            return $"pwla.segments: must lie in [1, {PwlaJobs.MaxSegments}].";
        }

        if (PwlaFitting.MethodProblem(pwla.Method, pwla.Continuous) is { } method)
        {
            return $"pwla.method: {method}.";
        }

        if (pwla.Interval is { } interval && (interval.Count != 2 || !double.IsFinite(interval[0]) || !double.IsFinite(interval[1]) || interval[0] >= interval[1]))
        {
            return "pwla.interval: give [a, b] with finite a < b.";
        }

        if (SubmissionChecks.ItemsProblem(items, PwlaJobs.IsSamples) is { } problem)
        {
            return problem;
        }

        for (var i = 0; i < items.Count; i++)
        {
            if (!PwlaJobs.IsSamples(items[i]))
            {
                if (pwla.Interval is null)
                {
                    return $"pwla.interval: expression item {i} ('{items[i]}') needs the interval [a, b].";
                }

                try
                {
                    _ = MathExpression.Parse(items[i]);
                }
                catch (ExpressionException e)
                {
                    return $"inputs.items[{i}]: '{items[i]}' is not an expression in x ({e.Message}).";
                }
            }
        }

        return null;
    }

    /// <inheritdoc/>
    public override async Task<ShardReport> RunAsync(ShardRun shard)
    {
        ArgumentNullException.ThrowIfNull(shard);
        var job = shard.Job;
        var pwla = job.Pwla ?? throw new InvalidDataException("The pwla job's spec has no 'pwla' fit.");
        var totals = new PwlaTotals(0, 0, 0, 0);
        foreach (var item in shard.Lease.Items)
        {
            PwlaResult result;
            try
            {
                result = PwlaFitting.Fit(
                    PwlaJobs.IsSamples(item) ? $"samples {item}" : $"f(x) = {item}",
                    await TargetAsync(shard, item, pwla).ConfigureAwait(false),
                    pwla.Segments, pwla.Continuous, pwla.Method, pwla.Seed);
            }
            catch (Exception e) when (e is BlobNotFoundException or FormatException or ArgumentException or InvalidDataException)
            {
                // A missing or malformed input fails its item, not the shard: retrying cannot fix it.
                shard.Records.Add(new ManifestRecord(item, pwla.Method, null, null, null, null, null, e.Message));
                continue;
            }

            await shard.EnsureLeaseAsync().ConfigureAwait(false);
            var stem = $"items/{PwlaJobs.ItemKey(item)}/";
            await shard.PutOutputAsync($"{stem}pwla.json", Encoding.UTF8.GetBytes(result.ToJson())).ConfigureAwait(false);
            await shard.PutOutputAsync($"{stem}pwla.png", result.PlotPng()).ConfigureAwait(false);
            totals = totals.Add(result.Fit.Error, result.L2, result.MaxDeviation);
            shard.Records.Add(new ManifestRecord(item, pwla.Method, null, null, null, null,
                new Dictionary<string, string> { ["json"] = $"{stem}pwla.json", ["png"] = $"{stem}pwla.png" }, null,
                new Dictionary<string, double> { ["error"] = result.Fit.Error, ["l2"] = result.L2, ["linf"] = result.MaxDeviation }));
        }

        var report = await shard.FinishAsync().ConfigureAwait(false);
        return report with { Pwla = totals };
    }

    private static async Task<PwlaTarget> TargetAsync(ShardRun shard, string item, PwlaSpec pwla)
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

        var text = Encoding.UTF8.GetString(await shard.Blobs.ReadAllBytesAsync(item, shard.Token).ConfigureAwait(false));
        var (x, y) = PwlaFitting.ReadSamples(text.Split('\n'), item);
        return PwlaTarget.FromSamples(x, y, a, b);
    }
}
