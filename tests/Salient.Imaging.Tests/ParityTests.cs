using Salient.Engine;
using Salient.Engine.IO;
using Xunit.Abstractions;

namespace Salient.Imaging.Tests;

/// <summary>Decoding and preprocessing against what Pillow 9.4 and torchvision 0.14 produce.</summary>
public sealed class ParityTests(ITestOutputHelper output)
{
    public static TheoryData<string> Images() => [.. ImagingFixtures.Cases.Select(c => c.Image).Distinct()];

    public static TheoryData<string> Cases() => [.. ImagingFixtures.Cases.Select(c => c.Expected)];

    [Theory]
    [MemberData(nameof(Images))]
    public void Decoded_pixels_equal_pillows_convert_rgb(string image)
    {
        var fixture = ImagingFixtures.Cases.First(c => c.Image == image);
        using var decoded = RgbImage.Load(ImagingFixtures.PathOf(image));
        using var expected = Npy.Read(ImagingFixtures.PathOf(fixture.Decoded));

        Assert.Equal([decoded.Height, decoded.Width, 3], expected.ShapeArray());
        var pixels = decoded.Pixels;
        var reference = expected.Span;
        var differing = 0;
        var worst = 0f;
        for (var i = 0; i < pixels.Length; i++)
        {
            var d = Math.Abs(pixels[i] - reference[i]);
            differing += d > 0 ? 1 : 0;
            worst = Math.Max(worst, d);
        }

        output.WriteLine($"{image}: {differing} of {pixels.Length} samples differ, max {worst} levels");
        Assert.Equal(0, differing);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Preprocessed_tensor_matches_torchvision(string expectedFile)
    {
        var fixture = ImagingFixtures.Cases.Single(c => c.Expected == expectedFile);
        var card = ModelCard.Parse(System.Text.Encoding.UTF8.GetBytes(fixture.CardJson), expectedFile);
        using var image = RgbImage.Load(ImagingFixtures.PathOf(fixture.Image));
        using var expected = Npy.Read(ImagingFixtures.PathOf(expectedFile));
        using var actual = new ImagePreprocessor(card).Process(image);

        Assert.Equal(expected.ShapeArray(), actual.ShapeArray());
        var plane = card.Height * card.Width;
        var worst = 0f;
        for (var i = 0; i < actual.Length; i++)
        {
            var c = i / plane;
            var error = Math.Abs(actual.Span[i] - expected.Span[i]);
            worst = Math.Max(worst, error * card.Std[c]);
            Assert.True(error <= 1e-5f / card.Std[c],
                $"{expectedFile}[{c},{i % plane / card.Width},{i % card.Width}]: {actual.Span[i]} vs torchvision {expected.Span[i]} (about {error * card.Std[c] * 255:0.##} uint8 levels)");
        }

        output.WriteLine($"{expectedFile}: max |error| x std = {worst:E2}");
    }

    [Fact]
    public void Batch_slot_holds_the_same_values_as_a_single_tensor()
    {
        var preprocessor = new ImagePreprocessor(ModelCard.Default(3, 56, 56));
        using var image = RgbImage.Load(ImagingFixtures.PathOf("rgb.jpg"));
        using var single = preprocessor.Process(image);
        using var batch = Tensor.Zeros(3, 3, 56, 56);

        preprocessor.ProcessInto(image, batch, 1);

        Assert.Equal(single.Span.ToArray(), batch.Span.Slice(single.Length, single.Length).ToArray());
        Assert.All(batch.Span[..single.Length].ToArray(), v => Assert.Equal(0f, v));
        Assert.All(batch.Span[(2 * single.Length)..].ToArray(), v => Assert.Equal(0f, v));
        Assert.Throws<ArgumentException>(() => preprocessor.ProcessInto(image, single, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => preprocessor.ProcessInto(image, batch, 3));
    }
}
