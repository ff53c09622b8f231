using Salient.Storage;

namespace Salient.Cli.Tests;

/// <summary><c>salient upload</c>: a dataset folder into a blob store, as jobs then name it by prefix.</summary>
public sealed class UploadCommandTests : IDisposable
{
    private readonly string _store = Path.Combine(Path.GetTempPath(), "salient-upload-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task Every_file_of_the_folder_lands_under_the_prefix_with_its_relative_path()
    {
        var folder = Fixtures.Path("images");
        var files = Directory.GetFiles(folder, "*", SearchOption.AllDirectories);

        var (exit, output, error) = Cli.Run("upload", folder, "--to", "datasets/demo", "--blob", _store);

        Assert.True(exit == 0, error);
        Assert.Equal($"{files.Length} files uploaded under datasets/demo/", output.Trim());
        var store = BlobStore.Open(_store);
        foreach (var file in files)
        {
            var name = "datasets/demo/" + Path.GetRelativePath(folder, file).Replace(Path.DirectorySeparatorChar, '/');
            Assert.Equal(await File.ReadAllBytesAsync(file), await store.ReadAllBytesAsync(name));
        }
    }

    [Theory]
    [InlineData("--to '../up/': Blob name '../up/", "--to", "../up")]
    [InlineData("does not exist", "--to", "d/", "--missing-folder")]
    public void A_bad_prefix_or_folder_is_refused_naming_it(string reason, params string[] args)
    {
        var folder = args.Contains("--missing-folder") ? Path.Combine(_store, "nothing-here") : Fixtures.Path("images");
        var (exit, _, error) = Cli.Run(["upload", folder, .. args.Where(a => a != "--missing-folder"), "--blob", _store]);
        Assert.Equal(1, exit);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_store))
        {
            Directory.Delete(_store, recursive: true);
        }
    }
}
