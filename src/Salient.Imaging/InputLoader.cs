using Salient.Engine;
using Salient.Engine.IO;

namespace Salient.Imaging;

/// <summary>
/// Loads one input into a slot of a model's input batch: an image (JPEG or PNG, decoded and
/// preprocessed by the model card) or a <c>.npy</c> tensor [C,H,W] or [1,C,H,W] used as is.
/// Thread-safe; every failure is an exception whose message names the input.
/// </summary>
public sealed class InputLoader
{
    private readonly ImagePreprocessor _preprocessor;
    private readonly long _maxPixels;

    /// <summary>Creates a loader that shapes inputs as <paramref name="card"/> says.</summary>
    public InputLoader(ModelCard card, long maxPixels = RgbImage.DefaultMaxPixels)
    {
        _preprocessor = new ImagePreprocessor(card);
        _maxPixels = maxPixels;
    }

    /// <summary>The card inputs are shaped by.</summary>
    public ModelCard Card => _preprocessor.Card;

    /// <summary>Loads the model at <paramref name="modelPath"/>, to run on <paramref name="device"/> (the CPU by default), and a loader shaped by its card.</summary>
    /// <exception cref="ModelException">The model cannot be used, or its card disagrees with it.</exception>
    /// <exception cref="InvalidDataException">The model card is malformed.</exception>
    /// <exception cref="Engine.Devices.DeviceUnavailableException">The device is unknown or not there.</exception>
    public static (Model Model, InputLoader Loader) Open(string modelPath, Engine.Devices.Device? device = null)
    {
        var model = Model.Load(modelPath, device ?? Engine.Devices.Device.Cpu);
        return (model, new InputLoader(CardFor(model)));
    }

    /// <summary>Loads the model at <paramref name="modelPath"/> to run on <paramref name="backend"/> (a stream of its own on a shared device), and a loader shaped by its card.</summary>
    /// <exception cref="ModelException">The model cannot be used, or its card disagrees with it.</exception>
    /// <exception cref="InvalidDataException">The model card is malformed.</exception>
    public static (Model Model, InputLoader Loader) Open(string modelPath, Engine.Kernels.IKernelBackend backend)
    {
        var model = Model.Load(modelPath, backend);
        return (model, new InputLoader(CardFor(model)));
    }

    /// <summary>
    /// The card for <paramref name="model"/>: its <c>.json</c> card when present, else the default
    /// for its input shape. A card that disagrees with the model's fixed input size is an error.
    /// </summary>
    public static ModelCard CardFor(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var shape = model.BatchInputShape(1);
        var card = ModelCard.TryLoadForModel(model.Path) ?? ModelCard.Default(shape[1], shape[2], shape[3]);
        var declared = model.InputShape;
        if ((declared[1] > 0 && declared[1] != card.Channels) || (declared[2] > 0 && declared[2] != card.Height) || (declared[3] > 0 && declared[3] != card.Width))
        {
            throw new ModelException($"Model card of '{model.Name}' gives input {card.Channels}x{card.Height}x{card.Width}, but the model takes [{string.Join(',', declared.Skip(1))}].");
        }

        return card;
    }

    /// <summary>Fills slot <paramref name="index"/> of <paramref name="batch"/> [N,C,H,W] from the file at <paramref name="path"/>.</summary>
    public void LoadInto(string path, Tensor batch, int index)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Input '{path}' does not exist.", path);
        }

        LoadInto(File.ReadAllBytes(path), path, batch, index);
    }

    /// <summary>
    /// Fills slot <paramref name="index"/> of <paramref name="batch"/> [N,C,H,W] from an input's bytes: a <c>.npy</c>
    /// tensor when <paramref name="name"/> ends so, else an encoded image. <paramref name="name"/> names it in errors.
    /// </summary>
    public void LoadInto(ReadOnlySpan<byte> data, string name, Tensor batch, int index)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(batch);
        if (name.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            using var tensor = Npy.Read(data, name);
            var shape = tensor.Shape;
            var item = batch.Shape[1..];
            if (!shape.SequenceEqual(item) && !(shape.Length == item.Length + 1 && shape[0] == 1 && shape[1..].SequenceEqual(item)))
            {
                throw new InvalidDataException($"Input '{name}' holds a tensor [{string.Join(',', shape.ToArray())}]; the model takes [{string.Join(',', item.ToArray())}] or [1,{string.Join(',', item.ToArray())}].");
            }

            tensor.Span.CopyTo(batch.Span.Slice(index * tensor.Length, tensor.Length));
            return;
        }

        using var image = RgbImage.Decode(data, name, _maxPixels);
        _preprocessor.ProcessInto(image, batch, index);
    }
}
