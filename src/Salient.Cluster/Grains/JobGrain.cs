using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Storage;
using Salient.Cluster.Contracts;
using Salient.Cluster.Internal;
using Salient.Cluster.Placement;
using Salient.Cluster.Silo;
using Salient.Storage;

namespace Salient.Cluster.Grains;

/// <summary>
/// One job: cuts it into shards, keeps each model grain of its model supplied up to its credit, fences
/// every report by the shard's lease token, re-queues shards whose lease expired or whose silo left
/// (with backoff, dead-lettering the poison ones), and writes the manifest and metrics at the end. Its
/// state is written behind the reports, batched: a report whose write was lost re-runs its shard, and
/// tokens never repeat (each activation raises the epoch that heads them). A flush writes the chunks of the
/// shard table whose shards changed, then the job's own small state (<see cref="JobGrainState"/>): its cost follows
/// the reports since the last flush, not the size of the job.
/// </summary>
[CoordinatorPlacement]
internal sealed partial class JobGrain(
    [PersistentState("job", SiloSetup.StateStorage)] IPersistentState<JobGrainState> state,
    IBlobStore blobs,
    IClusterMembershipService membership,
    ISiloMetadataCache metadata,
    IOptions<ClusterGrainOptions> options,
    ILogger<JobGrain> logger) : Grain, IJobGrain, IRemindable
{
    private const string ResumeReminder = "resume";
    private const string ItemsState = "job-items";
    private const string ChunkState = "job-shards-";

    /// <summary>A model grain is sent shards once this fraction of its credit (1/4) is free.</summary>
    private const int RefillFraction = 4;
    private readonly ClusterGrainOptions _options = options.Value;
    private readonly SortedSet<int> _queued = [];
    private readonly Dictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    // Grains that refused their last assignment (a full queue, a stopping silo) or could not be reached (a killed
    // silo the membership has not declared dead yet), left out until the time given: as the grains with the most
    // credit left they would otherwise be offered every shard again at once.
    private readonly Dictionary<string, DateTimeOffset> _unreachable = new(StringComparer.Ordinal);
    private List<(string Key, int Credit)> _targets = [];
    private string? _waiting;
    private int _counter;
    private readonly HashSet<int> _dirtyChunks = [];
    // Shards per state and the items of done shards, kept as shards move, so that counts cost no pass over the table.
    private readonly int[] _counts = new int[Enum.GetValues<ShardState>().Length];
    private int _doneItems;
    private string[] _items = [];
    private List<ShardEntry> _shards = [];
    private GrainState<ShardChunk>[] _chunks = [];
    private IGrainStorage _storage = null!;
    private bool _dirty;
    private JobSummary? _published;
    private Guid _id;
    private List<IDisposable> _timers = [];

    private JobGrainState S => state.State;

    private DateTimeOffset Now => _options.TimeProvider.GetUtcNow();

    private bool IsOpen => S.Plan is not null && S.State is JobState.Queued or JobState.Running;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _id = this.GetPrimaryKey();
        _storage = ServiceProvider.GetRequiredKeyedService<IGrainStorage>(SiloSetup.StateStorage);
        if (S.Plan is null)
        {
            return;
        }

        await ReadTableAsync().ConfigureAwait(true);
        S.Epoch++;
        await state.WriteStateAsync(cancellationToken).ConfigureAwait(true);
        // Holders of leases from before keep them while they renew; a grace period lets them.
        var grace = Now + _options.LeaseDuration;
        foreach (var shard in _shards)
        {
            Count(shard, +1);
            if (shard.State == ShardState.Queued)
            {
                _queued.Add(shard.Index);
            }
            else if (shard.State == ShardState.Leased)
            {
                shard.LeaseExpiresAt = grace;
                _inFlight[shard.Holder!] = _inFlight.GetValueOrDefault(shard.Holder!) + 1;
            }
        }

        if (IsOpen || !S.ResultsWritten)
        {
            StartTimers();
        }

        if (IsOpen)
        {
            await this.RegisterOrUpdateReminder(ResumeReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1), cancellationToken).ConfigureAwait(true);
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_dirty)
        {
            await FlushAsync().ConfigureAwait(true);
        }
    }

    public async Task<JobSnapshot> SubmitAsync(JobPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentOutOfRangeException.ThrowIfLessThan(plan.ShardSize, 1);
        if (S.Plan is null)
        {
            var now = Now;
            S.Plan = plan with { Items = [] };
            S.State = JobState.Queued;
            S.CreatedAt = S.UpdatedAt = now;
            S.Epoch = 1;
            _items = [.. plan.Items];
            for (var first = 0; first < _items.Length; first += plan.ShardSize)
            {
                var shard = new ShardEntry { Index = _shards.Count, FirstItem = first, NotBefore = now };
                _shards.Add(shard);
                Count(shard, +1);
                _queued.Add(shard.Index);
            }

            (S.ItemCount, S.ShardCount) = (_items.Length, _shards.Count);
            // The items and the table first: a job state with a plan says they are written.
            await WriteStateAsync(new GrainState<JobItems>(new JobItems { Items = _items }), ItemsState).ConfigureAwait(true);
            await StartTableAsync().ConfigureAwait(true);
            await state.WriteStateAsync().ConfigureAwait(true);
            await this.RegisterOrUpdateReminder(ResumeReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1)).ConfigureAwait(true);
            StartTimers();
            LogSubmitted(plan.Id, _shards.Count, plan.Model.Key);
            RefreshTargets();
            Pump();
            await PublishAsync().ConfigureAwait(true);
        }

        return Snapshot();
    }

    public Task<JobSnapshot?> GetAsync() => Task.FromResult(S.Plan is null ? null : Snapshot());

    public async Task<bool> CancelAsync()
    {
        if (!IsOpen)
        {
            return false;
        }

        var now = Now;
        foreach (var shard in _shards.Where(s => s.State is ShardState.Queued or ShardState.Leased))
        {
            Move(shard, ShardState.Cancelled);
            shard.Holder = null;
            shard.LeaseExpiresAt = null;
        }

        _queued.Clear();
        _inFlight.Clear();
        S.State = JobState.Cancelled;
        S.UpdatedAt = now;
        S.FinishedAt = now;
        await EndAsync().ConfigureAwait(true);
        return true;
    }

    public Task<IReadOnlyList<ShardSnapshot>> ListShardsAsync() =>
        Task.FromResult<IReadOnlyList<ShardSnapshot>>([.. _shards.Select(s => new ShardSnapshot(
            s.Index, s.FirstItem, ItemsOf(s), s.State.ToString().ToLowerInvariant(), s.Attempt, S.Plan!.MaxAttempts, s.Holder,
            s.LeaseExpiresAt, s.NotBefore, [.. s.Errors], s.Token))]);

    public Task<IReadOnlyList<ShardMetricsRecord>> GetShardMetricsAsync() =>
        Task.FromResult<IReadOnlyList<ShardMetricsRecord>>([.. _shards.Where(s => s.Report is not null).Select(s => new ShardMetricsRecord(s.Index, s.Report!))]);

    public Task<bool> RenewAsync(int index, long token)
    {
        if (Held(index, token) is not { } shard)
        {
            return Task.FromResult(false);
        }

        shard.LeaseExpiresAt = Now + _options.LeaseDuration;
        return Task.FromResult(true);
    }

    public async Task<bool> CompleteAsync(int index, long token, string report)
    {
        if (!TryComplete(index, token, report))
        {
            return false;
        }

        await AfterReportAsync().ConfigureAwait(true);
        return true;
    }

    public async Task<bool[]> CompleteManyAsync(IReadOnlyList<ShardCompletion> completions)
    {
        ArgumentNullException.ThrowIfNull(completions);
        var accepted = new bool[completions.Count];
        for (var i = 0; i < accepted.Length; i++)
        {
            accepted[i] = TryComplete(completions[i].Index, completions[i].Token, completions[i].Report);
        }

        // One end check, one write mark and one round of assignments for the whole batch.
        if (accepted.Contains(true))
        {
            await AfterReportAsync().ConfigureAwait(true);
        }

        return accepted;
    }

    public async Task<bool> FailAsync(int index, long token, string message)
    {
        if (Held(index, token) is not { } shard)
        {
            return false;
        }

        Fail(shard, message);
        await AfterReportAsync().ConfigureAwait(true);
        return true;
    }

    public async Task<bool> ReleaseAsync(int index, long token)
    {
        if (Held(index, token) is not { } shard)
        {
            return false;
        }

        Free(shard);
        Move(shard, ShardState.Queued);
        shard.Attempt--;
        shard.NotBefore = Now;
        _queued.Add(shard.Index);
        await AfterReportAsync().ConfigureAwait(true);
        return true;
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // Activation did the work (timers, grace); finished jobs drop the reminder.
        return IsOpen || S.Plan is null ? Task.CompletedTask : UnregisterResumeAsync();
    }

    /// <summary>Marks the shard done with its report if <paramref name="token"/> still holds it (so at most once).</summary>
    private bool TryComplete(int index, long token, string report)
    {
        if (Held(index, token) is not { } shard)
        {
            LogStale(_id, index, token);
            return false;
        }

        var holder = shard.Holder;
        Free(shard);
        Move(shard, ShardState.Done);
        // Who ran it, for the API's shard list.
        shard.Holder = holder;
        shard.Report = report;
        return true;
    }

    private ShardEntry? Held(int index, long token) =>
        IsOpen && index >= 0 && index < _shards.Count && _shards[index] is { State: ShardState.Leased } shard && shard.Token == token ? shard : null;

    private void Free(ShardEntry shard)
    {
        if (shard.Holder is { } holder && _inFlight.TryGetValue(holder, out var count))
        {
            _inFlight[holder] = count - 1;
        }

        shard.Holder = null;
        shard.LeaseExpiresAt = null;
    }

    private void Fail(ShardEntry shard, string message)
    {
        var now = Now;
        shard.Errors.Add(new ShardErrorRecord(shard.Attempt, shard.Holder, now, message));
        Free(shard);
        if (shard.Attempt >= S.Plan!.MaxAttempts)
        {
            Move(shard, ShardState.Dead);
            LogDead(S.Plan.Id, shard.Index, shard.Attempt, message);
            return;
        }

        Move(shard, ShardState.Queued);
        shard.NotBefore = now + _options.BackoffAfter(shard.Attempt);
        _queued.Add(shard.Index);
    }

    private async Task AfterReportAsync()
    {
        _dirty = true;
        // The counts say when no shard is queued or leased, without a pass over the table (O(shards)) per report.
        if (_counts[(int)ShardState.Queued] == 0 && _counts[(int)ShardState.Leased] == 0)
        {
            var dead = _counts[(int)ShardState.Dead];
            S.State = dead > 0 ? JobState.Failed : JobState.Succeeded;
            S.Error = dead > 0 ? $"{dead} of {_shards.Count} shards dead-lettered" : null;
            S.FinishedAt = Now;
            var merged = new ShardReportMerger().Merge([.. _shards.Where(s => s.Report is not null).Select(s => new ShardMetrics(s.Index, JsonNode.Parse(s.Report!)!.AsObject()))]);
            S.Metrics = merged.ToJsonString();
            await EndAsync().ConfigureAwait(true);
            return;
        }

        Pump();
    }

    /// <summary>A job that reached its end: state written, results written (or retried by the timer), reminder dropped.</summary>
    private async Task EndAsync()
    {
        S.UpdatedAt = Now;
        await WriteChunksAsync().ConfigureAwait(true);
        await state.WriteStateAsync().ConfigureAwait(true);
        _dirty = false;
        LogFinished(S.Plan!.Id, S.State);
        await TryWriteResultsAsync().ConfigureAwait(true);
        await PublishAsync().ConfigureAwait(true);
        await UnregisterResumeAsync().ConfigureAwait(true);
    }

    private async Task UnregisterResumeAsync()
    {
        if (await this.GetReminder(ResumeReminder).ConfigureAwait(true) is { } reminder)
        {
            await this.UnregisterReminder(reminder).ConfigureAwait(true);
        }
    }

    /// <summary>Writes metrics.json and then manifest.jsonl (whose presence says both are written); the timer retries a failed write.</summary>
    private async Task TryWriteResultsAsync()
    {
        if (S.ResultsWritten)
        {
            return;
        }

        try
        {
            var id = S.Plan!.Id;
            var metrics = S.Metrics is null ? [] : JsonNode.Parse(S.Metrics)!.AsObject();
            await blobs.PutAsync(BlobLayout.Metrics(id), JsonSerializer.SerializeToUtf8Bytes(metrics), "application/json", overwrite: true).ConfigureAwait(true);
            var manifest = await ShardRecords.ConcatenateAsync(blobs, id, _shards.Where(s => s.Report is not null)
                .Select(s => (s.Index, ShardReport.FromJson(JsonNode.Parse(s.Report!)!.AsObject())))).ConfigureAwait(true);
            await blobs.PutAsync(BlobLayout.Manifest(id), manifest, "application/x-ndjson", overwrite: true).ConfigureAwait(true);
            S.ResultsWritten = true;
            await state.WriteStateAsync().ConfigureAwait(true);
            // Nothing is left to do: the grain may be collected when idle.
            _timers.ForEach(t => t.Dispose());
            _timers = [];
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogResultsError(e, S.Plan!.Id);
        }
    }

    /// <summary>The check and flush timers, which keep the grain active until its results are written.</summary>
    private void StartTimers() => _timers =
    [
        this.RegisterGrainTimer(CheckAsync, new GrainTimerCreationOptions(_options.CheckInterval, _options.CheckInterval) { KeepAlive = true }),
        this.RegisterGrainTimer(FlushAsync, new GrainTimerCreationOptions(_options.FlushInterval, _options.FlushInterval) { KeepAlive = true }),
    ];

    /// <summary>Takes back leases that expired or whose silo left, learns which grains host the model now, and assigns.</summary>
    private async Task CheckAsync()
    {
        if (!IsOpen)
        {
            if (S.Plan is not null && !S.ResultsWritten)
            {
                await TryWriteResultsAsync().ConfigureAwait(true);
            }

            return;
        }

        var now = Now;
        var members = membership.CurrentSnapshot;
        foreach (var shard in _shards.Where(s => s.State == ShardState.Leased).ToList())
        {
            var silo = SiloAddress.FromParsableString(ModelGrainKey.Parse(shard.Holder!).Silo);
            if (members.GetSiloStatus(silo) is SiloStatus.Dead or SiloStatus.ShuttingDown or SiloStatus.Stopping)
            {
                Fail(shard, $"the worker silo {silo} left the cluster");
                _dirty = true;
            }
            else if (shard.LeaseExpiresAt <= now)
            {
                Fail(shard, "lease expired");
                _dirty = true;
            }
        }

        RefreshTargets();
        if (_dirty)
        {
            await AfterReportAsync().ConfigureAwait(true);
        }
        else
        {
            Pump();
        }
    }

    private async Task FlushAsync()
    {
        if ((_dirty || _dirtyChunks.Count > 0) && IsOpen)
        {
            S.UpdatedAt = Now;
            _dirty = false;
            await WriteChunksAsync().ConfigureAwait(true);
            await state.WriteStateAsync().ConfigureAwait(true);
        }

        await PublishAsync().ConfigureAwait(true);
    }

    /// <summary>The model grains of every active worker silo that hosts the job's model, one per device, each with its credit.</summary>
    private void RefreshTargets()
    {
        var model = S.Plan!.Model.Key;
        var targets = new List<(string, int)>();
        foreach (var member in membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active))
        {
            var data = metadata.GetSiloMetadata(member.SiloAddress).Metadata;
            if (!SiloMetadataKeys.IsWorker(data.GetValueOrDefault(SiloMetadataKeys.Role))
                || (model != ModelRef.None.Key && !SiloMetadataKeys.Hosts(data.GetValueOrDefault(SiloMetadataKeys.Models), model)))
            {
                continue;
            }

            var capacity = int.TryParse(data.GetValueOrDefault(SiloMetadataKeys.Capacity), out var c) ? c : 1;
            foreach (var device in (data.GetValueOrDefault(SiloMetadataKeys.Devices) ?? "cpu").Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                targets.Add((new ModelGrainKey(model, member.SiloAddress.ToParsableString(), device).ToString(), capacity * _options.CreditPerSlot));
            }
        }

        _targets = targets;
        foreach (var key in _unreachable.Where(kv => kv.Value <= Now).Select(kv => kv.Key).ToList())
        {
            _unreachable.Remove(key);
        }

        _waiting = targets.Count == 0 ? $"no worker silo hosts model '{model}': the job waits for one" : null;
    }

    /// <summary>Assigns ready shards in index order, each to the grain with the most credit left.</summary>
    private void Pump()
    {
        if (!IsOpen || _queued.Count == 0 || _targets.Count == 0)
        {
            return;
        }

        var now = Now;
        var reachable = _targets.Where(t => !(_unreachable.TryGetValue(t.Key, out var until) && until > now))
            .Select(t => (t.Key, t.Credit, Free: Math.Max(0, t.Credit - _inFlight.GetValueOrDefault(t.Key)))).ToList();
        var free = reachable.Sum(t => t.Free);
        // Only as many ready shards as there is credit: a report costs O(credit), not O(shards).
        var ready = new List<ShardEntry>(Math.Min(free, _queued.Count));
        foreach (var index in _queued)
        {
            if (ready.Count == free)
            {
                break;
            }

            if (_shards[index].NotBefore <= now)
            {
                ready.Add(_shards[index]);
            }
        }

        // A grain is refilled once a quarter of its credit is free (or as many shards as are ready, when fewer): it still
        // holds the other three quarters in work, and one call carries a batch instead of the shard or two a report frees.
        var targets = reachable.Where(t => t.Free >= Math.Min(Math.Max(1, t.Credit / RefillFraction), ready.Count)).ToList();
        var room = targets.Sum(t => t.Free);
        if (ready.Count > room)
        {
            ready.RemoveRange(room, ready.Count - room);
        }

        // One call per model grain for all the shards it receives in this round.
        var sends = new Dictionary<string, List<ShardWork>>(StringComparer.Ordinal);
        foreach (var shard in ready)
        {
            var best = targets.Select(t => (t.Key, Free: t.Credit - _inFlight.GetValueOrDefault(t.Key))).MaxBy(t => t.Free);
            if (!sends.TryGetValue(best.Key, out var works))
            {
                sends[best.Key] = works = [];
            }

            works.Add(Assign(shard, best.Key, now));
        }

        foreach (var (holder, works) in sends)
        {
            _ = SendAsync(works, holder);
        }
    }

    private ShardWork Assign(ShardEntry shard, string holder, DateTimeOffset now)
    {
        var plan = S.Plan!;
        _queued.Remove(shard.Index);
        Move(shard, ShardState.Leased);
        shard.Attempt++;
        shard.Token = ((long)S.Epoch << 32) | (uint)++_counter;
        shard.Holder = holder;
        shard.LeaseExpiresAt = now + _options.LeaseDuration;
        _inFlight[holder] = _inFlight.GetValueOrDefault(holder) + 1;
        if (S.State == JobState.Queued)
        {
            S.State = JobState.Running;
        }

        _dirty = true;
        return new ShardWork(plan.Id, shard.Index, plan.Kind, plan.Spec, plan.Model, shard.FirstItem, ItemsOf(shard), shard.Attempt,
            plan.MaxAttempts, shard.Token, plan.Priority, S.CreatedAt, shard.LeaseExpiresAt.Value);
    }

    /// <summary>Sends assignments to one model grain; a refused shard or an unreachable grain queues them again, the attempt not counted.</summary>
    private async Task SendAsync(List<ShardWork> works, string holder)
    {
        bool[] accepted;
        try
        {
            accepted = await GrainFactory.GetGrain<IModelGrain>(holder).AssignAsync(works).ConfigureAwait(true);
        }
        catch (Exception e)
        {
            LogAssignError(e, holder);
            _unreachable[holder] = Now + _options.LeaseDuration;
            accepted = new bool[works.Count];
        }

        for (var i = 0; i < works.Count; i++)
        {
            if (!accepted[i] && Held(works[i].Index, works[i].Token) is { } shard)
            {
                // A full queue or a stopping silo: try the others first.
                _unreachable.TryAdd(holder, Now + _options.CheckInterval);
                Free(shard);
                Move(shard, ShardState.Queued);
                shard.Attempt--;
                shard.NotBefore = Now + _options.CheckInterval;
                _queued.Add(shard.Index);
                _dirty = true;
            }
        }
    }

    private JobSnapshot Snapshot()
    {
        var p = S.Plan!;
        return new JobSnapshot(p.Id, p.Kind, p.Spec, p.Model, S.State.ToString().ToLowerInvariant(), p.Priority, p.MaxAttempts, _shards.Count, S.ItemCount,
            Counts(), S.Metrics, S.Error, S.CreatedAt, S.UpdatedAt, S.FinishedAt, IsOpen ? _waiting : null);
    }

    private ShardCountsRecord Counts() => new(
        _counts[(int)ShardState.Queued], _counts[(int)ShardState.Leased], _counts[(int)ShardState.Done], _counts[(int)ShardState.Dead], _counts[(int)ShardState.Cancelled]);

    /// <summary>Moves the shard to <paramref name="to"/>: its counts follow, and its chunk is written at the next flush.</summary>
    private void Move(ShardEntry shard, ShardState to)
    {
        Count(shard, -1);
        shard.State = to;
        Count(shard, +1);
        _dirtyChunks.Add(shard.Index / ShardChunk.Size);
    }

    private void Count(ShardEntry shard, int sign)
    {
        _counts[(int)shard.State] += sign;
        if (shard.State == ShardState.Done)
        {
            _doneItems += sign * SizeOf(shard);
        }
    }

    private string[] ItemsOf(ShardEntry shard) => _items[shard.FirstItem..(shard.FirstItem + SizeOf(shard))];

    private int SizeOf(ShardEntry shard) => Math.Min(S.Plan!.ShardSize, _items.Length - shard.FirstItem);

    /// <summary>
    /// Reads the items and the shard table of a submitted job. A state whose plan holds the items was written by a
    /// development build from before the table moved to chunks, which kept the table in the job's own state: this version
    /// does not convert it (no release wrote it), and says what to do instead of running the job with an empty table.
    /// </summary>
    private async Task ReadTableAsync()
    {
        if (S.Plan!.Items.Count > 0)
        {
            throw new InvalidDataException(
                $"Job {_id}: its stored state has the layout of builds from before the shard table was kept in chunks, which this version does not read. "
                + "Finish or cancel it with the build that started it, then upgrade the coordinators; or delete its grain state, which forgets the job (docs/deployment.md, \"Upgrades\").");
        }

        var items = new GrainState<JobItems>(new JobItems());
        await _storage.ReadStateAsync(ItemsState, this.GetGrainId(), items).ConfigureAwait(true);
        _items = items.State?.Items ?? [];
        _chunks = [.. Enumerable.Range(0, (S.ShardCount + ShardChunk.Size - 1) / ShardChunk.Size).Select(_ => new GrainState<ShardChunk>(new ShardChunk()))];
        await Task.WhenAll(_chunks.Select((chunk, k) => _storage.ReadStateAsync(ChunkState + k.ToString(CultureInfo.InvariantCulture), this.GetGrainId(), chunk))).ConfigureAwait(true);
        _shards = [.. _chunks.SelectMany(c => c.State?.Shards ?? [])];
        if (_items.Length != S.ItemCount || _shards.Count != S.ShardCount)
        {
            throw new InvalidDataException(
                $"Job {_id}: its stored items or shard table are incomplete ({_items.Length} of {S.ItemCount} items, {_shards.Count} of {S.ShardCount} shards).");
        }
    }

    /// <summary>Cuts the table into its chunks and writes them all.</summary>
    private async Task StartTableAsync()
    {
        _chunks = [.. _shards.Chunk(ShardChunk.Size).Select(c => new GrainState<ShardChunk>(new ShardChunk { Shards = [.. c] }))];
        _dirtyChunks.UnionWith(Enumerable.Range(0, _chunks.Length));
        await WriteChunksAsync().ConfigureAwait(true);
    }

    /// <summary>Writes the chunks whose shards changed since they were last written; a failed write leaves them to the next.</summary>
    private async Task WriteChunksAsync()
    {
        if (_dirtyChunks.Count == 0)
        {
            return;
        }

        var dirty = _dirtyChunks.ToList();
        _dirtyChunks.Clear();
        try
        {
            await Task.WhenAll(dirty.Select(k => WriteStateAsync(_chunks[k], ChunkState + k.ToString(CultureInfo.InvariantCulture)))).ConfigureAwait(true);
        }
        catch
        {
            _dirtyChunks.UnionWith(dirty);
            throw;
        }
    }

    /// <summary>
    /// Writes one of the job's grain states beside its own. A first write that finds a record (left by a submission that
    /// failed before the job's own state was written) takes over its version and writes again.
    /// </summary>
    private async Task WriteStateAsync<T>(GrainState<T> grainState, string name)
    {
        try
        {
            await _storage.WriteStateAsync(name, this.GetGrainId(), grainState).ConfigureAwait(true);
        }
        catch (InconsistentStateException) when (grainState.ETag is null)
        {
            var stored = new GrainState<T>(grainState.State);
            await _storage.ReadStateAsync(name, this.GetGrainId(), stored).ConfigureAwait(true);
            grainState.ETag = stored.ETag;
            await _storage.WriteStateAsync(name, this.GetGrainId(), grainState).ConfigureAwait(true);
        }
    }

    /// <summary>Tells the catalog what changed since the last summary.</summary>
    private async Task PublishAsync()
    {
        if (S.Plan is null)
        {
            return;
        }

        var leases = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (holder, count) in _inFlight.Where(kv => kv.Value > 0))
        {
            var silo = ModelGrainKey.Parse(holder).Silo;
            leases[silo] = leases.GetValueOrDefault(silo) + count;
        }

        var summary = new JobSummary(S.Plan.Id, S.State.ToString().ToLowerInvariant(), S.CreatedAt, Counts(), _doneItems, leases, S.Plan.Model.Key);
        if (_published is { } last && last.State == summary.State && last.Shards == summary.Shards && last.LeasesBySilo.Count == leases.Count
            && leases.All(kv => last.LeasesBySilo.GetValueOrDefault(kv.Key) == kv.Value))
        {
            return;
        }

        await GrainFactory.GetGrain<IJobCatalogGrain>(0).UpdateAsync(summary).ConfigureAwait(true);
        _published = summary;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} submitted: {Shards} shards of model {Model}")]
    private partial void LogSubmitted(Guid job, int shards, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} {State}")]
    private partial void LogFinished(Guid job, JobState state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} shard {Index} dead-lettered after {Attempts} attempts: {Error}")]
    private partial void LogDead(Guid job, int index, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {Job} shard {Index}: report with stale token {Token} ignored")]
    private partial void LogStale(Guid job, int index, long token);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Assignment to model grain {Holder} failed")]
    private partial void LogAssignError(Exception error, string holder);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: writing the manifest and metrics failed; retrying")]
    private partial void LogResultsError(Exception error, Guid job);
}
