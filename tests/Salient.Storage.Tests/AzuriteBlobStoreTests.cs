using System.Net;
using System.Text;
using Azure.Core.Pipeline;
using Salient.Storage;
using Salient.Storage.Internal;

namespace Salient.Storage.Tests;

/// <summary>The Azure store against a real Azurite: each test works in its own container.</summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class AzuriteBlobStoreTests(AzuriteFixture azurite)
{
    private static readonly AzureBlobStoreOptions SmallBlocks = new() { SingleUploadLimit = 64 * 1024, BlockSize = 16 * 1024 };

    private static string NewContainer() => "t" + Guid.NewGuid().ToString("N");

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public async Task Shared_key_round_trip_put_read_exists_delete()
    {
        var store = BlobStore.Open(azurite.ConnectionString(NewContainer()));
        const string name = "jobs/j1/items/a b+ü/gradcam-c3.png";

        await store.PutAsync(name, "png bytes"u8.ToArray(), "image/png");

        Assert.True(await store.ExistsAsync(name));
        Assert.Equal("png bytes", Encoding.UTF8.GetString(await store.ReadAllBytesAsync(name)));
        Assert.Equal([new BlobItem(name, 9)], await store.ListAsync("jobs/j1/").ToListAsync());
        Assert.True(await store.DeleteAsync(name));
        Assert.False(await store.ExistsAsync(name));
        Assert.False(await store.DeleteAsync(name));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => store.ReadAllBytesAsync(name));
    }

    [Fact]
    public async Task Development_storage_connection_string_works_and_empty_blobs_round_trip()
    {
        var store = BlobStore.Open($"UseDevelopmentStorage=true;BlobEndpoint={azurite.BlobEndpoint};Container={NewContainer()}");

        await store.PutAsync("x", new byte[] { 7 });
        await store.PutAsync("empty", ReadOnlyMemory<byte>.Empty);

        Assert.Equal(new byte[] { 7 }, await store.ReadAllBytesAsync("x"));
        Assert.Empty(await store.ReadAllBytesAsync("empty"));
        Assert.Equal([new BlobItem("empty", 0), new BlobItem("x", 1)], await store.ListAsync().ToListAsync());
    }

    [Fact]
    public async Task Blobs_over_the_threshold_go_up_in_blocks_and_come_back_whole_with_their_MD5()
    {
        var recorder = new RecordingHandler();
        var container = NewContainer();
        var store = new AzureBlobStore(AzureContainerAddress.FromConnectionString(azurite.ConnectionString(container)), SmallBlocks, client => client.Transport = new HttpClientTransport(new HttpClient(recorder)));
        var large = RandomBytes((100 * 1024) + 7);

        await store.PutAsync("big/from-memory.bin", large);
        using (var pipe = new NonSeekableStream(large))
        {
            await store.PutAsync("big/from-stream.bin", pipe);
        }

        // 100 KiB + 7 in 16 KiB blocks is 7 blocks per upload.
        Assert.Equal(14, recorder.Queries.Count(q => q.Contains("comp=block&", StringComparison.Ordinal)));
        Assert.Equal(2, recorder.Queries.Count(q => q.Contains("comp=blocklist", StringComparison.Ordinal)));
        Assert.Equal(large, await store.ReadAllBytesAsync("big/from-memory.bin"));
        Assert.Equal(large, await store.ReadAllBytesAsync("big/from-stream.bin"));
        Assert.Equal(large.Length, (await store.ListAsync("big/").ToListAsync())[1].Size);
        Assert.True(recorder.SawContentMd5OnDownload, "Azurite returned no Content-MD5, so the download was not verified.");
    }

    [Fact]
    public async Task A_blob_at_the_threshold_goes_up_in_one_put()
    {
        var recorder = new RecordingHandler();
        var store = new AzureBlobStore(AzureContainerAddress.FromConnectionString(azurite.ConnectionString(NewContainer())), SmallBlocks, client => client.Transport = new HttpClientTransport(new HttpClient(recorder)));
        var exact = RandomBytes(SmallBlocks.SingleUploadLimit);

        await store.PutAsync("exact.bin", new MemoryStream(exact));
        await store.PutAsync("exact-from-memory.bin", exact);

        Assert.DoesNotContain(recorder.Queries, q => q.Contains("comp=block", StringComparison.Ordinal));
        Assert.Equal(exact, await store.ReadAllBytesAsync("exact.bin"));
        Assert.Equal(exact, await store.ReadAllBytesAsync("exact-from-memory.bin"));
    }

    [Fact]
    public async Task Create_only_puts_conflict_for_single_and_block_uploads()
    {
        var store = BlobStore.Open(azurite.ConnectionString(NewContainer()), SmallBlocks);
        var large = RandomBytes(100 * 1024);
        await store.PutAsync("small", "first"u8.ToArray());
        await store.PutAsync("large", large);

        var small = await Assert.ThrowsAsync<BlobAlreadyExistsException>(() => store.PutAsync("small", "second"u8.ToArray()));
        await Assert.ThrowsAsync<BlobAlreadyExistsException>(() => store.PutAsync("large", RandomBytes(90 * 1024)));

        Assert.Equal("small", small.BlobName);
        Assert.Equal("first", Encoding.UTF8.GetString(await store.ReadAllBytesAsync("small")));
        Assert.Equal(large, await store.ReadAllBytesAsync("large"));
        await store.PutAsync("small", "second"u8.ToArray(), overwrite: true);
        Assert.Equal("second", Encoding.UTF8.GetString(await store.ReadAllBytesAsync("small")));
    }

    [Fact]
    public async Task Listing_follows_markers_across_small_pages()
    {
        var store = BlobStore.Open(azurite.ConnectionString(NewContainer()), new AzureBlobStoreOptions { ListPageSize = 2 });
        string[] names = ["jobs/1/a", "jobs/1/b", "jobs/1/c", "jobs/1/d", "jobs/1/e", "jobs/10/a", "other"];
        foreach (var name in names)
        {
            await store.PutAsync(name, Encoding.UTF8.GetBytes(name));
        }

        Assert.Equal(names[..5], await store.ListAsync("jobs/1/").Select(b => b.Name).ToListAsync());
        Assert.Equal(names, await store.ListAsync().Select(b => b.Name).ToListAsync());
        Assert.Empty(await BlobStore.Open(azurite.ConnectionString(NewContainer())).ListAsync().ToListAsync());
    }

    [Fact]
    public async Task A_container_SAS_URL_reads_and_writes_within_its_permissions()
    {
        var container = NewContainer();
        var owner = BlobStore.Open(azurite.ConnectionString(container));
        await owner.PutAsync("seed", "s"u8.ToArray());
        var account = AzureContainerAddress.DevelopmentAccount;
        var key = AzureContainerAddress.DevelopmentKey;

        var writer = BlobStore.Open($"{azurite.BlobEndpoint}/{container}?{ServiceSas.ForContainer(account, key, container, "racwdl")}", SmallBlocks);
        var large = RandomBytes(80 * 1024);
        await writer.PutAsync("via-sas/large", large);
        Assert.Equal(large, await writer.ReadAllBytesAsync("via-sas/large"));
        Assert.Equal(["seed", "via-sas/large"], await writer.ListAsync().Select(b => b.Name).ToListAsync());
        Assert.True(await writer.DeleteAsync("via-sas/large"));

        var reader = BlobStore.Open($"{azurite.BlobEndpoint}/{container}?{ServiceSas.ForContainer(account, key, container, "rl")}");
        Assert.Equal("s", Encoding.UTF8.GetString(await reader.ReadAllBytesAsync("seed")));
        var denied = await Assert.ThrowsAsync<BlobStoreException>(() => reader.PutAsync("forbidden", "x"u8.ToArray()));
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Contains("'forbidden'", denied.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sig=", denied.Message, StringComparison.Ordinal);

        var forged = BlobStore.Open($"{azurite.BlobEndpoint}/{container}?{ServiceSas.ForContainer(account, Convert.ToBase64String(new byte[64]), container, "rl")}");
        Assert.Equal(HttpStatusCode.Forbidden, (await Assert.ThrowsAsync<BlobStoreException>(() => forged.ReadAllBytesAsync("seed"))).StatusCode);
    }

    [Fact]
    public async Task A_wrong_account_key_is_refused_with_the_services_error_code()
    {
        var wrongKey = Convert.ToBase64String(new byte[64]);
        var store = BlobStore.Open($"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={wrongKey};BlobEndpoint={azurite.BlobEndpoint};Container={NewContainer()}");

        var error = await Assert.ThrowsAsync<BlobStoreException>(() => store.ExistsAsync("x"));

        Assert.Equal(HttpStatusCode.Forbidden, error.StatusCode);
        Assert.False(string.IsNullOrEmpty(error.ErrorCode));
    }

    /// <summary>Records request queries and whether downloads carried Content-MD5, passing everything to the real service.</summary>
    private sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler())
    {
        public List<string> Queries { get; } = [];

        public bool SawContentMd5OnDownload { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (Queries)
            {
                Queries.Add(request.RequestUri!.Query);
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (request.Method == HttpMethod.Get && response.Content.Headers.ContentMD5 is not null)
            {
                SawContentMd5OnDownload = true;
            }

            return response;
        }
    }

    /// <summary>A stream that cannot seek or tell its length, as a pipe or network body.</summary>
    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}
