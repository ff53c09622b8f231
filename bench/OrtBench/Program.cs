using Microsoft.ML.OnnxRuntime;
using Salient.Bench;

// ONNX Runtime's forward pass on the ONNX file bench/run.sh exported (the one Salient reads):
//     ortbench forward --model resnet50 --onnx bench/work/resnet50.onnx --batch 8 --size 224 \
//                      --warmup 2 --iterations 5 --threads 2
// Prints one JSON line shaped like bench/torch_forward.py's. With --profile PREFIX, ONNX Runtime
// also writes its per-node timings (PREFIX_<date>.json, a Chrome trace; bench/ort_profile.py sums
// them per node) so a layer's time can be set beside `salient bench forward --profile`'s. ONNX Runtime has no backward pass,
// so there is no explain command: the report shows n/a there.
return Harness.Run("ortbench", args, ["forward"], options =>
{
    var onnx = options.OnnxPath ?? throw new ArgumentException("--onnx is required");
    if (!File.Exists(onnx))
    {
        throw new FileNotFoundException($"no ONNX file at '{onnx}'");
    }
    var version = OrtEnv.Instance().GetVersionString(); // loads the native library
    var rssAfterLoad = Measurement.PeakRssMb();

    // The settings a user tuning for throughput on CPU would pick: all graph optimisations, the
    // same intra-op thread count as every other engine, one sequential inter-op thread.
    using var sessionOptions = new SessionOptions
    {
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        IntraOpNumThreads = options.Threads,
        InterOpNumThreads = 1,
    };
    if (options.ProfilePrefix is { } prefix)
    {
        // The prefix first: enabling profiling starts it under the prefix set at that moment.
        sessionOptions.ProfileOutputPathPrefix = prefix;
        sessionOptions.EnableProfiling = true;
    }
    using var session = new InferenceSession(onnx, sessionOptions);
    var inputName = session.InputNames[0];
    var outputNames = session.OutputNames;

    var shape = new long[] { options.Batch, 3, options.Size, options.Size };
    var pixels = new float[options.Batch * 3 * options.Size * options.Size];
    var random = new Random(1);
    for (var i = 0; i < pixels.Length; i++)
    {
        pixels[i] = (float)(random.NextDouble() * 2 - 1);
    }
    using var input = OrtValue.CreateTensorValueFromMemory(pixels, shape);
    using var runOptions = new RunOptions();

    var seconds = Measurement.Time(() =>
    {
        using var outputs = session.Run(runOptions, [inputName], [input], outputNames);
    }, options.Warmup, options.Iterations);
    Measurement.Print(Measurement.Summary(options, seconds, rssAfterLoad,
        $"cpu/onnxruntime {version} (CPU execution provider, graph optimisation ALL)"));
    return 0;
});
