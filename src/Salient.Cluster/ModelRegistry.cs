using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Salient.Client;
using Salient.Storage;

namespace Salient.Cluster;

/// <summary>
/// The models the cluster knows, kept in the blob store: the ONNX file under its SHA-256, its card
/// beside it, and a small registration per key, so coordinators and workers need no other state.
/// </summary>
public sealed class ModelRegistry(IBlobStore blobs)
{
    private const string KeyPrefix = "models/keys/";

    /// <summary>Stores the model (idempotent: the same bytes land on the same names) and registers it under <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentException">The key or the card is unusable.</exception>
    public async Task<ModelInfo> RegisterAsync(string key, ReadOnlyMemory<byte> onnx, byte[]? card, CancellationToken cancellationToken = default)
    {
        if (!IsValidKey(key))
        {
            throw new ArgumentException($"model key '{key}': use 1 to 64 letters, digits, '.', '_' or '-', not 'any'.", nameof(key));
        }

        JsonObject? cardJson = null;
        if (card is not null)
        {
            try
            {
                cardJson = JsonNode.Parse(card) as JsonObject ?? throw new JsonException("not a JSON object");
            }
            catch (JsonException e)
            {
                throw new ArgumentException($"card: not a model card ({e.Message}).", nameof(card), e);
            }
        }

        var sha256 = Convert.ToHexStringLower(SHA256.HashData(onnx.Span));
        await PutOnceAsync(BlobLayout.Model(sha256), onnx, cancellationToken).ConfigureAwait(false);
        if (card is not null)
        {
            await blobs.PutAsync(BlobLayout.ModelCard(sha256), card, "application/json", overwrite: true, cancellationToken).ConfigureAwait(false);
        }

        var info = new ModelInfo(key, sha256, BlobLayout.Model(sha256), cardJson);
        await blobs.PutAsync(BlobLayout.ModelKey(key), JsonSerializer.SerializeToUtf8Bytes(info, SalientJson.Options), "application/json", overwrite: true, cancellationToken)
            .ConfigureAwait(false);
        return info;
    }

    /// <summary>The model registered under <paramref name="key"/>, or null.</summary>
    public async Task<ModelInfo?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        if (!IsValidKey(key))
        {
            return null;
        }

        try
        {
            var bytes = await blobs.ReadAllBytesAsync(BlobLayout.ModelKey(key), cancellationToken).ConfigureAwait(false);
            return JsonSerializer.Deserialize<ModelInfo>(bytes, SalientJson.Options);
        }
        catch (BlobNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Every registered model, by key.</summary>
    public async Task<IReadOnlyList<ModelInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        var models = new List<ModelInfo>();
        await foreach (var item in blobs.ListAsync(KeyPrefix, cancellationToken).ConfigureAwait(false))
        {
            if (await GetAsync(item.Name[KeyPrefix.Length..^".json".Length], cancellationToken).ConfigureAwait(false) is { } model)
            {
                models.Add(model);
            }
        }

        return [.. models.OrderBy(m => m.Key, StringComparer.Ordinal)];
    }

    private static bool IsValidKey(string key) =>
        key is { Length: > 0 and <= 64 } && key != "any" && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private async Task PutOnceAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        try
        {
            await blobs.PutAsync(name, content, "application/octet-stream", overwrite: false, cancellationToken).ConfigureAwait(false);
        }
        catch (BlobAlreadyExistsException)
        {
            // Named by its digest: the stored bytes are these bytes.
        }
    }
}
