using Azure.Core;
using Azure.Core.Pipeline;
using Salient.Storage;
using Salient.Storage.Internal;

namespace Salient.Storage.Tests.Conformance;

/// <summary>
/// The conformance suite on an <see cref="AzureBlobStore"/> against a real Azurite of its own (the
/// suite kills it), each test in a fresh container. Corruption is done on the wire, after the
/// service has computed the checksum it sends, so it is the SDK's transfer validation that must catch it.
/// </summary>
public sealed class AzuriteConformanceTests : BlobStoreConformanceTests, IClassFixture<AzuriteFixture>
{
    private readonly AzuriteFixture _azurite;
    private readonly CorruptingPolicy _corrupter = new();
    private readonly AzureBlobStore _store;

    public AzuriteConformanceTests(AzuriteFixture azurite)
    {
        _azurite = azurite;
        var address = AzureContainerAddress.FromConnectionString(azurite.ConnectionString("c" + Guid.NewGuid().ToString("N")));
        // Blocks from 1 MiB up so that races and faults cover staged uploads; few, quick retries so a dead service fails fast.
        var options = new AzureBlobStoreOptions { SingleUploadLimit = 1024 * 1024, MaxRetries = 2, RetryBaseDelay = TimeSpan.FromMilliseconds(100), RetryMaxDelay = TimeSpan.FromMilliseconds(400) };
        _store = new AzureBlobStore(address, options, client => client.AddPolicy(_corrupter, HttpPipelinePosition.BeforeTransport));
    }

    protected override IBlobStore Store => _store;

    protected override Task CorruptAsync(string name)
    {
        _corrupter.Arm("/" + string.Join('/', name.Split('/').Select(Uri.EscapeDataString)));
        return Task.CompletedTask;
    }

    protected override void TakeAway() => _azurite.Kill();

    protected override Task BringBackAsync() => _azurite.StartAsync();

    /// <summary>Flips one byte in the body of every download answer for the armed blob path.</summary>
    private sealed class CorruptingPolicy : HttpPipelinePolicy
    {
        private string? _armedPath;

        public void Arm(string blobPath) => _armedPath = blobPath;

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) => throw new NotSupportedException("The store is used asynchronously.");

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            var armed = _armedPath;
            if (armed is null || message.Request.Method != RequestMethod.Get || !message.Request.Uri.Path.EndsWith(armed, StringComparison.Ordinal)
                || message.Response.Status != 206 && message.Response.Status != 200 || message.Response.ContentStream is not { } body)
            {
                return;
            }

            using var bytes = new MemoryStream();
            await body.CopyToAsync(bytes);
            var tampered = bytes.ToArray();
            tampered[tampered.Length / 2] ^= 0x5A;
            message.Response.ContentStream = new MemoryStream(tampered);
        }
    }
}
