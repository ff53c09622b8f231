using Salient.Storage;

namespace Salient.Storage.Tests.Conformance;

/// <summary>The conformance suite on a <see cref="LocalFolderBlobStore"/> in a fresh temporary folder.</summary>
public sealed class LocalFolderConformanceTests : BlobStoreConformanceTests, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "salient-conformance-" + Guid.NewGuid().ToString("N"));
    private readonly LocalFolderBlobStore _store;

    public LocalFolderConformanceTests() => _store = new LocalFolderBlobStore(_root);

    protected override IBlobStore Store => _store;

    public void Dispose()
    {
        foreach (var folder in new[] { _root, _root + ".gone" }.Where(Directory.Exists))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Flips one byte of the blob's file in place, as a bad disk or a stray write would.</summary>
    protected override async Task CorruptAsync(string name)
    {
        await using var file = new FileStream(Path.Combine([_root, .. name.Split('/')]), FileMode.Open, FileAccess.ReadWrite);
        file.Position = file.Length / 2;
        var original = file.ReadByte();
        file.Position--;
        file.WriteByte((byte)(original ^ 0x5A));
    }

    /// <summary>Moves the whole folder away, as an unmounted volume.</summary>
    protected override void TakeAway() => Directory.Move(_root, _root + ".gone");

    protected override Task BringBackAsync()
    {
        Directory.Move(_root + ".gone", _root);
        return Task.CompletedTask;
    }
}
