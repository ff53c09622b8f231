using Salient.Engine;
using Salient.Imaging;

namespace Salient.Cluster.Coordinator;

/// <summary>
/// Checks an uploaded model before it is registered, as a worker will use it: the engine loads the ONNX
/// file with its card beside it (input size, normalisation), runs one forward pass on a blank image, and
/// the card's labels must match the classes the model outputs. A body that is not ONNX never becomes a model.
/// </summary>
internal static class ModelUploadCheck
{
    /// <summary>Why the model (with <paramref name="card"/>, when given) cannot be used, naming the part; null when it can.</summary>
    public static async Task<string?> ProblemAsync(ReadOnlyMemory<byte> onnx, byte[]? card, CancellationToken cancellationToken)
    {
        var folder = Directory.CreateTempSubdirectory("salient-upload-");
        try
        {
            var path = Path.Combine(folder.FullName, "model.onnx");
            await File.WriteAllBytesAsync(path, onnx, cancellationToken).ConfigureAwait(false);
            if (card is not null)
            {
                await File.WriteAllBytesAsync(Path.ChangeExtension(path, ".json"), card, cancellationToken).ConfigureAwait(false);
            }

            return Check(path, card is not null);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static string? Check(string path, bool hasCard)
    {
        Model model;
        InputLoader loader;
        try
        {
            model = Model.Load(path);
        }
        catch (ModelException e)
        {
            return $"model: the upload is not a model Salient can run: {e.Message}";
        }

        try
        {
            loader = new InputLoader(InputLoader.CardFor(model));
        }
        catch (Exception e) when (e is ModelException or InvalidDataException)
        {
            return $"{(hasCard ? "card" : "model")}: {e.Message}";
        }

        var card = loader.Card;
        try
        {
            using var blank = Tensor.Zeros(1, card.Channels, card.Height, card.Width);
            using var logits = model.Forward(blank);
            var classes = logits.Length;
            return card.Labels.Count > 0 && card.Labels.Count != classes
                ? $"card: it lists {card.Labels.Count} labels, but the model outputs {classes} classes."
                : null;
        }
        catch (ModelException e)
        {
            return $"model: a forward pass at the card's input size {card.Channels}x{card.Height}x{card.Width} fails: {e.Message}";
        }
    }
}
