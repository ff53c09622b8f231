using Salient.Engine;
using Salient.Engine.Kernels;
using Salient.Engine.Onnx;
using Salient.Engine.Training;
using Salient.Training;

namespace Salient.Training.Tests;

public sealed class CachedFeaturesTests
{
    [Fact]
    public void Saved_features_load_back_identical_and_only_for_a_set_of_their_size()
    {
        var images = new SyntheticImages(10, multiLabel: true);
        var proto = Architectures.Create("small-cnn", 1, SyntheticImages.Side, SyntheticImages.Side, 4, seed: 5);
        var trunk = Model.FromProto(OnnxGraphCuts.Before(proto, "layer1"), "trunk", KernelBackends.Default);
        var features = CachedFeatures.Compute(images, trunk, [0.3f], [0.25f], batchSize: 4);
        var path = Path.Combine(Path.GetTempPath(), $"salient-features-{Guid.NewGuid():N}.features");
        try
        {
            features.Save(path);
            var loaded = CachedFeatures.Load(path, images);

            Assert.Equal((features.Count, features.Channels, features.Height, features.Width), (loaded.Count, loaded.Channels, loaded.Height, loaded.Width));
            var size = features.Channels * features.Height * features.Width;
            var (expected, actual) = (new float[size], new float[size]);
            for (var i = 0; i < images.Count; i++)
            {
                Assert.Equal(features.Read(i, expected), loaded.Read(i, actual));
                Assert.Equal(expected, actual);
            }

            Assert.Throws<InvalidDataException>(() => CachedFeatures.Load(path, new SyntheticImages(9, multiLabel: true)));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
