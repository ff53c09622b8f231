using Salient.Imaging.Datasets;

namespace Salient.Imaging.Tests.Datasets;

public sealed class ImageFolderSetTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("salient-folder-");

    public void Dispose() => _work.Delete(true);

    [Fact]
    public void A_manifest_gives_multi_label_images_resized_to_the_requested_size()
    {
        Write("a.png", 10, 6, 200);
        Write("b.png", 4, 4, 50);
        var manifest = Path.Combine(_work.FullName, "manifest.jsonl");
        File.WriteAllLines(manifest, ["{\"image\": \"a.png\", \"labels\": [0, 2]}", "", "{\"image\": \"b.png\", \"labels\": []}"]);

        var set = ImageFolderSet.Open(manifest, 3, 8, 8, ["x", "y", "z"]);

        Assert.True(set.MultiLabel);
        Assert.Equal(2, set.Count);
        Assert.Equal([0, 2], set.Labels(0));
        var pixels = new float[3 * 8 * 8];
        Assert.Empty(set.Read(1, pixels));
        Assert.All(pixels, p => Assert.Equal(50 / 255f, p, 5));
    }

    [Fact]
    public void A_malformed_manifest_line_is_named()
    {
        var manifest = Path.Combine(_work.FullName, "manifest.jsonl");
        File.WriteAllLines(manifest, ["{\"image\": \"a.png\", \"labels\": [0]}", "{\"image\": \"b.png\"}"]);
        var error = Assert.Throws<InvalidDataException>(() => ImageFolderSet.Open(manifest, 3, 8, 8));
        Assert.Contains("line 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_without_readable_images_or_class_folders_is_refused()
    {
        Directory.CreateDirectory(Path.Combine(_work.FullName, "only"));
        Assert.Contains("subfolder per class", Assert.Throws<InvalidDataException>(() => ImageFolderSet.Open(_work.FullName, 1, 8, 8)).Message, StringComparison.Ordinal);

        Directory.CreateDirectory(Path.Combine(_work.FullName, "other"));
        File.WriteAllText(Path.Combine(_work.FullName, "other", "bad.jpg"), "no");
        var error = Assert.Throws<InvalidDataException>(() => ImageFolderSet.Open(_work.FullName, 1, 8, 8));
        Assert.Contains("no readable image", error.Message, StringComparison.Ordinal);
        Assert.Contains("bad.jpg", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_split_is_disjoint_seeded_and_covers_every_image()
    {
        Directory.CreateDirectory(Path.Combine(_work.FullName, "p"));
        Directory.CreateDirectory(Path.Combine(_work.FullName, "q"));
        for (var i = 0; i < 10; i++)
        {
            Write(Path.Combine(i % 2 == 0 ? "p" : "q", $"{i}.png"), 4, 4, (byte)(i * 20));
        }

        var set = ImageFolderSet.Open(_work.FullName, 1, 4, 4);
        var (train, validation) = ImageSubset.Split(set, 0.3, seed: 5);
        Assert.Equal((7, 3), (train.Count, validation.Count));
        var pixels = new float[16];
        var seen = Enumerable.Range(0, 7).Select(i => { train.Read(i, pixels); return pixels[0]; })
            .Concat(Enumerable.Range(0, 3).Select(i => { validation.Read(i, pixels); return pixels[0]; }));
        Assert.Equal(10, seen.Distinct().Count());
    }

    private void Write(string name, int width, int height, byte value)
    {
        var pixels = Enumerable.Repeat(value, width * height * 3).ToArray();
        PngEncoder.Write(Path.Combine(_work.FullName, name), pixels, width, height, PngColorType.Rgb);
    }
}
