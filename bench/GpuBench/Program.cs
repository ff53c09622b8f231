// GpuBench: FP32 throughput of Salient's ILGPU kernels on one device.
//
//     dotnet GpuBench.dll [--device cuda[:N]|ilgpu-cpu] [--sizes 1024,2048,4096] [--conv-batch 64] [--seconds 2]
//         [--tiles by-shape|small|large] [--json PATH]
//
// GEMM: square C = A·B at each size. conv: ResNet-50's 3×3 convolutions at --conv-batch (implicit
// GEMM; 0 skips them). Each case warms up (which also compiles its kernel), then repeats launches for about
// --seconds and divides the work by the wall time after the stream finished. The FP32 peak is
// 2 × SMs × FP32 lanes per SM × the device's clock, from the architecture; "n/a" where unknown.
// --tiles fixes the GEMM's tile configuration (default: chosen by shape), to check that choice.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Salient.Engine.Cuda;
using Salient.Engine.Cuda.Kernels;
using Salient.Engine.Kernels;

var device = "cuda";
int[] sizes = [1024, 2048, 4096];
var seconds = 2.0;
var convBatch = 64;
string? json = null;
var tiles = GemmTiles.ByShape;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--device": device = args[++i]; break;
        case "--sizes": sizes = [.. args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))]; break;
        case "--conv-batch": convBatch = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--seconds": seconds = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--json": json = args[++i]; break;
        case "--tiles":
            if (!Enum.TryParse(args[++i].Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out tiles) || !Enum.IsDefined(tiles))
            {
                Console.Error.WriteLine($"Unknown --tiles '{args[i]}': by-shape, small or large.");
                return 2;
            }

            break;
        default:
            Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: GpuBench [--device cuda[:N]|ilgpu-cpu] [--sizes 1024,2048] [--conv-batch 64] [--seconds 2] [--tiles by-shape|small|large] [--json PATH]");
            return 2;
    }
}

GpuDevice gpu;
try
{
    gpu = GpuDevice.Open(device);
}
catch (GpuDeviceUnavailableException e)
{
    Console.Error.WriteLine(e.Message);
    return 3;
}

using var opened = gpu;
using var kernels = new GpuKernels(gpu.Accelerator) { GemmTiles = tiles };
var peak = Fp32PeakTflops(gpu.Accelerator);
Console.WriteLine($"device {gpu.Name}; FP32 peak {(peak is { } p ? $"{p:F1} TFLOPS" : "n/a")}; GEMM tiles {tiles}");
var results = new List<Dictionary<string, object>>();

foreach (var n in sizes)
{
    using var a = Filled(gpu.Accelerator, (long)n * n);
    using var b = Filled(gpu.Accelerator, (long)n * n);
    using var c = gpu.Accelerator.Allocate1D<float>((long)n * n);
    var flops = 2.0 * n * n * n;
    Report($"gemm {n}x{n}x{n}", flops, () => kernels.Gemm(false, false, n, n, n, 1f, a.View, n, b.View, n, 0f, c.View, n));
}

// ResNet-50's 3×3 stages: channels and spatial size.
foreach (var (channels, size) in convBatch > 0 ? new[] { (64, 56), (128, 28), (256, 14), (512, 7) } : [])
{
    var g = new Conv2dGeometry(convBatch, channels, size, size, channels, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    using var x = Filled(gpu.Accelerator, (long)g.Batch * channels * size * size);
    using var w = Filled(gpu.Accelerator, (long)channels * channels * 9);
    using var y = gpu.Accelerator.Allocate1D<float>((long)g.Batch * channels * g.OutHeight * g.OutWidth);
    var flops = 2.0 * g.Batch * channels * g.OutHeight * g.OutWidth * channels * 9;
    var relu = new FusedActivation(ActivationKind.Relu);
    Report($"conv3x3 b{convBatch} c{channels} {size}x{size}", flops, () => kernels.Conv2d(g, x.View, w.View, default, y.View, relu));
}

if (json is not null)
{
    File.WriteAllText(json, JsonSerializer.Serialize(new { device = gpu.Name, fp32PeakTflops = peak, gemmTiles = tiles.ToString(), results }, new JsonSerializerOptions { WriteIndented = true }));
}

return 0;

void Report(string name, double flops, Action launch)
{
    launch();
    kernels.Synchronize();
    var watch = Stopwatch.StartNew();
    var runs = 0;
    while (watch.Elapsed.TotalSeconds < seconds)
    {
        launch();
        runs++;
        if (runs % 4 == 0)
        {
            kernels.Synchronize();
        }
    }

    kernels.Synchronize();
    var tflops = flops * runs / watch.Elapsed.TotalSeconds / 1e12;
    var share = peak is { } p ? $" ({100 * tflops / p:F0}% of peak)" : "";
    Console.WriteLine($"{name,-28} {runs,6} runs {watch.Elapsed.TotalMilliseconds / runs,10:F3} ms {tflops,8:F2} TFLOPS{share}");
    results.Add(new() { ["case"] = name, ["runs"] = runs, ["ms"] = watch.Elapsed.TotalMilliseconds / runs, ["tflops"] = tflops });
}

static MemoryBuffer1D<float, Stride1D.Dense> Filled(Accelerator accelerator, long length)
{
    var random = new Random(1);
    var data = new float[length];
    for (long i = 0; i < length; i++)
    {
        data[i] = (random.NextSingle() * 2f) - 1f;
    }

    return accelerator.Allocate1D(data);
}

static double? Fp32PeakTflops(Accelerator accelerator)
{
    if (accelerator.Device is not CudaDevice cuda || cuda.Architecture is not { } arch)
    {
        return null;
    }

    // FP32 lanes per SM: Volta, Turing and A100 have 64; consumer Ampere, Ada, Hopper and later 128.
    int? lanes = (arch.Major, arch.Minor) switch
    {
        (7, _) or (8, 0) => 64,
        (8, _) or (9, _) or (10, _) or (12, _) => 128,
        _ => null,
    };
    return lanes * 2.0 * accelerator.NumMultiprocessors * cuda.ClockRate * 1e3 / 1e12;
}
