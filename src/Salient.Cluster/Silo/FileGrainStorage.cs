using System.Security.Cryptography;
using System.Text;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace Salient.Cluster.Silo;

/// <summary>
/// Grain state in files of one folder, for the embedded single-process cluster: one file per grain and state,
/// replaced atomically, its write count as the ETag (one process writes it, so a mismatch is a bug).
/// </summary>
public sealed class FileGrainStorage(string folder, Serializer serializer) : IGrainStorage
{
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        if (!File.Exists(path))
        {
            grainState.RecordExists = false;
            return;
        }

        var bytes = await File.ReadAllBytesAsync(path).ConfigureAwait(false);
        var stored = serializer.Deserialize<StoredState<T>>(bytes)!;
        grainState.State = stored.State;
        grainState.ETag = stored.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var version = grainState.ETag is { } etag ? long.Parse(etag, System.Globalization.CultureInfo.InvariantCulture) + 1 : 1;
        var path = PathOf(stateName, grainId);
        Directory.CreateDirectory(folder);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        await File.WriteAllBytesAsync(temporary, serializer.SerializeToArray(new StoredState<T>(grainState.State!, version))).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);
        grainState.ETag = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        File.Delete(PathOf(stateName, grainId));
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    private string PathOf(string stateName, GrainId grainId) =>
        Path.Combine(folder, $"{stateName}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(grainId.ToString())))[..32]}.bin");
}

/// <summary>A state with its write count.</summary>
[GenerateSerializer]
internal sealed record StoredState<T>([property: Id(0)] T State, [property: Id(1)] long Version);
