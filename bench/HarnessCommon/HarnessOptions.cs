using System.Globalization;

namespace Salient.Bench;

/// <summary>
/// The command line every harness of bench/run.sh takes, with the names and defaults of
/// bench/torch_forward.py and bench/torch_explain.py:
/// <c>COMMAND --model M [--onnx FILE] [--method METHOD] --batch N --size S --warmup W --iterations I --threads T</c>,
/// and <c>--profile PREFIX</c> for the engines that can time each node of their graph.
/// </summary>
internal sealed record HarnessOptions(
    string Command, string Model, string? OnnxPath, string? Method,
    int Batch, int Size, int Warmup, int Iterations, int Threads, string? ProfilePrefix = null)
{
    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public static HarnessOptions Parse(string[] args, IReadOnlyCollection<string> commands)
    {
        if (args.Length == 0 || !commands.Contains(args[0]))
        {
            throw new ArgumentException($"the first argument must be one of: {string.Join(", ", commands)}");
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"expected '--name value', got '{args[i]}'");
            }
            values[args[i][2..]] = args[i + 1];
        }
        string? Text(string name) => values.Remove(name, out var v) ? v : null;
        int Number(string name, int fallback, int min)
        {
            var text = Text(name);
            if (text is null)
            {
                return fallback;
            }
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < min)
            {
                throw new ArgumentException($"--{name} must be an integer >= {min}, got '{text}'");
            }
            return n;
        }
        var options = new HarnessOptions(
            args[0],
            Text("model") ?? throw new ArgumentException("--model is required"),
            Text("onnx"),
            Text("method"),
            Number("batch", 8, 1),
            Number("size", 224, 32),
            Number("warmup", 2, 0),
            Number("iterations", 5, 1),
            // 0 = every logical CPU, as torch_forward.py's --threads 0.
            Number("threads", 0, 0) is var t && t > 0 ? t : Environment.ProcessorCount,
            Text("profile"));
        if (values.Count > 0)
        {
            throw new ArgumentException($"unknown option --{values.Keys.First()}");
        }
        return options;
    }
}
