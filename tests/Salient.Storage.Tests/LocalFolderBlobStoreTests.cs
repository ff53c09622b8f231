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

    [Fact]
    public async Task A_small_blob_read_whole_is_verified_like_a_streamed_one()
    {
        // Blobs of a few MiB or less are read in one piece, not through the checking stream.
        await _store.PutAsync("records/0-1.jsonl", "{\"item\":\"a\"}\n"u8.ToArray());
        await _store.PutAsync("records/empty.jsonl", ReadOnlyMemory<byte>.Empty);
        var path = Path.Combine(_root, "records", "0-1.jsonl");
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = 3;
            file.WriteByte((byte)'X');
        }

        var error = await Assert.ThrowsAsync<BlobIntegrityException>(() => _store.ReadAllBytesAsync("records/0-1.jsonl"));
        Assert.Equal("records/0-1.jsonl", error.BlobName);
        Assert.Empty(await _store.ReadAllBytesAsync("records/empty.jsonl"));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => _store.ReadAllBytesAsync("records/missing.jsonl"));
    }

    [Fact]
    public async Task The_folder_of_unfinished_writes_is_reserved()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => _store.PutAsync(".incoming/x", new byte[1]));
        Assert.Contains("'.incoming/x' is not allowed", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => _store.ReadAllBytesAsync(".incoming/x"));
    }

    [Fact]
    public async Task Files_put_into_the_folder_by_other_means_have_no_checksum_and_read_as_they_are()
    {
        await _store.PutAsync("copied/in.png", "written by the store"u8.ToArray());
        // cp without --preserve=xattr: a new file, without the store's checksum.
        File.Delete(Path.Combine(_root, "copied", "in.png"));
        await File.WriteAllTextAsync(Path.Combine(_root, "copied", "in.png"), "copied in");
        await File.WriteAllTextAsync(Path.Combine(_root, "copied", "other.png"), "also copied");

        Assert.Equal("copied in", Encoding.UTF8.GetString(await _store.ReadAllBytesAsync("copied/in.png")));
        Assert.Equal("also copied", Encoding.UTF8.GetString(await _store.ReadAllBytesAsync("copied/other.png")));
        Assert.Equal(["copied/in.png", "copied/other.png"], await _store.ListAsync("copied/").Select(b => b.Name).ToListAsync());
    }
}
