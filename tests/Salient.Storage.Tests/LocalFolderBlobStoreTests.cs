using System.Text;
using Salient.Storage;

namespace Salient.Storage.Tests;

public sealed class LocalFolderBlobStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "salient-blobs-" + Guid.NewGuid().ToString("N"));
    private readonly LocalFolderBlobStore _store;

    public LocalFolderBlobStoreTests() => _store = new LocalFolderBlobStore(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Put_then_read_returns_the_bytes_from_memory_and_from_a_stream()
    {
        await _store.PutAsync("jobs/j1/items/cat/gradcam-c3.png", Encoding.UTF8.GetBytes("map"));
        using (var source = new MemoryStream(Encoding.UTF8.GetBytes("lines")))
        {
            await _store.PutAsync("jobs/j1/manifest.jsonl", source);
        }

        Assert.Equal("map", Encoding.UTF8.GetString(await _store.ReadAllBytesAsync("jobs/j1/items/cat/gradcam-c3.png")));
        await using var stream = await _store.OpenReadAsync("jobs/j1/manifest.jsonl");
        using var reader = new StreamReader(stream);
        Assert.Equal("lines", await reader.ReadToEndAsync());
        Assert.True(File.Exists(Path.Combine(_root, "jobs", "j1", "items", "cat", "gradcam-c3.png")));
    }

    [Fact]
    public async Task Create_only_put_refuses_an_existing_blob_and_leaves_it_unchanged()
    {
        await _store.PutAsync("a/b.txt", "first"u8.ToArray());

        var error = await Assert.ThrowsAsync<BlobAlreadyExistsException>(() => _store.PutAsync("a/b.txt", "second"u8.ToArray()));

        Assert.Equal("a/b.txt", error.BlobName);
        Assert.Contains("'a/b.txt'", error.Message, StringComparison.Ordinal);
        Assert.Equal("first", Encoding.UTF8.GetString(await _store.ReadAllBytesAsync("a/b.txt")));
        await _store.PutAsync("a/b.txt", "second"u8.ToArray(), overwrite: true);
        Assert.Equal("second", Encoding.UTF8.GetString(await _store.ReadAllBytesAsync("a/b.txt")));
    }

    [Fact]
    public async Task Concurrent_create_only_puts_let_exactly_one_writer_win()
    {
        var writers = Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            try
            {
                await _store.PutAsync("race/blob", Encoding.UTF8.GetBytes($"writer {i}"));
                return true;
            }
            catch (BlobAlreadyExistsException)
            {
                return false;
            }
        }));

        var won = await Task.WhenAll(writers);

        Assert.Single(won, w => w);
        Assert.StartsWith("writer ", Encoding.UTF8.GetString(await _store.ReadAllBytesAsync("race/blob")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exists_and_delete_report_whether_the_blob_was_there()
    {
        await _store.PutAsync("x/y", new byte[] { 1, 2, 3 });

        Assert.True(await _store.ExistsAsync("x/y"));
        Assert.True(await _store.DeleteAsync("x/y"));
        Assert.False(await _store.ExistsAsync("x/y"));
        Assert.False(await _store.DeleteAsync("x/y"));
    }

    [Fact]
    public async Task A_missing_blob_throws_not_found_naming_it()
    {
        var error = await Assert.ThrowsAsync<BlobNotFoundException>(() => _store.ReadAllBytesAsync("no/such/blob"));
        Assert.Contains("'no/such/blob'", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<BlobNotFoundException>(() => _store.OpenReadAsync("no/such/blob"));
    }

    [Fact]
    public async Task List_gives_names_and_sizes_under_a_prefix_in_ordinal_order_without_unfinished_writes()
    {
        await _store.PutAsync("jobs/42/b", new byte[2]);
        await _store.PutAsync("jobs/42/a/z", new byte[3]);
        await _store.PutAsync("jobs/4/x", new byte[1]);
        await _store.PutAsync("other", new byte[4]);
        Directory.CreateDirectory(Path.Combine(_root, ".incoming"));
        await File.WriteAllBytesAsync(Path.Combine(_root, ".incoming", "partial"), new byte[9]);

        Assert.Equal(
            [new BlobItem("jobs/4/x", 1), new BlobItem("jobs/42/a/z", 3), new BlobItem("jobs/42/b", 2)],
            await _store.ListAsync("jobs/4").ToListAsync());
        Assert.Equal(["jobs/42/a/z", "jobs/42/b"], await _store.ListAsync("jobs/42/").Select(b => b.Name).ToListAsync());
        Assert.Equal(4, await _store.ListAsync().CountAsync());
        Assert.Empty(await _store.ListAsync("missing/").ToListAsync());
    }

    [Fact]
    public async Task Writes_leave_no_temporary_files_behind()
    {
        await _store.PutAsync("a", new byte[10]);
        await Assert.ThrowsAsync<BlobAlreadyExistsException>(() => _store.PutAsync("a", new byte[10]));

        Assert.Empty(Directory.GetFiles(Path.Combine(_root, ".incoming")));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/../../escape")]
    [InlineData("a/./b")]
    [InlineData("/etc/passwd")]
    [InlineData("a//b")]
    [InlineData("a/")]
    [InlineData("a\\..\\b")]
    [InlineData("")]
    [InlineData(".incoming/x")]
    public async Task Names_that_could_leave_the_folder_or_are_reserved_are_rejected(string name)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => _store.PutAsync(name, new byte[1]));
        Assert.Contains($"'{name}' is not allowed", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => _store.ReadAllBytesAsync(name));
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(_root)!, "escape")));
    }

    [Fact]
    public async Task A_prefix_that_climbs_out_is_rejected()
    {
        await Assert.ThrowsAsync<ArgumentException>(async () => await _store.ListAsync("../").ToListAsync());
    }
}
