using Salient.Engine;
using Salient.Engine.IO;
using Xunit.Abstractions;

namespace Salient.Imaging.Tests;

/// <summary>The RGB8 images behind overlays: the resized and cropped input, and a normalised tensor turned back into pixels.</summary>
public sealed class ModelImageTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases() => [.. ImagingFixtures.Cases.Select(c => c.Expected)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Cropped_image_is_the_torchvision_tensor_before_normalisation(string expectedFile)
    {
        var fixture = ImagingFixtures.Cases.Single(c => c.Expected == expectedFile);
        var card = ModelCard.Parse(System.Text.Encoding.UTF8.GetBytes(fixture.CardJson), expectedFile);
        using var image = RgbImage.Load(ImagingFixtures.PathOf(fixture.Image));
        using var expected = Npy.Read(ImagingFixtures.PathOf(expectedFile));

        using var cropped = new ImagePreprocessor(card).ResizeAndCrop(image);

        Assert.Equal((card.Width, card.Height), (cropped.Width, cropped.Height));
        var plane = card.Height * card.Width;
        var worst = 0.0;
        for (var i = 0; i < plane; i++)
        {
            for (var c = 0; c < 3; c++)
            {
                var source = card.Channels == 1 ? 0 : c;
                var level = Math.Round(255 * ((expected.Span[(source * plane) + i] * (double)card.Std[source]) + card.Mean[source]));
                worst = Math.Max(worst, Math.Abs(cropped.Pixels[(3 * i) + c] - level));
            }
        }

        output.WriteLine($"{expectedFile}: max difference {worst} levels");
        Assert.True(worst <= 1, $"{expectedFile}: {worst} levels from torchvision");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Denormalize_inverts_Process_exactly(string expectedFile)
    {
        var fixture = ImagingFixtures.Cases.Single(c => c.Expected == expectedFile);
        var preprocessor = new ImagePreprocessor(ModelCard.Parse(System.Text.Encoding.UTF8.GetBytes(fixture.CardJson), expectedFile));
        using var image = RgbImage.Load(ImagingFixtures.PathOf(fixture.Image));
        using var tensor = preprocessor.Process(image);

        using var cropped = preprocessor.ResizeAndCrop(image);
        using var denormalized = preprocessor.Denormalize(tensor);

        Assert.Equal(cropped.Pixels.ToArray(), denormalized.Pixels.ToArray());
    }

    [Fact]
    public void Denormalize_replicates_gray_clamps_and_takes_a_batch_of_one()
    {
        var card = new ModelCard { Channels = 1, Height = 1, Width = 4, Mean = [0.5f], Std = [0.25f] };
        using var input = Tensor.FromSpan([0f, 1f, 5f, float.NaN], 1, 1, 1, 4);

        using var image = new ImagePreprocessor(card).Denormalize(input);

        // 255 * (x * 0.25 + 0.5): 127.5 -> 128 (half to even), 191.25 -> 191, 446.25 -> 255, NaN -> 0.
        Assert.Equal([128, 128, 128, 191, 191, 191, 255, 255, 255, 0, 0, 0], image.Pixels.ToArray());
    }

    [Fact]
    public void Denormalize_rejects_a_tensor_of_another_size()
    {
        var preprocessor = new ImagePreprocessor(ModelCard.Default(3, 8, 8));
        using var wrong = Tensor.Zeros(1, 8, 8);
        using var batch = Tensor.Zeros(2, 3, 8, 8);

        var e = Assert.Throws<ArgumentException>(() => preprocessor.Denormalize(wrong));
        Assert.Contains("[3,8,8]", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => preprocessor.Denormalize(batch));
    }
}
