using Google.Protobuf;
using Salient.Engine.Training;
using Salient.Training.Csg;
using Salient.Training;

namespace Salient.Training.Tests;

public sealed class ClassifierTrainerTests
{
    private static readonly float[] Mean = [0.3f];
    private static readonly float[] Std = [0.25f];

    private static ClassifierTrainer Create(bool multiLabel, TrainingOptions options, string arch = "small-cnn") =>
        new(TrainableModel.FromProto(Architectures.Create(arch, 1, SyntheticImages.Side, SyntheticImages.Side, 4, seed: 5), "toy.onnx"),
            new SyntheticImages(256, multiLabel), new SyntheticImages(64, multiLabel, seed: 1), options, Mean, Std);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_small_cnn_learns_a_separable_toy_set(bool multiLabel)
    {
        var trainer = Create(multiLabel, new TrainingOptions { Epochs = 4, BatchSize = 32, LearningRate = 1e-2f, Flip = false });
        EpochReport last = null!;
        for (var e = 0; e < 4; e++)
        {
            last = trainer.RunEpoch();
        }

        Assert.True(last.Validation!.Accuracy >= 0.9, $"validation accuracy {last.Validation.Accuracy}");
        Assert.Equal(multiLabel, last.Validation.MeanAveragePrecision is not null);
        if (multiLabel)
        {
            // Every class has positives, so the mAP is the plain mean of the four per-class APs.
            var precisions = last.Validation.ClassAveragePrecisions!;
            Assert.Equal(4, precisions.Count);
            Assert.All(precisions, ap => Assert.InRange(ap!.Value, 0, 1));
            Assert.Equal(last.Validation.MeanAveragePrecision!.Value, precisions.Average(ap => ap!.Value), 12);
        }
        else
        {
            Assert.Null(last.Validation.ClassAveragePrecisions);
        }
    }

    [Fact]
    public void Short_epochs_walk_whole_passes_of_the_set_and_depend_only_on_seed_and_epoch()
    {
        const int count = 10, size = 4;
        int[] Order(int epoch, int seed = 3) => ClassifierTrainer.EpochOrder(count, epoch, seed, size, new Random(epoch));
        var stream = Enumerable.Range(0, 10).SelectMany(e => Order(e)).ToArray();

        // 40 positions: four whole passes, each a permutation of the set.
        for (var pass = 0; pass < 4; pass++)
        {
            Assert.Equal(Enumerable.Range(0, count), stream.Skip(pass * count).Take(count).Order());
        }

        Assert.NotEqual(stream.Take(count), stream.Skip(count).Take(count));
        Assert.Equal(Order(7), ClassifierTrainer.EpochOrder(count, 7, 3, size, new Random(12345)));
        Assert.NotEqual(Order(7), Order(7, seed: 4));

        // A trainer's short epoch runs just its slice: 96 of the 256 images in batches of 32.
        var trainer = Create(multiLabel: false, new TrainingOptions { Epochs = 2, BatchSize = 32, EpochImages = 96, Flip = false });
        var batches = new List<BatchProgress>();
        trainer.RunEpoch(batches.Add);
        Assert.Equal([1, 2, 3], batches.Select(b => b.Batch));
        Assert.All(batches, b => Assert.Equal(3, b.Batches));

        // Without a size an epoch is the whole set, shuffled by the epoch's own random.
        Assert.Equal(Enumerable.Range(0, count), ClassifierTrainer.EpochOrder(count, 0, 3, null, new Random(1)).Order());
    }

    [Fact]
    public void The_same_seed_gives_bit_identical_models()
    {
        var options = new TrainingOptions { Epochs = 1, BatchSize = 32, Seed = 3 };
        var a = Create(false, options);
        var b = Create(false, options);
        a.RunEpoch();
        b.RunEpoch();
        Assert.Equal(a.Model.Export().ToByteArray(), b.Model.Export().ToByteArray());
    }

    [Fact]
    public void Resuming_from_a_checkpoint_continues_exactly_where_an_uninterrupted_run_goes()
    {
        var options = new TrainingOptions { Epochs = 2, BatchSize = 32, Seed = 1, Csg = new CsgOptions { WarmupEpochs = 1, Period = 1, PhaseStart = 0 } };
        var straight = Create(false, options, "resnet-mini");
        straight.RunEpoch();
        straight.RunEpoch();

        var first = Create(false, options, "resnet-mini");
        first.RunEpoch();
        var path = Path.Combine(Path.GetTempPath(), $"salient-resume-{Guid.NewGuid():N}.ckpt");
        try
        {
            first.SaveCheckpoint(path);
            var resumed = ClassifierTrainer.Resume(path, new SyntheticImages(256, false), new SyntheticImages(64, false, seed: 1), options, Mean, Std);
            Assert.Equal(1, resumed.EpochsDone);
            Assert.True(resumed.RunEpoch().CsgEpoch);
            Assert.Equal(straight.Model.Export(straight.Metadata).ToByteArray(), resumed.Model.Export(resumed.Metadata).ToByteArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Training_through_a_trunk_on_every_batch_matches_training_on_its_cached_features()
    {
        // small-cnn cut at layer1: the trunk runs to it, the head after it trains.
        var proto = Architectures.Create("small-cnn", 1, SyntheticImages.Side, SyntheticImages.Side, 4, seed: 5);
        var trunk = Engine.Model.FromProto(Engine.Onnx.OnnxGraphCuts.Before(proto, "layer1"), "trunk", Engine.Kernels.KernelBackends.Default);
        var shape = trunk.ShapeOf("layer1", [1, 1, SyntheticImages.Side, SyntheticImages.Side]).Skip(1).ToArray();
        TrainableModel Head() => TrainableModel.FromProto(Engine.Onnx.OnnxGraphCuts.After(proto, "layer1", shape), "head.onnx");
        var options = new TrainingOptions { Epochs = 2, BatchSize = 32, LearningRate = 1e-2f, Seed = 2, Flip = false };
        var (train, validation) = (new SyntheticImages(256, multiLabel: true), new SyntheticImages(64, multiLabel: true, seed: 1));

        var cached = new ClassifierTrainer(Head(), CachedFeatures.Compute(train, trunk, Mean, Std), CachedFeatures.Compute(validation, trunk, Mean, Std),
            options, new float[shape[0]], [.. Enumerable.Repeat(1f, shape[0])]);
        var online = new ClassifierTrainer(Head(), train, validation, options, Mean, Std, trunk);
        Assert.Same(trunk, online.Trunk);
        for (var e = 0; e < 2; e++)
        {
            var (a, b) = (cached.RunEpoch(), online.RunEpoch());
            Assert.Equal(a.Loss, b.Loss, 1e-4);
            Assert.Equal(a.Validation!.MeanAveragePrecision!.Value, b.Validation!.MeanAveragePrecision!.Value, 1e-3);
        }

        // The two heads end with the same weights up to float rounding.
        foreach (var (p, q) in cached.Model.Parameters.Zip(online.Model.Parameters))
        {
            Assert.Equal(p.Name, q.Name);
            Assert.All(p.Value.Span.ToArray().Zip(q.Value.Span.ToArray()), v => Assert.Equal(v.First, v.Second, 1e-4f * Math.Max(1, Math.Abs(v.First))));
        }
    }

    [Fact]
    public void An_exported_model_reimports_and_gives_identical_logits()
    {
        var trainer = Create(false, new TrainingOptions { Epochs = 1, BatchSize = 32 });
        trainer.RunEpoch();
        var path = Path.Combine(Path.GetTempPath(), $"salient-export-{Guid.NewGuid():N}.onnx");
        try
        {
            trainer.Model.Save(path);
            var reloaded = Engine.Model.Load(path);
            var inMemory = trainer.Model.ToModel();
            using var batch = Engine.Tensor.Uninitialized(8, 1, SyntheticImages.Side, SyntheticImages.Side);
            ImageBatches.Fill(new SyntheticImages(8, false, seed: 9), [0, 1, 2, 3, 4, 5, 6, 7], batch, Mean, Std);
            using var a = reloaded.Forward(batch);
            using var b = inMemory.Forward(batch);
            Assert.Equal(b.Span.ToArray(), a.Span.ToArray());
            Assert.DoesNotContain(reloaded.Graph.Nodes, n => n.Domain.Length > 0);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
