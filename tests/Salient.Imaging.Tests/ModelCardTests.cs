using System.Text;

namespace Salient.Imaging.Tests;

public sealed class ModelCardTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("salient-card-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Resnet = """
        {
          "name": "resnet50",
          "input": {"channels": 3, "height": 224, "width": 224},
          "resize": 256,
          "crop": 224,
          "mean": [0.485, 0.456, 0.406],
          "std": [0.229, 0.224, 0.225],
          "labels": ["tench", "goldfish"],
          "interpolation": "bilinear"
        }
        """;

    private string Write(string name, string json)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void Loads_every_field()
    {
        var card = ModelCard.Load(Write("resnet50.json", Resnet));

        Assert.Equal((3, 224, 224), (card.Channels, card.Height, card.Width));
        Assert.Equal(256, card.Resize);
        Assert.Equal([0.485f, 0.456f, 0.406f], card.Mean);
        Assert.Equal([0.229f, 0.224f, 0.225f], card.Std);
        Assert.Equal(["tench", "goldfish"], card.Labels);
        Assert.Equal(ResizeInterpolation.Bilinear, card.Interpolation);
    }

    [Fact]
    public void Card_is_found_next_to_the_onnx_file()
    {
        Write("net.json", Resnet);

        Assert.Equal(256, ModelCard.TryLoadForModel(Path.Combine(_dir, "net.onnx"))!.Resize);
        Assert.Null(ModelCard.TryLoadForModel(Path.Combine(_dir, "other.onnx")));
    }

    [Fact]
    public void Optional_fields_have_defaults()
    {
        var card = ModelCard.Parse("""{"input": {"channels": 1, "height": 28, "width": 28}, "mean": [0.1307], "std": [0.3081]}"""u8, "mnist.json");

        Assert.Null(card.Resize);
        Assert.Empty(card.Labels);
        Assert.Equal(ResizeInterpolation.Bilinear, card.Interpolation);
    }

    [Theory]
    [InlineData(3, 224, 224, 256)]
    [InlineData(3, 299, 299, 342)]
    [InlineData(1, 112, 160, 128)]
    public void Default_card_resizes_by_224_over_256_and_uses_imagenet_statistics(int channels, int height, int width, int resize)
    {
        var card = ModelCard.Default(channels, height, width);

        Assert.Equal(resize, card.Resize);
        Assert.Equal(channels, card.Mean.Count);
        Assert.Equal(channels == 3 ? 0.485f : 0.449f, card.Mean[0]);
        Assert.Equal(channels == 3 ? 0.229f : 0.226f, card.Std[0]);
    }

    [Theory]
    [InlineData("""{"input": {"channels": 3, "height": 224, "width": 224}, "mean": [0.5, 0.5], "std": [1, 1, 1]}""", "'mean' and 'std' need 3 value(s)")]
    [InlineData("""{"input": {"channels": 3, "height": 224, "width": 224}, "mean": [0,0,0], "std": [1,1,1], "interpolation": "bicubic"}""", "only \"bilinear\"")]
    [InlineData("""{"input": {"channels": 3, "height": 224, "width": 224}, "mean": [0,0,0], "std": [1,1,1], "resise": 256}""", "unknown field 'resise'")]
    [InlineData("""{"input": {"channels": 3, "height": 224, "width": 224}, "mean": [0,0,0], "std": [1,0,1]}""", "'std' values must be positive")]
    [InlineData("""{"input": {"channels": 3, "height": 224, "width": 224}, "mean": [0,0,0], "std": [1,1,1], "crop": 200}""", "'crop' 200 does not match")]
    [InlineData("""{"input": {"channels": 4, "height": 224, "width": 224}, "mean": [0,0,0,0], "std": [1,1,1,1]}""", "input.channels is 4")]
    [InlineData("""{"input": {"channels": 3, "height": "224", "width": 224}, "mean": [0,0,0], "std": [1,1,1]}""", "'input.height' must be an integer")]
    [InlineData("""{"mean": [0,0,0], "std": [1,1,1]}""", "missing 'input'")]
    [InlineData("""{"input": {"channels": 3, "height": 224, "width": 224}, "mean": [0,0,"x"], "std": [1,1,1]}""", "non-number")]
    [InlineData("""{"input": {"channels": 3, """, "invalid JSON")]
    [InlineData("""[1, 2]""", "must be a JSON object")]
    public void Bad_card_is_reported_with_the_file_and_the_problem(string json, string problem)
    {
        var path = Write("bad.json", json);

        var e = Assert.Throws<InvalidDataException>(() => ModelCard.Load(path));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_accepts_utf8_from_memory()
    {
        Assert.Equal(224, ModelCard.Parse(Encoding.UTF8.GetBytes(Resnet), "mem").Width);
    }
}
