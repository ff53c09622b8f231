using Salient.Engine;
using Salient.Imaging;

namespace Salient.Cli;

/// <summary>Loads a chunk of inputs into one batch and runs the model, keeping going past inputs that fail.</summary>
internal static class Batches
{
    /// <summary>Per input, in order: its logits, or the error that stopped it.</summary>
    public static (float[]? Logits, string? Error)[] Run(Model model, InputLoader loader, string[] inputs)
    {
        var card = loader.Card;
        var errors = new string?[inputs.Length];
        using var batch = Tensor.Zeros(inputs.Length, card.Channels, card.Height, card.Width);
        Parallel.For(0, inputs.Length, i =>
        {
            try
            {
                loader.LoadInto(inputs[i], batch, i);
            }
            catch (Exception e) when (e is ImageDecodeException or InvalidDataException or IOException or UnauthorizedAccessException)
            {
                errors[i] = e.Message;
            }
        });

        // Only the inputs that loaded go through the model, so a bad file costs nothing but its own line.
        var good = Enumerable.Range(0, inputs.Length).Where(i => errors[i] is null).ToArray();
        var logits = new float[inputs.Length][];
        if (good.Length > 0)
        {
            using var input = good.Length == inputs.Length ? batch.Reshape(batch.Shape) : Compact(batch, good);
            try
            {
                using var output = model.Forward(input);
                var classes = output.Length / good.Length;
                for (var j = 0; j < good.Length; j++)
                {
                    logits[good[j]] = output.Span.Slice(j * classes, classes).ToArray();
                }
            }
            catch (ModelException e)
            {
                foreach (var i in good)
                {
                    errors[i] = e.Message;
                }
            }
        }

        return [.. Enumerable.Range(0, inputs.Length).Select(i => (errors[i] is null ? logits[i] : null, errors[i]))];
    }

    private static Tensor Compact(Tensor batch, int[] keep)
    {
        var size = batch.Length / batch.Dim(0);
        var result = Tensor.Uninitialized([keep.Length, .. batch.Shape[1..]]);
        for (var j = 0; j < keep.Length; j++)
        {
            batch.Span.Slice(keep[j] * size, size).CopyTo(result.Span.Slice(j * size, size));
        }

        return result;
    }
}
