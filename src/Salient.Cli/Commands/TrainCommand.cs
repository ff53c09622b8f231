using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Salient.Engine;
using Salient.Engine.Kernels;
using Salient.Engine.Onnx;
using Salient.Engine.Onnx.Protos;
using Salient.Engine.Training;
using Salient.Imaging;
using Salient.Imaging.Datasets;
using Salient.Training.Csg;
using Salient.Training;
using Spectre.Console;

namespace Salient.Cli.Commands;

/// <summary><c>salient train</c>: train a classifier (optionally with a CSG gate) and write it as ONNX with its model card.</summary>
internal static class TrainCommand
{
    /// <summary>The ONNX metadata key holding the training options and final scores.</summary>
    private const string TrainingMetadataKey = "salient.training";

    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = "fashion-mnist, scenes, or a path: a folder with one subfolder per class, or a JSONL manifest (\"image\", \"labels\").", Required = true };
        var arch = new Option<string>("--arch") { Description = $"The network: {string.Join(", ", Architectures.Descriptions.Keys)}, or an .onnx model to train further. Default: small-cnn for fashion-mnist, resnet-mini otherwise." };
        var epochs = Positive(new Option<int>("--epochs") { Description = "Epochs to train.", DefaultValueFactory = _ => 10 });
        var batch = Positive(new Option<int>("--batch") { Description = "Images per step.", DefaultValueFactory = _ => 64 });
        var optimizer = new Option<string>("--optimizer") { Description = "adam or sgd (momentum, Nesterov).", DefaultValueFactory = _ => "adam" };
        optimizer.AcceptOnlyFromAmong("adam", "sgd");
        var rate = new Option<float>("--lr") { Description = "Base learning rate.", DefaultValueFactory = _ => 2e-3f };
        var momentum = new Option<float>("--momentum") { Description = "SGD momentum.", DefaultValueFactory = _ => 0.9f };
        var decay = new Option<float>("--weight-decay") { Description = "L2 weight decay (added to the gradient, as PyTorch).", DefaultValueFactory = _ => 0f };
        var schedule = new Option<string>("--schedule") { Description = "cosine, constant, or step[:E1,E2,...] (×0.1 at each epoch listed).", DefaultValueFactory = _ => "cosine" };
        var warmup = new Option<double>("--warmup") { Description = "Epochs of linear learning-rate warm-up.", DefaultValueFactory = _ => 0 };
        var epochImages = Positive(new Option<int>("--epoch-images") { Description = "Images per epoch (default: the whole training set); successive epochs walk successive shuffles of the set, so a long schedule of short epochs sees every image once per pass." });
        var seed = new Option<int>("--seed") { Description = "Seeds the initial weights, shuffling, augmentation and generated scenes.", DefaultValueFactory = _ => 0 };
        var noFlip = new Option<bool>("--no-flip") { Description = "Do not mirror training images at random." };
        var trainCount = new Option<int>("--train-count") { Description = "Use only this many training images (scenes: how many to generate; default 6000)." };
        var validationCount = new Option<int>("--val-count") { Description = "Use only this many validation images (scenes: default 1000)." };
        var validationFraction = new Option<double>("--val-fraction") { Description = "For a folder or manifest: the share held out for validation.", DefaultValueFactory = _ => 0.1 };
        var size = Positive(new Option<int>("--size") { Description = "Scenes: canvas side; folders and manifests: the side images are resized to.", DefaultValueFactory = _ => 96 });
        var channels = new Option<int>("--channels") { Description = "For a folder or manifest: 1 (gray) or 3 (RGB).", DefaultValueFactory = _ => 3 };
        channels.AcceptOnlyFromAmong("1", "3");
        var datasetDir = new Option<DirectoryInfo>("--dataset-dir") { Description = "The folder of Fashion-MNIST IDX files.", DefaultValueFactory = _ => new DirectoryInfo(FashionMnist.DefaultDirectory) };
        var csg = new Option<bool>("--csg") { Description = "Train with a class-specific gate on the last conv layer (docs/csg.md)." };
        var csgLambda = new Option<float>("--csg-lambda") { Description = "CSG: weight of the hinge sparsity term.", DefaultValueFactory = _ => 1e-3f };
        var csgMu = new Option<float>("--csg-mu") { Description = "CSG: target gate density of the hinge.", DefaultValueFactory = _ => 0.2f };
        var csgWarmup = new Option<int>("--csg-warmup") { Description = "CSG: standard epochs before the first CSG epoch.", DefaultValueFactory = _ => 3 };
        var csgPeriod = Positive(new Option<int>("--csg-period") { Description = "CSG: epoch e is a CSG epoch when e >= warm-up and e mod period >= phase.", DefaultValueFactory = _ => 3 });
        var csgPhase = new Option<int>("--csg-phase") { Description = "CSG: see --csg-period.", DefaultValueFactory = _ => 2 };
        var csgRate = new Option<float?>("--csg-lr") { Description = "CSG: a constant learning rate for CSG epochs (default: the standard schedule's)." };
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "Checkpoint written after every epoch (default: OUT with .ckpt)." };
        var resume = new Option<FileInfo>("--resume") { Description = "Continue from a checkpoint (same options)." };
        var backbone = new Option<FileInfo>("--backbone") { Description = "A pretrained ONNX model kept fixed up to --at: its output there is computed once per image and cached, --arch is built on it and trained, and the two are written joined." };
        var at = new Option<string>("--at") { Description = "With --backbone: the ONNX value (a 4-D feature map) where the trained part takes over." };
        var bgr = new Option<bool>("--bgr") { Description = "With --backbone: it was trained on BGR images, so its first convolutions' input channels are reversed for Salient's RGB." };
        var featureCache = new Option<DirectoryInfo>("--feature-cache") { Description = "With --backbone: a folder keeping the backbone's features of the training and validation images, so another run on the same data, backbone and normalization reads them instead of computing them again." };
        var onlineFeatures = new Option<bool>("--online-features") { Description = "With --backbone: run it on every batch while training instead of computing each image's features once up front, for training sets too large to hold their features (scenes are generated as they are read, so --train-count can run to millions, walked by --epoch-images); flips then mirror the images, not their features." };
        var mean = new Option<string>("--mean") { Description = "Per-channel input mean (comma-separated, of pixel values in [0, 1]) instead of the training images' own, e.g. a pretrained backbone's." };
        var std = new Option<string>("--std") { Description = "Per-channel input standard deviation to go with --mean." };
        var output = new Option<FileInfo>("--out") { Description = "The trained model (.onnx); its model card is written beside it (.json).", Required = true };

        var command = new Command("train", "Train a classifier on Fashion-MNIST, scenes or an image folder, and write it as ONNX with a model card.")
        {
            dataset, arch, epochs, batch, optimizer, rate, momentum, decay, schedule, warmup, epochImages, seed, noFlip, trainCount, validationCount, validationFraction,
            size, channels, datasetDir, csg, csgLambda, csgMu, csgWarmup, csgPeriod, csgPhase, csgRate, backbone, at, bgr, featureCache, onlineFeatures, mean, std, checkpoint, resume, output,
        };
        command.SetAction(result =>
        {
            var data = new TrainingData.Settings(result.GetValue(dataset)!, result.GetValue(datasetDir)!.FullName, result.GetValue(trainCount), result.GetValue(validationCount),
                result.GetValue(validationFraction), result.GetValue(size), result.GetValue(channels), result.GetValue(seed));
            var options = new TrainingOptions
            {
                Epochs = result.GetValue(epochs),
                BatchSize = result.GetValue(batch),
                Optimizer = result.GetValue(optimizer)!,
                LearningRate = result.GetValue(rate),
                Momentum = result.GetValue(momentum),
                WeightDecay = result.GetValue(decay),
                Schedule = result.GetValue(schedule)!,
                WarmupEpochs = result.GetValue(warmup),
                EpochImages = result.GetResult(epochImages) is null ? null : result.GetValue(epochImages),
                Seed = result.GetValue(seed),
                Flip = !result.GetValue(noFlip),
                Csg = result.GetValue(csg)
                    ? new CsgOptions { Lambda = result.GetValue(csgLambda), Mu = result.GetValue(csgMu), WarmupEpochs = result.GetValue(csgWarmup), Period = result.GetValue(csgPeriod), PhaseStart = result.GetValue(csgPhase), LearningRate = result.GetValue(csgRate) }
                    : null,
            };
            var outFile = result.GetValue(output)!;
            var frozen = result.GetValue(backbone) is { } file ? new Backbone(file.FullName, result.GetValue(at) ?? string.Empty, result.GetValue(bgr), result.GetValue(featureCache)?.FullName, result.GetValue(onlineFeatures)) : null;
            var normalization = (result.GetValue(mean), result.GetValue(std));
            return Run(data, result.GetValue(arch), options, frozen, normalization, outFile, result.GetValue(checkpoint)?.FullName ?? Path.ChangeExtension(outFile.FullName, ".ckpt"), result.GetValue(resume));
        });
        return command;
    }

    /// <summary>Exit code 0 when the model was trained and written; 1 when the dataset, model or options are unusable.</summary>
    private static int Run(TrainingData.Settings dataSettings, string? arch, TrainingOptions options, Backbone? backbone, (string? Mean, string? Std) normalization,
        FileInfo outFile, string checkpointPath, FileInfo? resume)
    {
        ClassifierTrainer trainer;
        TrainingData data;
        float[] mean, std;
        ModelProto? frozen = null;
        try
        {
            _ = LearningRateSchedule.Parse(options.Schedule, options.LearningRate, options.Epochs);
            data = TrainingData.Open(dataSettings);
            Console.Error.WriteLine($"data: {data.Description}");
            foreach (var skipped in data.Skipped)
            {
                Console.Error.WriteLine($"skipped: {skipped}");
            }

            (mean, std) = Normalization(normalization, data.Train);
            var (train, validation) = (data.Train, data.Validation);
            var (inputMean, inputStd) = (mean, std);
            Model? trunk = null;
            if (backbone is not null)
            {
                frozen = backbone.Read();
                trunk = Model.FromProto(OnnxGraphCuts.Before(frozen, backbone.At), Path.GetFileName(backbone.Path), KernelBackends.Default);
                if (backbone.Online)
                {
                    Console.Error.WriteLine($"backbone features: computed for every batch ({trunk.Name} up to {backbone.At})");
                }
                else
                {
                    train = Features(trunk, backbone, data, data.Train, mean, std, "training");
                    validation = data.Validation is null ? null : Features(trunk, backbone, data, data.Validation, mean, std, "validation");
                    (inputMean, inputStd, trunk) = (new float[train.Channels], Enumerable.Repeat(1f, train.Channels).ToArray(), null);
                }
            }

            // What the trained model takes: the images, their cached features or the trunk's output.
            int[] modelInput = trunk is null ? [train.Channels, train.Height, train.Width] : [.. trunk.ShapeOf(trunk.OutputNames[0], [1, train.Channels, train.Height, train.Width]).Skip(1)];
            if (resume is not null)
            {
                trainer = ClassifierTrainer.Resume(resume.FullName, train, validation, options, inputMean, inputStd, trunk);
            }
            else
            {
                var name = arch ?? (backbone is not null ? "block-head" : dataSettings.Dataset == "fashion-mnist" ? "small-cnn" : "resnet-mini");
                var model = name.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)
                    ? TrainableModel.Load(name)
                    : TrainableModel.FromProto(Architectures.Create(name, modelInput[0], modelInput[1], modelInput[2], train.ClassNames.Count, options.Seed), Path.GetFileName(outFile.FullName));
                trainer = new ClassifierTrainer(model, train, validation, options, inputMean, inputStd, trunk);
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ModelException or ArgumentException or FormatException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }

        var reports = new List<EpochReport>();
        try
        {
            foreach (var path in new[] { outFile.FullName, checkpointPath })
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            }

            while (trainer.EpochsDone < options.Epochs)
            {
                var report = RunEpoch(trainer, options.Epochs);
                reports.Add(report);
                Console.Error.WriteLine(Describe(report, options.Epochs));
                trainer.SaveCheckpoint(checkpointPath);
            }

            if (reports.Count > 0 && reports[^1].Validation?.ClassAveragePrecisions is { } precisions)
            {
                Console.Error.WriteLine(DescribePrecisions(precisions, data.Train.ClassNames));
            }

            Save(trainer, frozen is null ? null : (frozen, backbone!.At), data, options, reports, mean, std, outFile.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: cannot write {outFile.FullName} or its checkpoint {checkpointPath}: {e.Message}");
            return 1;
        }

        Console.WriteLine($"wrote {outFile.FullName} and {Path.ChangeExtension(outFile.FullName, ".json")}");
        return 0;
    }

    private static EpochReport RunEpoch(ClassifierTrainer trainer, int epochs)
    {
        var title = $"epoch {trainer.EpochsDone + 1}/{epochs}";
        if (!AnsiConsole.Profile.Capabilities.Interactive || Console.IsOutputRedirected)
        {
            return trainer.RunEpoch();
        }

        EpochReport report = null!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(title);
                report = trainer.RunEpoch(p =>
                {
                    task.MaxValue = p.Batches;
                    task.Value = p.Batch;
                    task.Description = string.Create(CultureInfo.InvariantCulture, $"{title} loss {p.Loss:F4} acc {p.Accuracy:F3} {p.ImagesPerSecond:F0} img/s");
                });
            });
        return report;
    }

    private static string Describe(EpochReport r, int epochs)
    {
        var validation = r.Validation is null ? string.Empty
            : string.Create(CultureInfo.InvariantCulture, $" val-acc {r.Validation.Accuracy:F4}{(r.Validation.MeanAveragePrecision is { } map ? $" val-mAP {map:F4}" : string.Empty)}");
        var gate = r.GateDensity is { } d ? string.Create(CultureInfo.InvariantCulture, $" gate-density {d:F3}") : string.Empty;
        return string.Create(CultureInfo.InvariantCulture,
            $"epoch {r.Epoch + 1}/{epochs} {(r.CsgEpoch ? "csg" : "std")} loss {r.Loss:F4} train-acc {r.TrainAccuracy:F4}{validation} lr {r.LearningRate:G3} {r.ImagesPerSecond:F0} img/s {r.Seconds:F1} s{gate}");
    }

    /// <summary>The last epoch's validation AP of each class, so the classes that hold the mAP down can be seen.</summary>
    private static string DescribePrecisions(IReadOnlyList<double?> precisions, IReadOnlyList<string> classNames) =>
        "val AP per class: " + string.Join(", ", precisions.Select((ap, c) =>
            string.Create(CultureInfo.InvariantCulture, $"{classNames[c]} {(ap is { } v ? v.ToString("F4", CultureInfo.InvariantCulture) : "n/a")}")));

    private static void Save(ClassifierTrainer trainer, (ModelProto Model, string At)? backbone, TrainingData data, TrainingOptions options, List<EpochReport> reports,
        float[] mean, float[] std, string path)
    {
        var last = reports.Count > 0 ? reports[^1] : null;
        var training = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["dataset"] = data.Description,
            ["options"] = options with { Csg = null },
            ["csg"] = options.Csg,
            ["epochs"] = reports.Select(r => new { epoch = r.Epoch + 1, phase = r.CsgEpoch ? "csg" : "std", loss = r.Loss, train_accuracy = r.TrainAccuracy, validation = r.Validation, seconds = r.Seconds, gate_density = r.GateDensity }),
            ["validation"] = last?.Validation,
        });
        var metadata = new Dictionary<string, string>(trainer.Metadata) { [TrainingMetadataKey] = training };
        if (backbone is { } b)
        {
            TrainableModel.Write(OnnxGraphCuts.Join(b.Model, b.At, trainer.Model.Export(metadata)), path);
        }
        else
        {
            trainer.Model.Save(path, metadata);
        }

        new ModelCard
        {
            Name = Path.GetFileNameWithoutExtension(path),
            Channels = data.Train.Channels,
            Height = data.Train.Height,
            Width = data.Train.Width,
            Mean = mean,
            Std = std,
            Labels = data.Train.ClassNames,
            MultiLabel = data.Train.MultiLabel,
        }.Save(Path.ChangeExtension(path, ".json"));
    }

    /// <summary>The input normalization: --mean and --std when given, else the training images' own statistics.</summary>
    private static (float[] Mean, float[] Std) Normalization((string? Mean, string? Std) given, LabeledImageSet train)
    {
        if (given.Mean is null && given.Std is null)
        {
            return ImageBatches.Statistics(train);
        }

        float[] Parse(string? text, string name)
        {
            var values = (text ?? throw new ArgumentException("--mean and --std go together.")).Split(',', StringSplitOptions.TrimEntries)
                .Select(v => float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && float.IsFinite(f) ? f : throw new ArgumentException($"{name}: '{v}' is not a number.")).ToArray();
            return values.Length == train.Channels ? values : throw new ArgumentException($"{name} needs {train.Channels} values, one per channel; it has {values.Length}.");
        }

        var (mean, std) = (Parse(given.Mean, "--mean"), Parse(given.Std, "--std"));
        return std.All(s => s > 0) ? (mean, std) : throw new ArgumentException("--std values must be positive.");
    }

    /// <summary>
    /// The backbone's features of every image of <paramref name="images"/>, with a progress line every tenth;
    /// read from and written to the backbone's feature cache when it has one.
    /// </summary>
    private static CachedFeatures Features(Model trunk, Backbone backbone, TrainingData data, LabeledImageSet images, float[] mean, float[] std, string what)
    {
        var cached = backbone.CacheFile(data, mean, std, what);
        if (cached is not null && File.Exists(cached))
        {
            Console.Error.WriteLine($"backbone features: {what} images from {cached}");
            return CachedFeatures.Load(cached, images);
        }

        var features = Compute(trunk, images, mean, std, what);
        if (cached is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
            features.Save(cached);
            Console.Error.WriteLine($"backbone features: {what} images kept in {cached}");
        }

        return features;
    }

    private static CachedFeatures Compute(Model trunk, LabeledImageSet images, float[] mean, float[] std, string what)
    {
        var step = Math.Max(1, images.Count / 10);
        var next = step;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        return CachedFeatures.Compute(images, trunk, mean, std, done =>
        {
            if (done >= next || done == images.Count)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"backbone features: {done}/{images.Count} {what} images, {done / clock.Elapsed.TotalSeconds:F0} img/s"));
                next = done + step;
            }
        });
    }

    /// <summary>
    /// A pretrained model fixed up to the value <see cref="At"/>; <see cref="Online"/>: run on every
    /// batch rather than once per image up front.
    /// </summary>
    private sealed record Backbone(string Path, string At, bool Bgr, string? CacheFolder, bool Online)
    {
        /// <summary>
        /// The cache file of one image set's features, named by a hash of everything they depend on
        /// (the backbone file, the cut, the channel order, the data and the normalization); null without a cache folder.
        /// </summary>
        public string? CacheFile(TrainingData data, float[] mean, float[] std, string what)
        {
            if (CacheFolder is null)
            {
                return null;
            }

            var file = new FileInfo(Path);
            var key = string.Join('|', file.FullName, file.Length, file.LastWriteTimeUtc.Ticks, At, Bgr, data.Description, what,
                string.Join(',', mean.Select(m => m.ToString("R", CultureInfo.InvariantCulture))), string.Join(',', std.Select(s => s.ToString("R", CultureInfo.InvariantCulture))));
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)))[..16];
            return System.IO.Path.Combine(CacheFolder, $"{what}-{hash}.features");
        }

        public ModelProto Read()
        {
            if (At.Length == 0)
            {
                throw new ArgumentException("--backbone needs --at VALUE: where the trained part takes over.");
            }

            var proto = OnnxImporter.ReadProto(Path);
            if (Bgr)
            {
                OnnxGraphCuts.ReverseInputChannels(proto);
            }

            return proto;
        }
    }

    private static Option<int> Positive(Option<int> option)
    {
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() <= 0)
            {
                r.AddError($"{option.Name} must be a positive number.");
            }
        });
        return option;
    }
}
