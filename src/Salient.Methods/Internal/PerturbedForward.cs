using Salient.Engine;

namespace Salient.Methods.Internal;

/// <summary>
/// Runs perturbed copies of inputs through the model in chunks and reads the target's probability from each.
/// The copies are written on the host and uploaded a chunk at a time, or written on the model's device by a writer
/// of whole chunks; on a device only the logits come back.
/// </summary>
internal static class PerturbedForward
{
    /// <summary>
    /// For copies 0..<paramref name="count"/>−1: <paramref name="fill"/> writes copy i (one [C,H,W]
    /// image, in parallel) and the result is <paramref name="scores"/>(model(copy))[<paramref name="classOf"/>(i)].
    /// </summary>
    public static double[] Probabilities(Model model, ReadOnlySpan<int> imageShape, int count, int innerBatch, Action<int, Span<float>> fill, Func<int, int> classOf, ClassScores scores)
    {
        var probabilities = new double[count];
        Run(model, imageShape, count, innerBatch, fill, (i, logits) => probabilities[i] = scores.Probability(logits, classOf(i)));
        return probabilities;
    }

    /// <summary>As the other overload, with the copies of each chunk made by <paramref name="write"/> (see <see cref="Run(Model, int, int, Func{int, int, Tensor}, ReadAction, Action{int})"/>).</summary>
    public static double[] Probabilities(Model model, int count, int innerBatch, Func<int, int, Tensor> write, Func<int, int> classOf, ClassScores scores)
    {
        var probabilities = new double[count];
        Run(model, count, innerBatch, write, (i, logits) => probabilities[i] = scores.Probability(logits, classOf(i)));
        return probabilities;
    }

    /// <summary>
    /// For copies 0..<paramref name="count"/>−1, <paramref name="innerBatch"/> per forward pass:
    /// <paramref name="fill"/> writes copy i (one [C,H,W] image, in parallel), then <paramref name="read"/>
    /// gets its logits (in order); <paramref name="progress"/>, if given, the number of copies done after each pass.
    /// </summary>
    public static void Run(Model model, ReadOnlySpan<int> imageShape, int count, int innerBatch, Action<int, Span<float>> fill,
        ReadAction read, Action<int>? progress = null)
    {
        var size = imageShape[0] * imageShape[1] * imageShape[2];
        int[] shape = [.. imageShape];
        Run(model, count, innerBatch, (first, n) =>
        {
            var chunk = Tensor.Uninitialized([n, .. shape]);
            var memory = chunk.Memory;
            Parallel.For(0, n, i => fill(first + i, memory.Span.Slice(i * size, size)));
            return chunk;
        }, read, progress);
    }

    /// <summary>
    /// For copies 0..<paramref name="count"/>−1, <paramref name="innerBatch"/> per forward pass: <paramref name="write"/>
    /// makes the batch of copies first..first+n−1 (a new tensor, on the host or on the model's device; disposed here), then
    /// <paramref name="read"/> gets each copy's logits (in order); <paramref name="progress"/>, if given, the number of copies done after each pass.
    /// </summary>
    public static void Run(Model model, int count, int innerBatch, Func<int, int, Tensor> write, ReadAction read, Action<int>? progress = null)
    {
        for (var start = 0; start < count; start += innerBatch)
        {
            var n = Math.Min(innerBatch, count - start);
            using var chunk = write(start, n);
            using var logits = model.Forward(chunk);
            // On a device the logits come to the host once per pass, to be read.
            using var downloaded = logits.Device.IsCpu ? null : logits.ToHost();
            var values = (downloaded ?? logits).Span;
            var classes = logits.Length / n;
            for (var i = 0; i < n; i++)
            {
                read(start + i, values.Slice(i * classes, classes));
            }

            progress?.Invoke(start + n);
        }
    }

    /// <summary>Receives copy <paramref name="copy"/>'s logits.</summary>
    public delegate void ReadAction(int copy, ReadOnlySpan<float> logits);
}
