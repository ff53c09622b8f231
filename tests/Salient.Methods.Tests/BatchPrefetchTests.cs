using System.Text.Json.Nodes;
using Salient.Engine;
using Salient.Engine.IO;
using Salient.Imaging;
using Salient.Methods.Pipeline;

namespace Salient.Methods.Tests;

/// <summary>
/// Loading batches ahead: the next batch loads while the caller works on this one, batches come in order, every
/// batch is disposed by exactly one owner however the run stops, and a run's records and files are the same with
/// and without it (a truncated image in the middle of a batch loaded ahead included).
/// </summary>
public sealed class BatchPrefetchTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("salient-prefetch-");

    public void Dispose() => _work.Delete(true);

    [Fact]
    public void The_next_batch_loads_while_the_caller_works_on_this_one()
    {
        using var secondStarted = new ManualResetEventSlim();
        var seen = new List<int>();
        foreach (var (chunk, batch) in BatchPrefetch.Load([0, 1, 2], chunk =>
        {
            if (chunk == 1)
            {
                secondStarted.Set();
            }

            return new Batch(chunk);
        }, ahead: true))
        {
            using (batch)
            {
                Assert.Equal(chunk, batch.Chunk);
                if (chunk == 0)
                {
                    Assert.True(secondStarted.Wait(Patience), "the second batch did not load while the first was in use");
                }

                seen.Add(chunk);
            }
        }

        Assert.Equal([0, 1, 2], seen);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_caller_that_stops_early_leaves_no_batch_undisposed(bool ahead)
    {
        var loaded = new List<Batch>();
        Batch Load(int chunk)
        {
            var batch = new Batch(chunk);
            lock (loaded)
            {
                loaded.Add(batch);
            }

            return batch;
        }

        Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var (_, batch) in BatchPrefetch.Load([0, 1, 2, 3], Load, ahead))
            {
                using (batch)
                {
                    throw new InvalidOperationException("the caller fails on the first batch");
                }
            }
        });

        Assert.Equal(ahead ? 2 : 1, loaded.Count);
        Assert.All(loaded, batch => Assert.Equal(1, batch.Disposals));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_load_that_fails_as_a_whole_fails_the_run_at_its_batch(bool ahead)
    {
        var seen = new List<int>();
        var error = Assert.Throws<IOException>(() =>
        {
            foreach (var (chunk, batch) in BatchPrefetch.Load([0, 1, 2, 3], chunk => chunk == 2 ? throw new IOException("chunk 2 cannot be read") : new Batch(chunk), ahead))
            {
                using (batch)
                {
                    seen.Add(chunk);
                }
            }
        });

        Assert.Equal("chunk 2 cannot be read", error.Message);
        Assert.Equal([0, 1], seen);
    }

    [Fact]
    public async Task Cancelling_stops_the_loads_and_frees_the_batch_loaded_ahead()
    {
        using var cancel = new CancellationTokenSource();
        var loaded = new List<Batch>();
        var batches = BatchPrefetch.LoadAsync([0, 1, 2, 3], async (chunk, token) =>
        {
            await Task.Yield();
            token.ThrowIfCancellationRequested();
            var batch = new Batch(chunk);
            lock (loaded)
            {
                loaded.Add(batch);
            }

            return batch;
        }, ahead: true, cancel.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var (_, batch) in batches)
            {
                using (batch)
                {
                    await cancel.CancelAsync();
                    cancel.Token.ThrowIfCancellationRequested();
                }
            }
        });

        Assert.InRange(loaded.Count, 1, 2);
        Assert.All(loaded, batch => Assert.Equal(1, batch.Disposals));
    }

    [Fact]
    public void Explain_records_and_files_are_the_same_with_and_without_loading_ahead()
    {
        // Five images in batches of two; the fourth, in the middle of the second batch (the first loaded ahead), is truncated.
        var images = Directory.GetFiles(Fixtures.Path("images"), "*.png").Concat(Directory.GetFiles(Fixtures.Path("images"), "*.jpg")).Order(StringComparer.Ordinal).Take(4).ToArray();
        var broken = Path.Combine(_work.FullName, "broken.png");
        File.WriteAllBytes(broken, File.ReadAllBytes(images[0])[..100]);
        string[] items = [images[0], images[1], images[2], broken, images[3]];

        var (model, loader) = InputLoader.Open(Fixtures.Path("models", "resnet_basic.onnx"));
        var pipeline = new ExplainPipeline(model, loader.Card, [new ExplainOptions { Method = "gradcam" }], RenderOptions.Create(["npy", "png"]));
        (List<string> Records, List<(string, byte[])> Files) Run(bool ahead)
        {
            var (records, files) = (new List<string>(), new List<(string, byte[])>());
            foreach (var (chunk, batch) in BatchPrefetch.Load(items.Chunk(2), chunk => InputBatch.Load(loader, chunk), ahead))
            {
                using (batch)
                {
                    var explained = pipeline.Explain(batch, chunk, [.. chunk.Select(_ => (TargetSelection?)TargetSelection.Top(2))]);
                    // Seconds is a timing: the one field that may differ between two runs of the same work.
                    records.AddRange(explained.Records.Select(r => (r with { Seconds = null }).ToJsonLine()).Select(line => JsonNode.Parse(line)!.ToJsonString()));
                    files.AddRange(explained.Files.Select(f => (f.Path, f.Content)));
                }
            }

            return (records, files);
        }

        var inTurn = Run(ahead: false);
        var ahead = Run(ahead: true);
        Assert.Equal(inTurn.Records, ahead.Records);
        Assert.Equal(inTurn.Files.Select(f => f.Item1), ahead.Files.Select(f => f.Item1));
        // The maps agree to float rounding, not bit for bit: OpenBLAS's thread count is process-wide, and test classes
        // running beside this one (Winograd's parallel GEMMs set it to one thread) can change how a GEMM is split.
        Assert.All(inTurn.Files.Zip(ahead.Files).Where(pair => pair.First.Item1.EndsWith(".npy", StringComparison.Ordinal)), pair =>
        {
            using var expected = Npy.Read(pair.First.Item2, pair.First.Item1);
            using var actual = Npy.Read(pair.Second.Item2, pair.Second.Item1);
            Assert.Equal(expected.ShapeArray(), actual.ShapeArray());
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.Equal(expected.Span[i], actual.Span[i], 1e-5f);
            }
        });
        var failed = Assert.Single(ahead.Records, r => r.Contains("\"error\"", StringComparison.Ordinal));
        Assert.Contains("broken.png", failed, StringComparison.Ordinal);
        Assert.Equal((4 * 2) + 1, ahead.Records.Count);
    }

    private sealed class Batch(int chunk) : IDisposable
    {
        private int _disposals;

        public int Chunk => chunk;

        public int Disposals => Volatile.Read(ref _disposals);

        public void Dispose() => Interlocked.Increment(ref _disposals);
    }
}
