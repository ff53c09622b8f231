using System.Collections.Concurrent;
using System.Security.Cryptography;
using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Engine.Kernels;
using Salient.Imaging;
using Salient.Storage;

namespace Salient.Cluster.Internal;

/// <summary>
/// A loaded model with its input loader; <see cref="Gate"/> serialises its passes, since the engine's models are not
/// shared between threads. <paramref name="Stream"/> is the model's own backend on a device with streams (a GPU),
/// which the model computes on and which disposing the model frees; null where the model shares the device's backend.
/// </summary>
public sealed record LoadedModel(Model Model, InputLoader Loader, IStreamBackend? Stream = null) : IDisposable
{
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <inheritdoc/>
    public void Dispose()
    {
        Stream?.Dispose();
        Gate.Dispose();
    }
}

/// <summary>
/// Downloads models from the blob store into a folder named by digest, checks their SHA-256, and
/// keeps one loaded copy per digest and device. On a device with streams each loaded model (each model
/// grain's model) computes on a stream of its own, so that the models sharing a GPU do not wait in one
/// queue; disposing the cache (with the silo's services, after the grains stopped) frees them.
/// </summary>
public sealed class ModelCache(IBlobStore blobs, string folder) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<LoadedModel>>> _models = new(StringComparer.Ordinal);

    /// <summary>The model keys loaded so far.</summary>
    public ConcurrentDictionary<string, bool> LoadedKeys { get; } = new(StringComparer.Ordinal);

    /// <summary>The model loaded on <paramref name="device"/> (downloaded and checked once for every device).</summary>
    public async Task<LoadedModel> GetAsync(ModelRef model, Device device, CancellationToken cancellationToken)
    {
        var lazy = _models.GetOrAdd($"{model.Sha256}|{device}", _ => new Lazy<Task<LoadedModel>>(() => LoadAsync(model, device, CancellationToken.None)));
        try
        {
            var loaded = await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            LoadedKeys[model.Key] = true;
            return loaded;
        }
        catch (Exception) when (lazy.Value.IsFaulted)
        {
            // A failed load is not cached: the next shard tries again (the blob may have been fixed).
            _models.TryRemove(KeyValuePair.Create($"{model.Sha256}|{device}", lazy));
            throw;
        }
    }

    private async Task<LoadedModel> LoadAsync(ModelRef model, Device device, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, model.Sha256 + ".onnx");
        if (!File.Exists(path) || !await HasDigestAsync(path, model.Sha256, cancellationToken).ConfigureAwait(false))
        {
            var bytes = await blobs.ReadAllBytesAsync(model.Uri, cancellationToken).ConfigureAwait(false);
            var digest = Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (!string.Equals(digest, model.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidDataException($"Model '{model.Key}' at '{model.Uri}' has SHA-256 {digest}, not {model.Sha256}.");
            }

            // The card first: a model file in the folder always has its card beside it.
            try
            {
                var card = await blobs.ReadAllBytesAsync(BlobLayout.ModelCard(model.Sha256), cancellationToken).ConfigureAwait(false);
                await WriteAtomicallyAsync(Path.ChangeExtension(path, ".json"), card, cancellationToken).ConfigureAwait(false);
            }
            catch (BlobNotFoundException)
            {
                // No card: the model's input shape gives the default preprocessing.
            }

            await WriteAtomicallyAsync(path, bytes, cancellationToken).ConfigureAwait(false);
        }

        var shared = KernelBackends.For(device);
        var stream = (shared as IMultiStreamBackend)?.OpenStream();
        try
        {
            var (loaded, loader) = InputLoader.Open(path, stream ?? shared);
            return new LoadedModel(loaded, loader, stream);
        }
        catch
        {
            stream?.Dispose();
            throw;
        }
    }

    /// <summary>Frees the loaded models' streams; the cache must not be used afterwards.</summary>
    public void Dispose()
    {
        foreach (var lazy in _models.Values)
        {
            if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
            {
                lazy.Value.Result.Dispose();
            }
        }

        _models.Clear();
    }

    private static async Task<bool> HasDigestAsync(string path, string sha256, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        var digest = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken).ConfigureAwait(false));
        return string.Equals(digest, sha256, StringComparison.OrdinalIgnoreCase);
    }

    // Several worker processes may share the cache folder: each writes its own file, then renames.
    private static async Task WriteAtomicallyAsync(string path, byte[] bytes, CancellationToken cancellationToken)
    {
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        await File.WriteAllBytesAsync(temporary, bytes, cancellationToken).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);
    }
}
