using System.Buffers.Binary;
using System.Text.Json;

namespace Salient.Cli.Tests;

/// <summary><c>salient scenes</c> end to end, in process, on IDX files the test writes.</summary>
public sealed class ScenesCommandTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("salient-scenes-");

    public ScenesCommandTests()
    {
        // Two 28×28 items per class: a bright square of a class-dependent size.
        var labels = Enumerable.Range(0, 20).Select(i => (byte)(i % 10)).ToArray();
        var pixels = new byte[labels.Length * 784];
        for (var i = 0; i < labels.Length; i++)
        {
            var half = 4 + labels[i];
            for (var y = 14 - half; y < 14 + half; y++)
            {
                pixels.AsSpan((i * 784) + (y * 28) + 14 - half, 2 * half).Fill(200);
            }
        }

        Directory.CreateDirectory(Dataset);
        WriteIdx(Path.Combine(Dataset, "train-images-idx3-ubyte"), 0x803, [labels.Length, 28, 28], pixels);
        WriteIdx(Path.Combine(Dataset, "train-labels-idx1-ubyte"), 0x801, [labels.Length], labels);
    }

    private string Dataset => Path.Combine(_work.FullName, "fashion-mnist");

    public void Dispose() => _work.Delete(true);

    [Fact]
    public void Writes_images_masks_and_a_manifest_identically_for_a_seed()
    {
        var first = Path.Combine(_work.FullName, "a");
        var second = Path.Combine(_work.FullName, "b");

        Assert.Equal(0, Scenes("--count", "5", "--seed", "4", "--size", "64", "--out", first));
        Assert.Equal(0, Scenes("--count", "5", "--seed", "4", "--size", "64", "--out", second));

        var lines = File.ReadAllLines(Path.Combine(first, "manifest.jsonl"));
        Assert.Equal(5, lines.Length);
        Assert.Equal(lines, File.ReadAllLines(Path.Combine(second, "manifest.jsonl")));
        foreach (var line in lines.Select(l => JsonDocument.Parse(l).RootElement))
        {
            var image = line.GetProperty("image").GetString()!;
            Assert.Equal(File.ReadAllBytes(Path.Combine(first, image)), File.ReadAllBytes(Path.Combine(second, image)));
            var objects = line.GetProperty("objects").EnumerateArray().ToList();
            Assert.InRange(objects.Count, 1, 3);
            Assert.All(objects, o => Assert.True(File.Exists(Path.Combine(first, o.GetProperty("mask").GetString()!))));
            Assert.Equal(objects.Select(o => o.GetProperty("class").GetInt32()).Order(), line.GetProperty("labels").EnumerateArray().Select(e => e.GetInt32()));
        }
    }

    [Fact]
    public void A_missing_dataset_exits_1_saying_what_to_install()
    {
        var (exit, _, error) = Cli.Run("scenes", "--count", "1", "--out", _work.FullName, "--dataset-dir", Path.Combine(_work.FullName, "absent"));
        Assert.Equal(1, exit);
        Assert.Contains("apt-get install dataset-fashion-mnist", error, StringComparison.Ordinal);
        (exit, _, error) = Cli.Capture(() => Scenes("--count", "1", "--out", _work.FullName, "--split", "test"));
        Assert.Equal(1, exit);
        Assert.Contains("t10k-images-idx3-ubyte", error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_output_that_cannot_be_a_folder_exits_1()
    {
        var file = Path.Combine(_work.FullName, "file");
        File.WriteAllText(file, "");
        var (exit, _, error) = Cli.Capture(() => Scenes("--count", "1", "--out", file));
        Assert.Equal(1, exit);
        Assert.Contains(file, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_command_exits_1()
    {
        Assert.Equal(1, Scenes("--count", "0", "--out", _work.FullName));
        Assert.Equal(1, Scenes("--count", "2", "--split", "validation", "--out", _work.FullName));
        Assert.Equal(1, Scenes("--count", "2", "--size", "16", "--out", _work.FullName));
        Assert.Equal(1, Scenes("--count", "2", "--max-objects", "0", "--out", _work.FullName));
        Assert.Equal(1, Scenes("--count", "2"));
    }

    /// <summary>Runs <c>salient scenes</c> on the test's dataset.</summary>
    private int Scenes(params string[] arguments) =>
        Program.Main(["scenes", "--dataset-dir", Dataset, .. arguments]);

    private static void WriteIdx(string path, int magic, int[] dims, byte[] data)
    {
        using var file = File.Create(path);
        Span<byte> word = stackalloc byte[4];
        foreach (var value in (int[])[magic, .. dims])
        {
            BinaryPrimitives.WriteInt32BigEndian(word, value);
            file.Write(word);
        }

        file.Write(data);
    }
}
