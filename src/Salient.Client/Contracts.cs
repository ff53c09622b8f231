using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Salient.Client;

/// <summary>Where a job's items come from: exactly one of a blob prefix, a manifest blob, or explicit blob names.</summary>
/// <param name="Prefix">Every image blob under this prefix, in name order.</param>
/// <param name="Manifest">A JSON-lines blob: <c>{"image": ..., "labels": [...], "objects": [...]}</c> per line, paths relative to it.</param>
/// <param name="Items">Blob names.</param>
public sealed record JobInputs(string? Prefix = null, string? Manifest = null, IReadOnlyList<string>? Items = null);

/// <summary>A job to run (<c>POST /api/v1/jobs</c>).</summary>
public sealed record JobSubmission
{
    /// <summary>A client-chosen id, so that a retried submission creates one job; a fresh one when null.</summary>
    public Guid? Id { get; init; }

    /// <summary>This submission with an id: its own, or a new one (what clients send, so that a retry creates one job).</summary>
    public JobSubmission WithId() => Id is null ? this with { Id = Guid.CreateVersion7() } : this;

    /// <summary><c>explain</c> (saliency maps), <c>eval</c> (explanation-quality metrics) or <c>pwla</c> (piecewise linear fits).</summary>
    public string Kind { get; init; } = "explain";

    /// <summary>The key of a registered model; required by <c>explain</c> and <c>eval</c>, absent for <c>pwla</c>.</summary>
    public string? Model { get; init; }

    /// <summary>The items.</summary>
    public required JobInputs Inputs { get; init; }

    /// <summary>Explanation methods, e.g. <c>gradcam</c>.</summary>
    public IReadOnlyList<string> Methods { get; init; } = ["gradcam"];

    /// <summary>
    /// <c>top1</c>, <c>topk:K</c>, <c>class:I[,J...]</c>, <c>contrast:A,B[,C...]</c>, <c>weights:A=W[,B=W...]</c>, or <c>labels</c> (each item's labels from the manifest).
    /// The older <c>topN</c> is still accepted, deprecated: the job stores <c>topk:N</c> and the response carries a <c>Warning</c> header.
    /// </summary>
    public string Targets { get; init; } = "top1";

    /// <summary>ONNX value names of the CAM layers; empty: the method's default.</summary>
    public IReadOnlyList<string> Layers { get; init; } = [];

    /// <summary>Gradient denoising of shallow-layer CAMs: null, <c>floor</c>, <c>ceil</c>, <c>rectify</c> or <c>backprop</c>.</summary>
    public string? Denoise { get; init; }

    /// <summary>The quantile q of the denoising truncation; null for 0.7 (the CLI's <c>--denoise-q</c>).</summary>
    public float? DenoiseQuantile { get; init; }

    /// <summary>Method parameters by name (the CLI's <c>--param NAME=VALUE</c>); each method gets the ones it declares (docs/methods.md).</summary>
    public IReadOnlyDictionary<string, double>? Parameters { get; init; }

    /// <summary>Seed of the sampling methods and of SmoothGrad's noise (the CLI's <c>--seed</c>): the same seed gives the same maps.</summary>
    public int Seed { get; init; }

    /// <summary>Metrics of an <c>eval</c> job; empty: all.</summary>
    public IReadOnlyList<string> Metrics { get; init; } = [];

    /// <summary>Files per item × method × target of an <c>explain</c> job: npy, png, overlay, mask, boxes.</summary>
    public IReadOnlyList<string> Outputs { get; init; } = ["npy", "png", "overlay"];

    /// <summary>The fit of a <c>pwla</c> job, whose items are expressions in x or <c>.csv</c> blobs of x,y samples.</summary>
    public PwlaSpec? Pwla { get; init; }

    /// <summary>Items per shard.</summary>
    public int ShardSize { get; init; } = 64;

    /// <summary>Lower values run first.</summary>
    public int Priority { get; init; }

    /// <summary>Leases of a shard before it is dead-lettered.</summary>
    public int MaxAttempts { get; init; } = 5;
}

/// <summary>The fit every item of a <c>pwla</c> job gets (as <c>salient pwla fit</c>).</summary>
/// <param name="Segments">Linear segments n.</param>
/// <param name="Continuous">Fit a continuous function (CPWLA) instead of allowing jumps (PWLA).</param>
/// <param name="Method"><c>lnn</c>, <c>dp</c> (discontinuous only) or <c>de</c>.</param>
/// <param name="Interval">[a, b]: required by expression items; for samples it defaults to their range.</param>
/// <param name="Seed">The solver's random seed.</param>
public sealed record PwlaSpec(int Segments, bool Continuous = false, string Method = "lnn", IReadOnlyList<double>? Interval = null, int Seed = 0);

/// <summary>How many of a job's shards are in each state.</summary>
public sealed record ShardCounts(int Total, int Queued, int Leased, int Done, int Dead, int Cancelled);

/// <summary>How many of a job's items are finished, and how many of those failed.</summary>
public sealed record ItemCounts(int Total, int Done, int Failed);

/// <summary>A job and its progress.</summary>
/// <param name="Id">The job's id.</param>
/// <param name="Kind"><c>explain</c> or <c>eval</c>.</param>
/// <param name="State"><c>queued</c>, <c>running</c>, <c>succeeded</c>, <c>failed</c> (some shards dead-lettered) or <c>cancelled</c>.</param>
/// <param name="Model">The model key.</param>
/// <param name="CreatedAt">When it was submitted.</param>
/// <param name="UpdatedAt">Its last state change.</param>
/// <param name="FinishedAt">When it finished, if it did.</param>
/// <param name="Shards">Shards by state.</param>
/// <param name="Items">Items done and failed, counted per completed shard.</param>
/// <param name="ThroughputItemsPerS">Items per second since submission.</param>
/// <param name="EtaS">Seconds left at that rate, when known.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="MetricsAvailable">Whether <c>/metrics</c> of the job has its merged document.</param>
public sealed record Job(
    Guid Id, string Kind, string State, string Model, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? FinishedAt,
    ShardCounts Shards, ItemCounts Items, double ThroughputItemsPerS, double? EtaS, string? Error, bool MetricsAvailable)
{
    /// <summary>Whether the job reached a state it never leaves.</summary>
    [JsonIgnore]
    public bool IsFinished => State is "succeeded" or "failed" or "cancelled";
}

/// <summary>A registered model.</summary>
/// <param name="Key">Its name in job submissions and worker <c>--models</c>.</param>
/// <param name="Sha256">The hex SHA-256 of the ONNX file.</param>
/// <param name="Uri">The blob holding it: <c>models/&lt;sha256&gt;.onnx</c>.</param>
/// <param name="Card">Its model card, when one was uploaded.</param>
public sealed record ModelInfo(string Key, string Sha256, string Uri, JsonObject? Card);

/// <summary>A worker as the coordinator sees it.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Name">Host and process.</param>
/// <param name="Devices">Devices it declared, e.g. <c>cpu</c>.</param>
/// <param name="Models">Model keys it hosts, or <c>["any"]</c>.</param>
/// <param name="Capacity">Shards it runs at once.</param>
/// <param name="State"><c>active</c> or <c>lost</c>.</param>
/// <param name="HeartbeatAt">Its last heartbeat.</param>
/// <param name="ShardsInFlight">Shards it holds leases on.</param>
public sealed record WorkerSummary(Guid Id, string Name, IReadOnlyList<string> Devices, IReadOnlyList<string> Models, int Capacity, string State,
    DateTimeOffset HeartbeatAt, int ShardsInFlight);

/// <summary>
/// One manifest record: an item × method × target with its output blobs (names under <c>jobs/&lt;id&gt;/</c>)
/// or its metrics (an <c>eval</c> job), or the error that stopped it (then <see cref="Class"/> may be null: the
/// item failed as a whole). <c>salient explain</c> and <c>salient eval</c> write the same records to their folders.
/// </summary>
/// <param name="Item">The input's blob name (a CLI run: its path).</param>
/// <param name="Method">The explanation method.</param>
/// <param name="Layer">The layers the method used, defaults resolved, comma-separated; null for methods that use none.</param>
/// <param name="Class">The target class.</param>
/// <param name="Label">Its label from the model card.</param>
/// <param name="Score">The model's probability of the class.</param>
/// <param name="Outputs">Output files by kind: <c>map</c>, <c>raw</c>, <c>png</c>, <c>overlay</c>, <c>mask</c>, <c>boxes</c>.</param>
/// <param name="Error">Why the item or target failed.</param>
/// <param name="Metrics">Explanation-quality scores of an <c>eval</c> target; the fit's errors of a <c>pwla</c> item.</param>
/// <param name="Seconds">Explaining time per map in the item's batch.</param>
/// <param name="Target">The score explained when it is not the class's own logit (<c>contrast:3,5</c>, <c>weights:3=1,5=-0.5</c>; <see cref="Class"/> is its first class); null for a plain target.</param>
public sealed record ResultRecord(string Item, string Method, string? Layer, int? Class, string? Label, double? Score,
    IReadOnlyDictionary<string, string>? Outputs, string? Error, JsonObject? Metrics = null, double? Seconds = null, string? Target = null);

/// <summary>The JSON conventions of the API: snake_case names, nulls omitted on writing.</summary>
public static class SalientJson
{
    /// <summary>Options for every request and response body.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
