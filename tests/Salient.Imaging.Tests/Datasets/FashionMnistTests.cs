using Salient.Imaging.Datasets;

namespace Salient.Imaging.Tests.Datasets;

/// <summary>The IDX reader on files the tests write, and on Debian's files when they are installed.</summary>
public sealed class FashionMnistTests : IDisposable
{
    private const int Images = 0x803;
    private const int Labels = 0x801;
    private static readonly int[] Square = [28, 28];

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("salient-idx-");

    public void Dispose() => _work.Delete(true);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Reads_gzip_and_plain_files_of_a_split(bool gzip)
    {
        var (pixels, labels) = SyntheticItems.Make(perClass: 2);
        var suffix = gzip ? ".gz" : "";
        SyntheticItems.WriteIdx(Path("t10k-images-idx3-ubyte" + suffix), Images, labels.Length, Square, pixels, gzip);
        SyntheticItems.WriteIdx(Path("t10k-labels-idx1-ubyte" + suffix), Labels, labels.Length, [], labels, gzip);

        var set = FashionMnist.Load("test", _work.FullName);

        Assert.Equal(20, set.Count);
        for (var i = 0; i < set.Count; i++)
        {
            Assert.Equal(labels[i], set.Label(i));
            Assert.Equal(pixels.AsSpan(i * 784, 784), set.Image(i));
        }
    }

    [Fact]
    public void A_bad_magic_number_is_reported_with_the_file()
    {
        var (images, labels) = WriteTrain(imageMagic: 0x801);

        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.Read(images, labels));

        Assert.Contains(images, e.Message, StringComparison.Ordinal);
        Assert.Contains("magic", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_truncated_file_is_reported_with_the_file(bool gzip)
    {
        var (pixels, labels) = SyntheticItems.Make(perClass: 1);
        var images = Path("images");
        SyntheticItems.WriteIdx(images, Images, labels.Length, Square, pixels.AsSpan(0, pixels.Length - 100), gzip);
        SyntheticItems.WriteIdx(Path("labels"), Labels, labels.Length, [], labels, gzip);

        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.Read(images, Path("labels")));

        Assert.Contains(images, e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Image_and_label_counts_must_match()
    {
        var (pixels, labels) = SyntheticItems.Make(perClass: 1);
        SyntheticItems.WriteIdx(Path("images"), Images, labels.Length, Square, pixels, gzip: false);
        SyntheticItems.WriteIdx(Path("labels"), Labels, labels.Length - 1, [], labels.AsSpan(1), gzip: false);

        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.Read(Path("images"), Path("labels")));

        Assert.Contains("10 images", e.Message, StringComparison.Ordinal);
        Assert.Contains("9 labels", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_sizes_trailing_data_and_bad_labels_are_rejected()
    {
        var (pixels, labels) = SyntheticItems.Make(perClass: 1);
        SyntheticItems.WriteIdx(Path("images"), Images, labels.Length, Square, pixels, gzip: false);
        SyntheticItems.WriteIdx(Path("small"), Images, labels.Length, [27, 28], pixels, gzip: false);
        SyntheticItems.WriteIdx(Path("long"), Images, labels.Length - 1, Square, pixels, gzip: false);
        SyntheticItems.WriteIdx(Path("labels"), Labels, labels.Length, [], labels, gzip: false);
        labels[3] = 10;
        SyntheticItems.WriteIdx(Path("bad-labels"), Labels, labels.Length, [], labels, gzip: false);

        Assert.Contains("dimension 1 is 27", Assert.Throws<InvalidDataException>(() => FashionMnist.Read(Path("small"), Path("labels"))).Message, StringComparison.Ordinal);
        Assert.Contains("continues past", Assert.Throws<InvalidDataException>(() => FashionMnist.Read(Path("long"), Path("labels"))).Message, StringComparison.Ordinal);
        Assert.Contains("label 10", Assert.Throws<InvalidDataException>(() => FashionMnist.Read(Path("images"), Path("bad-labels"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_folder_says_which_package_to_install()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => FashionMnist.Load("train", Path("absent")));

        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => FashionMnist.Load("train", _work.FullName));
        Assert.Throws<ArgumentException>(() => FashionMnist.Load("validation", _work.FullName));
    }

    [SkippableFact]
    public void Debians_test_split_has_1000_items_of_each_class_when_installed()
    {
        // The package is optional (CI does not install it); the synthetic tests cover the reader.
        Skip.IfNot(Directory.Exists(FashionMnist.DefaultDirectory), $"{FashionMnist.DefaultDirectory} is not installed (apt-get install dataset-fashion-mnist)");

        var set = FashionMnist.Load("test");

        Assert.Equal(10_000, set.Count);
        var perClass = new int[10];
        for (var i = 0; i < set.Count; i++)
        {
            perClass[set.Label(i)]++;
        }

        Assert.All(perClass, n => Assert.Equal(1000, n));
        Assert.Equal(9, set.Label(0));
        Assert.Equal("Ankle boot", FashionMnist.ClassNames[set.Label(0)]);
    }

    private (string Images, string Labels) WriteTrain(int imageMagic)
    {
        var (pixels, labels) = SyntheticItems.Make(perClass: 1);
        SyntheticItems.WriteIdx(Path("images"), imageMagic, labels.Length, Square, pixels, gzip: true);
        SyntheticItems.WriteIdx(Path("labels"), Labels, labels.Length, [], labels, gzip: true);
        return (Path("images"), Path("labels"));
    }

    private string Path(string name) => System.IO.Path.Combine(_work.FullName, name);
}
