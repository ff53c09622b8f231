using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Engine.Kernels;
using Salient.Engine.Kernels.Cpu;
using Salient.Engine.Training;
using Salient.Imaging.Datasets;
using Salient.Methods;
using Salient.Training;

namespace Salient.Cli.Commands;

/// <summary><c>salient bench</c>: throughput figures that bench/run.sh sets beside PyTorch's.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Measure forward throughput and GEMM speed on this machine.");
        command.Subcommands.Add(CreateForward());
        command.Subcommands.Add(CreateGemm());
        command.Subcommands.Add(CreateExplain());
        command.Subcommands.Add(CreateTrain());
        command.Subcommands.Add(ClusterBenchCommand.Create());
        command.Subcommands.Add(CreateParity());
        return command;
    }

    private static Command CreateTrain()
    {
        var arch = new Option<string>("--arch") { Description = $"A built architecture: {string.Join(", ", Architectures.Descriptions.Keys)}.", DefaultValueFactory = _ => "resnet-mini" };
        var size = new Option<int>("--size") { Description = "Height and width of the (random) images.", DefaultValueFactory = _ => 96 };
        var channels = new Option<int>("--channels") { DefaultValueFactory = _ => 3 };
        var classes = new Option<int>("--classes") { DefaultValueFactory = _ => 10 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 32 };
        var optimizer = new Option<string>("--optimizer") { Description = "adam or sgd.", DefaultValueFactory = _ => "adam" };
        optimizer.AcceptOnlyFromAmong("adam", "sgd");
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => 2 };
        var iterations = new Option<int>("--iterations") { DefaultValueFactory = _ => 10 };
        var json = new Option<bool>("--json") { Description = "Print one JSON line instead of text." };
        var command = new Command("train", "Images per second of training steps (forward, softmax cross-entropy, backward, optimizer) on random images, through the trainer `salient train` uses.")
        {
            arch, size, channels, classes, batch, optimizer, warmup, iterations, json,
        };
        command.SetAction(r => Train(r.GetValue(arch)!, r.GetValue(size), r.GetValue(channels), r.GetValue(classes), r.GetValue(batch), r.GetValue(optimizer)!,
            r.GetValue(warmup), r.GetValue(iterations), r.GetValue(json)));
        return command;
    }

    private static int Train(string arch, int size, int channels, int classes, int batch, string optimizer, int warmup, int iterations, bool json)
    {
        if (size < 8 || channels < 1 || classes < 2 || batch < 1 || warmup < 0 || iterations < 1)
        {
            Console.Error.WriteLine("error: --size must be at least 8, --classes at least 2, --batch and --iterations at least 1.");
            return 1;
        }

        TrainableModel model;
        try
        {
            model = TrainableModel.FromProto(Architectures.Create(arch, channels, size, size, classes, seed: 1), arch);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }

        using (model)
        {
            // One epoch of exactly warmup + iterations batches; the clock starts after the warm-up batches.
            var images = new RandomImages(batch * (warmup + iterations), channels, size, classes);
            var options = new TrainingOptions { Epochs = 1, BatchSize = batch, Optimizer = optimizer, Schedule = "constant", Flip = false };
            var trainer = new ClassifierTrainer(model, images, null, options, [.. Enumerable.Repeat(0.5f, channels)], [.. Enumerable.Repeat(0.25f, channels)]);
            var clock = new Stopwatch();
            var epoch = trainer.RunEpoch(p =>
            {
                if (p.Batch == warmup)
                {
                    clock.Start();
                }
            });
            clock.Stop();
            // Without warm-up batches the whole epoch counts, the first batch's set-up included.
            var seconds = (warmup == 0 ? epoch.Seconds : clock.Elapsed.TotalSeconds) / iterations;
            Print(new Dictionary<string, object>
            {
                ["arch"] = arch,
                ["batch"] = batch,
                ["input"] = $"{batch}x{channels}x{size}x{size}",
                ["optimizer"] = optimizer,
                ["images_per_second"] = Math.Round(batch / seconds, 2),
                ["seconds_per_batch"] = Math.Round(seconds, 4),
                ["peak_rss_mb"] = Math.Round(ProcessMemory("VmHWM:"), 1),
                ["backend"] = KernelBackends.Default.Name,
                ["threads"] = Environment.ProcessorCount,
            }, json);
        }

        return 0;
    }

    /// <summary>Random pixels and labels, the same for an index every time: training speed without decoding.</summary>
    private sealed class RandomImages(int count, int channels, int size, int classes) : LabeledImageSet
    {
        public override int Count => count;

        public override int Channels => channels;

        public override int Height => size;

        public override int Width => size;

        public override IReadOnlyList<string> ClassNames { get; } = [.. Enumerable.Range(0, classes).Select(c => c.ToString(CultureInfo.InvariantCulture))];

        public override bool MultiLabel => false;

        public override IReadOnlyList<int> Read(int index, Span<float> destination)
        {
            var random = new Random(index);
            foreach (ref var v in destination)
            {
                v = random.NextSingle();
            }

            return Labels(index);
        }

        public override IReadOnlyList<int> Labels(int index) => [index % classes];
    }

    private static Command CreateForward()
    {
        var model = new Option<FileInfo>("--model") { Description = "The ONNX model.", Required = true };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8 };
        var size = new Option<int>("--size") { Description = "Height and width where the model leaves them free.", DefaultValueFactory = _ => 224 };
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => 2 };
        var iterations = new Option<int>("--iterations") { DefaultValueFactory = _ => 10 };
        var json = new Option<bool>("--json") { Description = "Print one JSON line instead of text." };
        var profile = new Option<bool>("--profile")
        {
            Description = "After the timing, time each step over as many passes: the slowest steps and the time per kind of step (JSON: every step).",
        };
        var top = new Option<int>("--top") { Description = "How many of the slowest steps --profile lists.", DefaultValueFactory = _ => 15 };
        var device = DeviceOption.Create();
        var command = new Command("forward", "Images per second of forward passes on random input.") { model, batch, size, warmup, iterations, json, profile, top, device };
        command.SetAction(r => Forward(r.GetValue(model)!, r.GetValue(device), r.GetValue(batch), r.GetValue(size), r.GetValue(warmup), r.GetValue(iterations), r.GetValue(json),
            r.GetValue(profile) ? Math.Max(r.GetValue(top), 1) : 0));
        return command;
    }

    private static Command CreateExplain()
    {
        var model = new Option<FileInfo>("--model") { Description = "The ONNX model.", Required = true };
        var method = new Option<string>("--method") { Description = "The explanation method.", DefaultValueFactory = _ => "gradcam" };
        var layer = new Option<string?>("--layer") { Description = "Layer(s) for CAM methods; default: the last 4-D activation before global pooling." };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8 };
        var size = new Option<int>("--size") { Description = "Height and width where the model leaves them free.", DefaultValueFactory = _ => 224 };
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => 1 };
        var iterations = new Option<int>("--iterations") { DefaultValueFactory = _ => 5 };
        var channels = new Option<int?>("--channels") { Description = "Score-CAM/Ablation-CAM: time only the first K channels (scale the rate by channels/K to compare)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON line instead of text." };
        var device = DeviceOption.Create();
        var command = new Command("explain", "Images per second of an explanation method on random input, with resident memory after warm-up and at the end (it should stay flat).")
        {
            model, method, layer, batch, size, warmup, iterations, channels, json, device,
        };
        command.SetAction(r => Explain(r.GetValue(model)!, r.GetValue(device), new ExplainOptions { Method = r.GetValue(method)!, Layers = r.GetValue(layer)?.Split(',') ?? [], ChannelLimit = r.GetValue(channels) },
            r.GetValue(batch), r.GetValue(size), r.GetValue(warmup), r.GetValue(iterations), r.GetValue(json)));
        return command;
    }

    private static Command CreateParity()
    {
        var model = new Option<FileInfo>("--model") { Description = "The ONNX model.", Required = true };
        var input = new Option<FileInfo>("--input") { Description = "The input batch (.npy, float32).", Required = true };
        var expected = new Option<FileInfo>("--expected") { Description = "The reference outputs (.npy, float32), e.g. PyTorch's logits.", Required = true };
        var output = new Option<FileInfo?>("--output") { Description = "Also save the model's outputs (.npy, float32), to compare them with further references." };
        var json = new Option<bool>("--json") { Description = "Print one JSON line instead of text." };
        var command = new Command("parity", "Runs a model on a saved input and compares its output with reference values: largest absolute and relative (|a − b| / max(1, |b|)) difference.")
        {
            model, input, expected, output, json,
        };
        command.SetAction(r => Parity(r.GetValue(model)!, r.GetValue(input)!, r.GetValue(expected)!, r.GetValue(output), r.GetValue(json)));
        return command;
    }

    private static int Parity(FileInfo modelFile, FileInfo inputFile, FileInfo expectedFile, FileInfo? outputFile, bool json)
    {
        var result = new Dictionary<string, object> { ["model"] = modelFile.Name };
        try
        {
            var model = Model.Load(modelFile.FullName);
            using var input = Salient.Engine.IO.Npy.Read(inputFile.FullName);
            using var expected = Salient.Engine.IO.Npy.Read(expectedFile.FullName);
            var clock = Stopwatch.StartNew();
            using var output = model.Forward(input);
            result["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 3);
            if (outputFile is not null)
            {
                Salient.Engine.IO.Npy.Write(outputFile.FullName, output);
            }

            if (!output.Shape.SequenceEqual(expected.Shape))
            {
                throw new ModelException($"output shape [{string.Join(',', output.ShapeArray())}] differs from the reference's [{string.Join(',', expected.ShapeArray())}]");
            }

            var (abs, rel) = (0.0, 0.0);
            for (var i = 0; i < output.Length; i++)
            {
                var d = Math.Abs((double)output.Span[i] - expected.Span[i]);
                abs = Math.Max(abs, d);
                rel = Math.Max(rel, d / Math.Max(1.0, Math.Abs(expected.Span[i])));
            }

            result["max_abs_diff"] = abs;
            result["max_rel_diff"] = rel;
            Print(result, json);
            return 0;
        }
        catch (Exception e) when (e is ModelException or IOException or InvalidDataException)
        {
            result["error"] = e.Message;
            Print(result, json);
            return 1;
        }
    }

    private static Command CreateGemm()
    {
        var size = new Option<int>("--size") { DefaultValueFactory = _ => 1024 };
        var seconds = new Option<double>("--seconds") { DefaultValueFactory = _ => 3.0 };
        var provider = new Option<string>("--gemm") { Description = "managed, managed-avx2 (256-bit vectors only), openblas, or auto.", DefaultValueFactory = _ => "auto" };
        provider.AcceptOnlyFromAmong("auto", "managed", "managed-avx2", "openblas");
        var json = new Option<bool>("--json") { Description = "Print one JSON line instead of text." };
        var command = new Command("gemm", "GFLOP/s of square single-precision GEMMs against the nominal FP32 peak of the kernel's vector width.") { size, seconds, provider, json };
        command.SetAction(r => Gemm(r.GetValue(size), r.GetValue(seconds), r.GetValue(provider)!, r.GetValue(json)));
        return command;
    }

    private static int Forward(FileInfo modelFile, Device device, int batch, int size, int warmup, int iterations, bool json, int profile)
    {
        Model model;
        try
        {
            model = Model.Load(modelFile.FullName, device);
        }
        catch (ModelException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }

        var shape = model.BatchInputShape(batch, size, size);
        using var input = RandomInput(shape);
        for (var i = 0; i < warmup; i++)
        {
            model.Forward(input).Dispose();
        }

        // A device queues its work: time from an idle device until all of it has run.
        model.Backend.Synchronize();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++)
        {
            model.Forward(input).Dispose();
        }

        model.Backend.Synchronize();
        var seconds = clock.Elapsed.TotalSeconds / Math.Max(iterations, 1);
        var result = new Dictionary<string, object>
        {
            ["model"] = modelFile.Name,
            ["batch"] = batch,
            ["input"] = string.Join('x', shape),
            ["images_per_second"] = Math.Round(batch / seconds, 2),
            ["seconds_per_batch"] = Math.Round(seconds, 4),
            ["peak_rss_mb"] = Math.Round(ProcessMemory("VmHWM:"), 1),
            ["backend"] = model.BackendName,
            ["threads"] = Environment.ProcessorCount,
        };
        if (profile <= 0)
        {
            Print(result, json);
            return 0;
        }

        // Timed apart from the throughput above, which the stopwatch reads would disturb.
        var steps = model.ProfileForward(input, Math.Max(iterations, 1));
        if (json)
        {
            result["profile"] = steps.Select(s => new Dictionary<string, object>
            {
                ["node"] = s.Node, ["kind"] = s.Kind, ["output"] = s.Output, ["shape"] = string.Join('x', s.Shape), ["ms"] = Math.Round(s.Elapsed.TotalMilliseconds, 3),
            }).ToArray();
            Print(result, json);
            return 0;
        }

        Print(result, json);
        var total = steps.Sum(s => s.Elapsed.TotalMilliseconds);
        Console.WriteLine($"profile: {steps.Count} steps, {total:F1} ms per pass");
        Console.WriteLine($"slowest {Math.Min(profile, steps.Count)} steps:");
        foreach (var s in steps.OrderByDescending(s => s.Elapsed).Take(profile))
        {
            Console.WriteLine($"  {s.Elapsed.TotalMilliseconds,8:F2} ms  {100 * s.Elapsed.TotalMilliseconds / total,5:F1}%  {s.Kind,-18} {string.Join('x', s.Shape),-16} {s.Node}");
        }

        Console.WriteLine("by kind:");
        foreach (var g in steps.GroupBy(s => s.Kind).Select(g => (Kind: g.Key, Count: g.Count(), Ms: g.Sum(s => s.Elapsed.TotalMilliseconds))).OrderByDescending(g => g.Ms))
        {
            Console.WriteLine($"  {g.Ms,8:F2} ms  {100 * g.Ms / total,5:F1}%  {g.Kind} ({g.Count})");
        }

        return 0;
    }

    private static int Explain(FileInfo modelFile, Device device, ExplainOptions options, int batch, int size, int warmup, int iterations, bool json)
    {
        Model model;
        Explainer explainer;
        try
        {
            model = Model.Load(modelFile.FullName, device);
            explainer = Explainer.Create(model, options);
        }
        catch (Exception e) when (e is ModelException or ArgumentException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }

        using var input = RandomInput(model.BatchInputShape(batch, size, size));
        for (var i = 0; i < warmup; i++)
        {
            DisposeAll(explainer.Explain(input, TargetSelection.Top1));
        }

        var residentAfterWarmup = ProcessMemory("VmRSS:");
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++)
        {
            DisposeAll(explainer.Explain(input, TargetSelection.Top1));
        }

        var seconds = clock.Elapsed.TotalSeconds / Math.Max(iterations, 1);
        var result = new Dictionary<string, object>
        {
            ["model"] = modelFile.Name,
            ["method"] = options.Method,
            ["layer"] = string.Join(',', explainer.Layers),
            ["batch"] = batch,
            ["images"] = batch * iterations,
            ["images_per_second"] = Math.Round(batch / seconds, 2),
            ["seconds_per_batch"] = Math.Round(seconds, 4),
            ["rss_after_warmup_mb"] = Math.Round(residentAfterWarmup, 1),
            ["rss_end_mb"] = Math.Round(ProcessMemory("VmRSS:"), 1),
            ["peak_rss_mb"] = Math.Round(ProcessMemory("VmHWM:"), 1),
            ["backend"] = model.BackendName,
            ["threads"] = Environment.ProcessorCount,
        };
        if (options.ChannelLimit is { } limit)
        {
            result["channels"] = limit;
        }

        Print(result, json);
        return 0;
    }

    private static void DisposeAll(IReadOnlyList<Explanation> explanations)
    {
        foreach (var e in explanations)
        {
            e.Dispose();
        }
    }

    private static Tensor RandomInput(int[] shape)
    {
        var input = Tensor.Uninitialized(shape);
        var random = new Random(1);
        foreach (ref var v in input.Span)
        {
            v = random.NextSingle() - 0.5f;
        }

        return input;
    }

    private static int Gemm(int size, double seconds, string provider, bool json)
    {
        var gemm = provider switch
        {
            "openblas" => GemmProvider.OpenBlas,
            "managed" => GemmProvider.Managed,
            "managed-avx2" => GemmProvider.ManagedAvx2,
            _ => GemmProvider.Auto,
        };
        var backend = new CpuBackend(gemm);
        var gflops = GemmBenchmark.MeasureGflops(backend, size, TimeSpan.FromSeconds(seconds));
        var (kernel, lanes) = GemmBenchmark.DescribeKernel(backend);
        var peak = GemmBenchmark.EstimatePeakGflops(lanes);
        var result = new Dictionary<string, object>
        {
            ["size"] = size,
            ["backend"] = backend.Name,
            ["kernel"] = kernel,
            ["vector_lanes"] = lanes,
            ["gflops"] = Math.Round(gflops, 1),
            ["peak_gflops"] = peak is null ? "unknown" : Math.Round(peak.Value, 1),
            ["fraction_of_peak"] = peak is null ? "unknown" : Math.Round(gflops / peak.Value, 3),
            ["threads"] = Environment.ProcessorCount,
        };
        Print(result, json);
        return 0;
    }

    private static void Print(Dictionary<string, object> result, bool json)
    {
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(result));
            return;
        }

        foreach (var (key, value) in result)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{key,-18} {value}"));
        }
    }

    /// <summary>
    /// A memory figure of this process from /proc/self/status in MB: VmHWM is the peak resident set,
    /// which is what /usr/bin/time and getrusage report for PyTorch; VmRSS the current one.
    /// </summary>
    private static double ProcessMemory(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                var kb = long.Parse(line.AsSpan(field.Length).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                return kb / 1024.0;
            }
        }

        return Process.GetCurrentProcess().WorkingSet64 / (1024.0 * 1024.0);
    }
}
