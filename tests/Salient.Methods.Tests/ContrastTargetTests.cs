using Salient.Engine;
using Salient.Engine.IO;
using Salient.Methods.Pipeline;

namespace Salient.Methods.Tests;

/// <summary>
/// Contrast targets (<c>contrast:A,B[,C...]</c>): the score explained is y_A − mean(y_B, y_C, ...), seeded
/// on the logits of every method that backpropagates a score; backward passes are linear in their seed, so
/// plain gradients and Grad-CAM of the contrast are the differences of the classes' own.
/// </summary>
public sealed class ContrastTargetTests
{
    private static readonly Lazy<Model> ResNet = new(() => Model.Load(Fixtures.Path("models", "resnet_basic.onnx")));

    [Theory]
    [InlineData("gradient")]
    [InlineData("gradcam")]
    public void A_contrast_is_the_difference_of_the_classes_own_explanations(string method)
    {
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var explainer = Explainer.Create(ResNet.Value, new ExplainOptions { Method = method });
        var contrast = explainer.Explain(pair, TargetSelection.Parse("contrast:3,5,7"));
        var plain = explainer.Explain(pair, TargetSelection.Classes(3, 5, 7));
        try
        {
            Assert.Equal([3, 3], contrast.Select(e => e.Class));
            for (var image = 0; image < 2; image++)
            {
                var raws = plain.Where(e => e.Image == image).Select(e => e.Raw.Span.ToArray()).ToArray();
                var expected = raws[0].Select((v, i) => v - ((raws[1][i] + raws[2][i]) / 2)).ToArray();
                var error = ParityTests.RelativeL2(expected, contrast[image].Raw.Span);
                Assert.True(error < 1e-4, $"image {image}: relative L2 {error} from the difference of the classes' raw maps");
                Assert.Equal(plain.First(e => e.Image == image).Logit, contrast[image].Logit);
            }
        }
        finally
        {
            foreach (var e in contrast.Concat(plain))
            {
                e.Dispose();
            }
        }
    }

    [Fact]
    public void Contrasts_parse_in_the_shared_syntax_and_reject_bad_text()
    {
        Assert.Equal([2], TargetSelection.Parse("contrast:2,9").ClassesFor(0, new float[10]));
        Assert.Throws<FormatException>(() => TargetSelection.Parse("contrast:2"));
        Assert.Throws<FormatException>(() => TargetSelection.Parse("contrast:2,2"));
        Assert.Throws<FormatException>(() => TargetSelection.Parse("contrast:2,x"));
        Assert.Throws<ArgumentException>(() => TargetSelection.Parse("contrast:2,10").ClassesFor(0, new float[10]));

        // A job submission reads the same syntax.
        var options = PipelineOptions.Parse(new PipelineText(["gradcam"], "contrast:2,9"), f => f, []);
        Assert.Equal([2], options.FixedTargets!.ClassesFor(0, new float[10]));
    }

    [Theory]
    [InlineData("scorecam")]
    [InlineData("occlusion")]
    [InlineData("dff")]
    public void A_method_that_does_not_backpropagate_refuses_a_contrast(string method)
    {
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var explainer = Explainer.Create(ResNet.Value, new ExplainOptions { Method = method });
        var error = Assert.Throws<ArgumentException>(() => explainer.Explain(pair, TargetSelection.Contrast(1, 2)));
        Assert.Contains(method, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Finercam_chooses_its_own_contrast()
    {
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var explainer = Explainer.Create(ResNet.Value, new ExplainOptions { Method = "finercam" });
        var error = Assert.Throws<ArgumentException>(() => explainer.Explain(pair, TargetSelection.Contrast(1, 2)));
        Assert.Contains("contrast:A,B", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Gradcam_against_the_nearest_classes_is_finercam()
    {
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var finer = Explainer.Create(ResNet.Value, new ExplainOptions { Method = "finercam" }).Explain(pair, TargetSelection.Top(2));
        var gradcam = Explainer.Create(ResNet.Value, new ExplainOptions { Method = "gradcam" }).Explain(pair, TargetSelection.AgainstNearest(TargetSelection.Top(2), 1, 3));
        try
        {
            Assert.Equal(finer.Select(e => e.Class), gradcam.Select(e => e.Class));
            for (var i = 0; i < finer.Count; i++)
            {
                Assert.Equal(finer[i].Raw.Span.ToArray(), gradcam[i].Raw.Span.ToArray());
            }
        }
        finally
        {
            foreach (var e in finer.Concat(gradcam))
            {
                e.Dispose();
            }
        }
    }
}
