using System.Text;
using Salient.Storage;

namespace Salient.Storage.Tests.Conformance;

/// <summary>
/// What every <see cref="IBlobStore"/> must do, run once per store by a subclass that provides a fresh,
/// empty store per test and the store-specific ways to corrupt a blob and to take the store away.
/// </summary>
public abstract class BlobStoreConformanceTests
{
    private const int MiB = 1024 * 1024;

    /// <summary>The blob the large-blob test sends: over 256 MiB, streamed.</summary>
    private const long LargeBlobLength = 300L * MiB;

    /// <summary>
    /// How far the process's resident memory may rise while the large blob goes up or comes down: well
    /// under half its size, with room for tests running alongside (alone, the local store rises by
    /// about 4 MiB and the Azure SDK by 25 to 50 MiB: its pooled block buffers and per-range buffers).
    /// </summary>
    private const long LargeBlobMemoryLimit = 128L * MiB;

    /// <summary>A fresh, empty store for this test.</summary>
    protected abstract IBlobStore Store { get; }

    /// <summary>Changes the stored bytes of blob <paramref name="name"/>, or what every later read of it receives.</summary>
    protected abstract Task CorruptAsync(string name);

    /// <summary>Takes the store away abruptly, as a crash or a lost volume would (called from a write in progress).</summary>
    protected abstract void TakeAway();

    /// <summary>Brings the store back on the same data after <see cref="TakeAway"/>.</summary>
    protected abstract Task BringBackAsync();

    [Fact]
    public async Task Of_two_create_only_writers_racing_for_one_name_exactly_one_wins_and_its_bytes_stay_whole()
    {
        // Small blobs go up in one request, larger ones in blocks committed at the end: race both.
        foreach (var size in new[] { 1024, 3 * MiB })
        {
            for (var round = 0; round < 4; round++)
            {
                var name = $"race/{size}/{round}";
                var contents = new[] { Bytes(size, seed: 1), Bytes(size, seed: 2) };
                using var start = new Barrier(2);
                var writers = contents.Select(content => Task.Run(async () =>
                {
                    start.SignalAndWait();
                    try
                    {
                        await Store.PutAsync(name, new MemoryStream(content));
                        return true;
                    }
                    catch (BlobAlreadyExistsException e)
                    {
                        Assert.Equal(name, e.BlobName);
                        return false;
                    }
                })).ToArray();

                var won = await Task.WhenAll(writers);

                Assert.Single(won, w => w);
                Assert.Equal(contents[Array.IndexOf(won, true)], await Store.ReadAllBytesAsync(name));
            }
        }
    }

    [Fact]
    public async Task Overwriting_replaces_a_blob_and_create_only_leaves_it_alone()
    {
        await Store.PutAsync("a/b.txt", "first"u8.ToArray(), "text/plain");

        var refused = await Assert.ThrowsAsync<BlobAlreadyExistsException>(() => Store.PutAsync("a/b.txt", new MemoryStream("second"u8.ToArray())));
        Assert.Contains("'a/b.txt'", refused.Message, StringComparison.Ordinal);
        Assert.Equal("first", Encoding.UTF8.GetString(await Store.ReadAllBytesAsync("a/b.txt")));

        await Store.PutAsync("a/b.txt", new MemoryStream("second, longer"u8.ToArray()), overwrite: true);
        Assert.Equal("second, longer", Encoding.UTF8.GetString(await Store.ReadAllBytesAsync("a/b.txt")));
        await Store.PutAsync("a/b.txt", "3"u8.ToArray(), overwrite: true);
        Assert.Equal([new BlobItem("a/b.txt", 1)], await Store.ListAsync().ToListAsync());
    }

    [Fact]
    public async Task Empty_blobs_and_streams_read_from_their_position_round_trip()
    {
        await Store.PutAsync("empty", ReadOnlyMemory<byte>.Empty);
        var partly = new MemoryStream("skip|keep"u8.ToArray()) { Position = 5 };
        await Store.PutAsync("tail", partly);

        Assert.Empty(await Store.ReadAllBytesAsync("empty"));
        Assert.Equal("keep", Encoding.UTF8.GetString(await Store.ReadAllBytesAsync("tail")));
        Assert.Equal([new BlobItem("empty", 0), new BlobItem("tail", 4)], await Store.ListAsync().ToListAsync());
    }

    [Fact]
    public async Task Listing_by_prefix_pages_past_5000_blobs_in_ordinal_order()
    {
        const int count = 5_050;
        var names = Enumerable.Range(0, count).Select(i => $"many/{i:D5}").ToArray();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (name, token) =>
            await Store.PutAsync(name, Encoding.UTF8.GetBytes(name), cancellationToken: token));
        await Store.PutAsync("many-not/x", new byte[1]);
        await Store.PutAsync("man", new byte[1]);

        var listed = await Store.ListAsync("many/").ToListAsync();

        Assert.Equal(names, listed.Select(b => b.Name));
        Assert.All(listed, b => Assert.Equal(10, b.Size));
        Assert.Equal(names[..10], await Store.ListAsync("many/0000").Select(b => b.Name).ToListAsync());
        Assert.Equal(count + 2, await Store.ListAsync("man").CountAsync());
        Assert.Equal(count + 2, await Store.ListAsync().CountAsync());
        Assert.Empty(await Store.ListAsync("many/x").ToListAsync());
    }

    [Theory]
    [InlineData("with space/a b.png")]
    [InlineData("unicode/ünïcödé/名前.txt")]
    [InlineData("emoji/😀 🚀.bin")]
    [InlineData("symbols/a+b=c&d;e,f@g$h'!(i)~[j].txt")]
    [InlineData("percent/100% sure %20 %2F.txt")]
    [InlineData("query-like/a?b=c#frag")]
    public async Task Names_with_spaces_unicode_and_url_characters_round_trip(string name)
    {
        await Store.PutAsync(name, Encoding.UTF8.GetBytes(name));

        Assert.True(await Store.ExistsAsync(name));
        Assert.Equal(name, Encoding.UTF8.GetString(await Store.ReadAllBytesAsync(name)));
        Assert.Equal([new BlobItem(name, Encoding.UTF8.GetByteCount(name))], await Store.ListAsync(name.Split('/')[0] + "/").ToListAsync());
        Assert.True(await Store.DeleteAsync(name));
        Assert.False(await Store.ExistsAsync(name));
    }

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("../escape")]
    [InlineData("a/../../escape")]
    [InlineData("a/./b")]
    [InlineData("a//b")]
    [InlineData("/a")]
    [InlineData("a/")]
    [InlineData("a\\b")]
    [InlineData("a\\..\\b")]
    [InlineData("tab\tname")]
    public async Task Invalid_names_are_rejected_by_every_operation_naming_the_name(string name)
    {
        var put = await Assert.ThrowsAsync<ArgumentException>(() => Store.PutAsync(name, new byte[1]));
        Assert.Contains($"'{name}' is not allowed", put.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => Store.PutAsync(name, new MemoryStream(new byte[1])));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.ReadAllBytesAsync(name));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.OpenReadAsync(name));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.ExistsAsync(name));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.DeleteAsync(name));
        Assert.Empty(await Store.ListAsync().ToListAsync());
    }

    [Theory]
    [InlineData("../")]
    [InlineData("a//")]
    [InlineData("a\\")]
    public async Task Invalid_prefixes_are_rejected(string prefix)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await Store.ListAsync(prefix).ToListAsync());
        Assert.Contains($"'{prefix}' is not allowed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_blob_is_not_found_by_reads_and_absent_for_exists_delete_and_list()
    {
        await Store.PutAsync("present", new byte[1]);

        var read = await Assert.ThrowsAsync<BlobNotFoundException>(() => Store.ReadAllBytesAsync("no/such/blob"));
        Assert.Contains("'no/such/blob'", read.Message, StringComparison.Ordinal);
        Assert.Equal("no/such/blob", read.BlobName);
        await Assert.ThrowsAsync<BlobNotFoundException>(() => Store.OpenReadAsync("no/such/blob"));
        Assert.False(await Store.ExistsAsync("no/such/blob"));
        Assert.False(await Store.DeleteAsync("no/such/blob"));
        Assert.Empty(await Store.ListAsync("no/").ToListAsync());
    }

    [Fact]
    public async Task A_blob_over_256_MiB_is_streamed_up_and_down_without_being_held_in_memory()
    {
        var expected = GeneratedStream.HashOf(LargeBlobLength);

        var upload = await PeakMemory.GrowthDuringAsync(() => Store.PutAsync("large/blob.bin", new GeneratedStream(LargeBlobLength)));
        ulong actual = 0;
        var download = await PeakMemory.GrowthDuringAsync(async () =>
        {
            await using var stream = await Store.OpenReadAsync("large/blob.bin");
            actual = await GeneratedStream.HashOfAsync(stream);
        });

        Assert.Equal(expected, actual);
        Assert.Equal([new BlobItem("large/blob.bin", LargeBlobLength)], await Store.ListAsync("large/").ToListAsync());
        Assert.True(upload < LargeBlobMemoryLimit, $"Memory rose {upload / MiB} MiB while uploading {LargeBlobLength / MiB} MiB.");
        Assert.True(download < LargeBlobMemoryLimit, $"Memory rose {download / MiB} MiB while downloading {LargeBlobLength / MiB} MiB.");
    }

    [Fact]
    public async Task A_corrupted_blob_fails_its_read_with_an_integrity_error_naming_it()
    {
        var content = Bytes(6 * MiB, seed: 3);
        await Store.PutAsync("maps/corrupt.bin", content);
        await Store.PutAsync("maps/intact.bin", content);

        await CorruptAsync("maps/corrupt.bin");

        var error = await Assert.ThrowsAsync<BlobIntegrityException>(() => Store.ReadAllBytesAsync("maps/corrupt.bin"));
        Assert.Contains("'maps/corrupt.bin'", error.Message, StringComparison.Ordinal);
        Assert.Equal("maps/corrupt.bin", error.BlobName);
        await using (var stream = await Store.OpenReadAsync("maps/corrupt.bin"))
        {
            await Assert.ThrowsAsync<BlobIntegrityException>(() => stream.CopyToAsync(Stream.Null));
        }

        Assert.Equal(content, await Store.ReadAllBytesAsync("maps/intact.bin"));
    }

    [Fact]
    public async Task A_source_that_fails_mid_write_leaves_no_blob()
    {
        var source = new GeneratedStream(64L * MiB) { Produced = total => { if (total > 9 * MiB) throw new IOException("source went away"); } };

        var error = await Assert.ThrowsAnyAsync<Exception>(() => Store.PutAsync("partial/source", source));

        Assert.Contains(Flatten(error), e => e.Message == "source went away");
        Assert.False(await Store.ExistsAsync("partial/source"));
        Assert.Empty(await Store.ListAsync().ToListAsync());
    }

    [Fact]
    public async Task A_store_that_goes_away_mid_write_fails_the_write_clearly_and_shows_no_blob_once_back()
    {
        var takenAway = 0;
        var source = new GeneratedStream(96L * MiB)
        {
            Produced = total =>
            {
                if (total > 24 * MiB && Interlocked.Exchange(ref takenAway, 1) == 0)
                {
                    TakeAway();
                }
            },
        };

        var error = await Assert.ThrowsAnyAsync<BlobStoreException>(() => Store.PutAsync("partial/store", source));
        Assert.Contains("'partial/store'", error.Message, StringComparison.Ordinal);
        Assert.Equal("partial/store", error.BlobName);

        await BringBackAsync();
        Assert.False(await Store.ExistsAsync("partial/store"));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => Store.ReadAllBytesAsync("partial/store"));
        Assert.DoesNotContain(await Store.ListAsync().ToListAsync(), b => b.Name.StartsWith("partial", StringComparison.Ordinal));
    }

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static IEnumerable<Exception> Flatten(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            yield return e;
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Flatten))
                {
                    yield return inner;
                }
            }
        }
    }
}
