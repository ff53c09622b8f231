using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Salient.Storage;
using SdkBlobItem = Azure.Storage.Blobs.Models.BlobItem;

namespace Salient.Storage.Tests;

/// <summary>
/// Salient's Azure store and the Azure SDK used directly, as another program would, against a real
/// Azurite: each reads and lists what the other wrote, byte for byte.
/// </summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class AzureSdkInteropTests(AzuriteFixture azurite)
{
    private const int MiB = 1024 * 1024;

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static async Task<BlobContainerClient> SdkContainerAsync(string connectionString, string container)
    {
        var client = new BlobContainerClient(connectionString, container);
        await client.CreateIfNotExistsAsync();
        return client;
    }

    private string SdkConnectionString => azurite.ConnectionString("x").Replace(";Container=x", string.Empty, StringComparison.Ordinal);

    [Fact]
    public async Task Blobs_Salient_writes_are_listed_and_downloaded_intact_by_the_Azure_SDK()
    {
        var container = "i" + Guid.NewGuid().ToString("N");
        var store = BlobStore.Open(azurite.ConnectionString(container), new AzureBlobStoreOptions { SingleUploadLimit = MiB, BlockSize = MiB });
        var small = "a saliency map"u8.ToArray();
        var large = RandomBytes((5 * MiB) + 123, seed: 1);
        await store.PutAsync("jobs/7/map ü.png", small, "image/png");
        await store.PutAsync("jobs/7/large.bin", new MemoryStream(large));

        var sdk = await SdkContainerAsync(SdkConnectionString, container);
        var listed = new List<SdkBlobItem>();
        await foreach (var blob in sdk.GetBlobsAsync(BlobTraits.None, BlobStates.None, "jobs/7/", CancellationToken.None))
        {
            listed.Add(blob);
        }

        Assert.Equal(["jobs/7/large.bin", "jobs/7/map ü.png"], listed.Select(b => b.Name));
        Assert.Equal([large.Length, small.Length], listed.Select(b => b.Properties.ContentLength));
        Assert.Equal("image/png", listed[1].Properties.ContentType);
        Assert.Equal(small, (await sdk.GetBlobClient("jobs/7/map ü.png").DownloadContentAsync()).Value.Content.ToArray());
        Assert.Equal(large, (await sdk.GetBlobClient("jobs/7/large.bin").DownloadContentAsync()).Value.Content.ToArray());
        // Five blocks and a sixth short one, committed as one blob.
        var blocks = (await sdk.GetBlockBlobClient("jobs/7/large.bin").GetBlockListAsync()).Value;
        Assert.Equal(6, blocks.CommittedBlocks.Count());
    }

    [Fact]
    public async Task Blobs_the_Azure_SDK_writes_are_listed_and_read_intact_by_Salient()
    {
        var container = "i" + Guid.NewGuid().ToString("N");
        var sdk = await SdkContainerAsync(SdkConnectionString, container);
        var whole = "uploaded in one request"u8.ToArray();
        var staged = RandomBytes(9 * MiB, seed: 2);
        await sdk.UploadBlobAsync("in/one put.txt", new BinaryData(whole));
        await sdk.GetBlobClient("in/parallel.bin").UploadAsync(new MemoryStream(staged), new BlobUploadOptions
        {
            TransferOptions = new Azure.Storage.StorageTransferOptions { InitialTransferSize = MiB, MaximumTransferSize = 2 * MiB, MaximumConcurrency = 4 },
        });
        var manual = sdk.GetBlockBlobClient("in/名前/manual.bin");
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var id = Convert.ToBase64String(BitConverter.GetBytes(i));
            await manual.StageBlockAsync(id, new MemoryStream(Encoding.UTF8.GetBytes($"block {i};")));
            ids.Add(id);
        }

        await manual.CommitBlockListAsync(ids);

        var store = BlobStore.Open(azurite.ConnectionString(container));
        Assert.Equal(
            [new BlobItem("in/one put.txt", whole.Length), new BlobItem("in/parallel.bin", staged.Length), new BlobItem("in/名前/manual.bin", 24)],
            await store.ListAsync("in/").ToListAsync());
        Assert.Equal(whole, await store.ReadAllBytesAsync("in/one put.txt"));
        Assert.Equal(staged, await store.ReadAllBytesAsync("in/parallel.bin"));
        Assert.Equal("block 0;block 1;block 2;", Encoding.UTF8.GetString(await store.ReadAllBytesAsync("in/名前/manual.bin")));
        await Assert.ThrowsAsync<BlobAlreadyExistsException>(() => store.PutAsync("in/parallel.bin", new byte[1]));
    }
}
