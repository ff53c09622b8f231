using Salient.Bench;
using Salient.Bench.TorchSharp;
using TorchSharp;
using static TorchSharp.torch;

// libtorch's side of bench/run.sh, through TorchSharp (libtorch 2.10 CPU):
//     torchsharpbench forward --model resnet50 --batch 8 --size 224 --warmup 2 --iterations 5 --threads 2
//     torchsharpbench explain --model resnet50 --method gradcam|guided-backprop --batch 8 --size 224 \
//                             --warmup 1 --iterations 2 --threads 2
// Prints one JSON line shaped like bench/torch_forward.py's (explain: bench/torch_explain.py's),
// measured the way the PyTorch side measures: the same network (torchvision's, random weights,
// eval mode, parameters frozen), the same seeded-random input, the same methods.
return Harness.Run("torchsharpbench", args, ["forward", "explain"], options =>
{
    if (options.ProfilePrefix is not null)
    {
        throw new ArgumentException("--profile: this harness does not time single nodes (ortbench does)");
    }
    InitializeDeviceType(DeviceType.CPU); // loads libtorch
    set_num_threads(options.Threads);
    var rssAfterLoad = Measurement.PeakRssMb();
    using var model = VisionModel.Create(options.Model);
    var x = randn([options.Batch, 3, options.Size, options.Size], generator: new Generator(1));

    Action step;
    if (options.Command == "forward")
    {
        step = () =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            model.forward(x);
        };
    }
    else
    {
        var explain = Explanations.Create(options.Method ?? throw new ArgumentException("--method is required"), model);
        step = () =>
        {
            using var scope = NewDisposeScope();
            var map = explain(x);
            if (map.shape is not [var n, var h, var w] || n != options.Batch || h != options.Size || w != options.Size
                || !map.isfinite().all().item<bool>())
            {
                throw new InvalidOperationException($"{options.Method} made a map of shape [{string.Join(", ", map.shape)}] or with non-finite values");
            }
        };
    }
    var seconds = Measurement.Time(step, options.Warmup, options.Iterations);
    var record = Measurement.Summary(options, seconds, rssAfterLoad,
        $"cpu/libtorch {__version__} (TorchSharp {typeof(Tensor).Assembly.GetName().Version}), {get_num_threads()} threads");
    // torchvision's counts (resnet18 11,689,512; resnet50 25,557,032; mobilenet_v2 3,504,872) show the rebuilt network is the same.
    record["parameters"] = model.parameters().Sum(p => p.numel());
    Measurement.Print(record);
    return 0;
});
