using Salient.Engine;
using Salient.Imaging;

namespace Salient.Cli;

/// <summary>Loads a chunk of inputs into one batch, keeping going past inputs that fail.</summary>
internal sealed class Batches : IDisposable
{
    private Batches(Tensor? tensor, int[] loaded, string?[] errors)
    {
        Tensor = tensor;
        Loaded = loaded;
        Errors = errors;
    }

    /// <summary>The inputs that loaded, in order, as one [n,C,H,W] batch; null when none did.</summary>
    public Tensor? Tensor { get; }

    /// <summary>For each row of <see cref="Tensor"/>, the input's index in the chunk.</summary>
    public int[] Loaded { get; }

    /// <summary>Per input of the chunk, why it failed to load, or null.</summary>
    public string?[] Errors { get; }

    /// <summary>Decodes and preprocesses the inputs in parallel; failures are kept as messages, so a bad file costs nothing but its own line.</summary>
    public static Batches Load(InputLoader loader, string[] inputs)
    {
        var card = loader.Card;
        var errors = new string?[inputs.Length];
        using var all = Salient.Engine.Tensor.Zeros(inputs.Length, card.Channels, card.Height, card.Width);
        Parallel.For(0, inputs.Length, i =>
        {
            try
            {
                loader.LoadInto(inputs[i], all, i);
            }
            catch (Exception e) when (e is ImageDecodeException or InvalidDataException or IOException or UnauthorizedAccessException)
            {
                errors[i] = e.Message;
            }
        });

        var loaded = Enumerable.Range(0, inputs.Length).Where(i => errors[i] is null).ToArray();
        if (loaded.Length == 0)
        {
            return new Batches(null, loaded, errors);
        }

        var size = all.Length / inputs.Length;
        var batch = Salient.Engine.Tensor.Uninitialized([loaded.Length, .. all.Shape[1..]]);
        for (var j = 0; j < loaded.Length; j++)
        {
            all.Span.Slice(loaded[j] * size, size).CopyTo(batch.Span.Slice(j * size, size));
        }

        return new Batches(batch, loaded, errors);
    }

    public void Dispose() => Tensor?.Dispose();
}
