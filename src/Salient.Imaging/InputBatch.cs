using Salient.Engine;

namespace Salient.Imaging;

/// <summary>
/// A chunk of inputs loaded into one batch tensor, past the inputs that fail: a bad input costs
/// nothing but its own error message.
/// </summary>
public sealed class InputBatch : IDisposable
{
    private InputBatch(Tensor? tensor, int[] loaded, string?[] errors)
    {
        Tensor = tensor;
        Loaded = loaded;
        Errors = errors;
    }

    /// <summary>The inputs that loaded, in order, as one [n,C,H,W] batch; null when none did.</summary>
    public Tensor? Tensor { get; }

    /// <summary>For each row of <see cref="Tensor"/>, the input's index in the chunk.</summary>
    public IReadOnlyList<int> Loaded { get; }

    /// <summary>Per input of the chunk, why it failed to load, or null.</summary>
    public IReadOnlyList<string?> Errors { get; }

    /// <summary>Decodes and preprocesses the files at <paramref name="paths"/> in parallel.</summary>
    public static InputBatch Load(InputLoader loader, IReadOnlyList<string> paths)
    {
        ArgumentNullException.ThrowIfNull(loader);
        ArgumentNullException.ThrowIfNull(paths);
        return Load(loader.Card, paths.Count, (batch, i) => loader.LoadInto(paths[i], batch, i));
    }

    /// <summary>
    /// Loads <paramref name="count"/> inputs shaped by <paramref name="card"/> in parallel, each by
    /// <paramref name="loadInto"/>(batch, index); a decode, data or I/O exception becomes that input's error.
    /// </summary>
    public static InputBatch Load(ModelCard card, int count, Action<Tensor, int> loadInto)
    {
        ArgumentNullException.ThrowIfNull(card);
        ArgumentNullException.ThrowIfNull(loadInto);
        var errors = new string?[count];
        using var all = Tensor.Zeros(count, card.Channels, card.Height, card.Width);
        Parallel.For(0, count, i =>
        {
            try
            {
                loadInto(all, i);
            }
            catch (Exception e) when (e is ImageDecodeException or InvalidDataException or IOException or UnauthorizedAccessException)
            {
                errors[i] = e.Message;
            }
        });

        var loaded = Enumerable.Range(0, count).Where(i => errors[i] is null).ToArray();
        if (loaded.Length == 0)
        {
            return new InputBatch(null, loaded, errors);
        }

        var size = all.Length / count;
        var batch = Tensor.Uninitialized([loaded.Length, .. all.Shape[1..]]);
        for (var j = 0; j < loaded.Length; j++)
        {
            all.Span.Slice(loaded[j] * size, size).CopyTo(batch.Span.Slice(j * size, size));
        }

        return new InputBatch(batch, loaded, errors);
    }

    /// <summary>The row of the batch that input <paramref name="index"/> of the chunk landed in, or -1 when it failed.</summary>
    public int RowOf(int index) => Array.IndexOf((int[])Loaded, index);

    /// <inheritdoc />
    public void Dispose() => Tensor?.Dispose();
}
