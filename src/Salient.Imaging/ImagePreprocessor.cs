using System.Buffers;
using Salient.Engine;
using Salient.Imaging.Internal;

namespace Salient.Imaging;

/// <summary>
/// Turns decoded images into model input exactly as torchvision 0.14 does on PIL images:
/// <c>Resize</c> (Pillow BILINEAR with its antialiasing), <c>CenterCrop</c> (zero padding when the
/// crop is larger), <c>ToTensor</c> and <c>Normalize</c>, following a <see cref="ModelCard"/>.
/// Resize and crop are fused: only the cropped pixels are resampled. For overlays it also gives
/// the resized and cropped picture itself and turns normalised tensors back into pictures.
/// Instances are immutable and safe to share between threads.
/// </summary>
public sealed class ImagePreprocessor
{
    private readonly float[] _lut;

    /// <summary>Prepares the per-channel lookup tables of <paramref name="card"/>.</summary>
    public ImagePreprocessor(ModelCard card)
    {
        ArgumentNullException.ThrowIfNull(card);
        card.Validate("the model card given to ImagePreprocessor");
        Card = card;

        // ToTensor then Normalize in float32, as torch computes them: (v / 255 - mean) / std.
        _lut = new float[card.Channels * 256];
        for (var c = 0; c < card.Channels; c++)
        {
            for (var v = 0; v < 256; v++)
            {
                _lut[(c * 256) + v] = ((v / 255f) - card.Mean[c]) / card.Std[c];
            }
        }
    }

    /// <summary>The card this preprocessor follows.</summary>
    public ModelCard Card { get; }

    /// <summary>Preprocesses <paramref name="image"/> into a new pooled tensor [channels, height, width].</summary>
    public Tensor Process(RgbImage image)
    {
        var tensor = Tensor.Uninitialized(Card.Channels, Card.Height, Card.Width);
        try
        {
            ProcessInto(image, tensor.Span);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Preprocesses <paramref name="image"/> into slot <paramref name="index"/> of
    /// <paramref name="batch"/>, a tensor [N, channels, height, width], without an intermediate tensor.
    /// </summary>
    public void ProcessInto(RgbImage image, Tensor batch, int index)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Rank != 4 || batch.Dim(1) != Card.Channels || batch.Dim(2) != Card.Height || batch.Dim(3) != Card.Width)
        {
            throw new ArgumentException($"The batch is {batch}; this model needs [N,{Card.Channels},{Card.Height},{Card.Width}].", nameof(batch));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, batch.Dim(0));
        var slot = Card.Channels * Card.Height * Card.Width;
        ProcessInto(image, batch.Span.Slice(index * slot, slot));
    }

    /// <summary>
    /// A mask image (e.g. an object's segmentation PNG) in the model input's frame: the same resize
    /// and crop as <see cref="ResizeAndCrop"/>, then cut at half intensity of its red channel.
    /// </summary>
    public bool[] Mask(RgbImage mask)
    {
        using var seen = ResizeAndCrop(mask);
        var pixels = seen.Pixels;
        var result = new bool[seen.Width * seen.Height];
        for (var p = 0; p < result.Length; p++)
        {
            result[p] = pixels[3 * p] >= 128;
        }

        return result;
    }

    /// <summary>
    /// The image the model sees, for overlays: <paramref name="image"/> resized and centre-cropped
    /// to the input size exactly as <see cref="Process"/> does before ToTensor and Normalize. For a
    /// one-channel card that is the luma image, replicated to R, G and B.
    /// </summary>
    /// <returns>A new <see cref="ModelCard.Width"/> x <see cref="ModelCard.Height"/> image the caller disposes.</returns>
    public RgbImage ResizeAndCrop(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var result = RgbImage.Create(Card.Width, Card.Height);
        try
        {
            if (Card.Channels == 3)
            {
                ResizeCrop(image, result.Pixels);
            }
            else
            {
                var plane = Card.Height * Card.Width;
                var gray = ArrayPool<byte>.Shared.Rent(plane);
                try
                {
                    ResizeCrop(image, gray.AsSpan(0, plane));
                    var pixels = result.Pixels;
                    for (var i = 0; i < plane; i++)
                    {
                        pixels[3 * i] = pixels[(3 * i) + 1] = pixels[(3 * i) + 2] = gray[i];
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(gray);
                }
            }

            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The image a normalised input tensor shows, for overlays on <c>.npy</c> inputs: each value
    /// becomes <c>round(255 · (x · std + mean))</c> (half to even) clamped to [0, 255], NaN 0; a
    /// one-channel input is replicated to R, G and B. Inverts <see cref="Process"/> exactly.
    /// </summary>
    /// <param name="input">A tensor [channels, height, width] or [1, channels, height, width] of this card's input size.</param>
    /// <returns>A new image the caller disposes.</returns>
    public RgbImage Denormalize(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int channels = Card.Channels, height = Card.Height, width = Card.Width;
        var shape = input.Shape;
        if (shape.Length == 4 && shape[0] == 1)
        {
            shape = shape[1..];
        }

        if (shape.Length != 3 || shape[0] != channels || shape[1] != height || shape[2] != width)
        {
            throw new ArgumentException($"The input is {input}; this model's input is [{channels},{height},{width}] or [1,{channels},{height},{width}].", nameof(input));
        }

        ReadOnlySpan<float> values = input.Span;
        var plane = height * width;
        var image = RgbImage.Create(width, height);
        var pixels = image.Pixels;
        for (var c = 0; c < 3; c++)
        {
            var source = channels == 1 ? 0 : c;
            double mean = Card.Mean[source], std = Card.Std[source];
            var channel = values.Slice(source * plane, plane);
            for (var i = 0; i < plane; i++)
            {
                var level = Math.Round(255 * ((channel[i] * std) + mean), MidpointRounding.ToEven);
                pixels[(3 * i) + c] = level >= 255 ? (byte)255 : level >= 0 ? (byte)level : (byte)0;
            }
        }

        return image;
    }

    private void ProcessInto(RgbImage image, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        int channels = Card.Channels, height = Card.Height, width = Card.Width;
        var cropped = ArrayPool<byte>.Shared.Rent(height * width * channels);
        try
        {
            var pixels = cropped.AsSpan(0, height * width * channels);
            ResizeCrop(image, pixels);

            ToPlanes(pixels, channels, destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(cropped);
        }
    }

    /// <summary>Resize and CenterCrop of <paramref name="image"/> (as luma for one channel) into HWC bytes of the card's channels.</summary>
    private void ResizeCrop(RgbImage image, Span<byte> pixels)
    {
        int channels = Card.Channels, height = Card.Height, width = Card.Width;
        var (resizedHeight, resizedWidth) = ResizedSize(image.Height, image.Width);
        var top = CropOffset(resizedHeight, height);
        var left = CropOffset(resizedWidth, width);

        byte[]? gray = null;
        try
        {
            ReadOnlySpan<byte> source = image.Pixels;
            if (channels == 1)
            {
                gray = ArrayPool<byte>.Shared.Rent(image.Width * image.Height);
                source = ToLuma(source, gray);
            }

            PillowResample.ResizeCrop(source, image.Width, image.Height, channels, resizedWidth, resizedHeight, left, top, width, height, pixels);
        }
        finally
        {
            if (gray is not null)
            {
                ArrayPool<byte>.Shared.Return(gray);
            }
        }
    }

    /// <summary>Interleaved bytes to channel planes of normalised floats through the lookup table.</summary>
    private unsafe void ToPlanes(ReadOnlySpan<byte> pixels, int channels, Span<float> destination)
    {
        var plane = pixels.Length / channels;
        fixed (byte* source = pixels)
        fixed (float* output = destination, lut = _lut)
        {
            for (var c = 0; c < channels; c++)
            {
                var table = lut + (c * 256);
                var p = source + c;
                var o = output + ((nint)c * plane);
                for (var i = 0; i < plane; i++, p += channels)
                {
                    o[i] = table[*p];
                }
            }
        }
    }

    /// <summary>
    /// torchvision's <c>_compute_resized_output_size</c>: the shorter side becomes
    /// <see cref="ModelCard.Resize"/>, the longer <c>int(resize * long / short)</c>.
    /// </summary>
    public (int Height, int Width) ResizedSize(int imageHeight, int imageWidth)
    {
        if (Card.Resize is not { } size)
        {
            return (Card.Height, Card.Width);
        }

        var (shorter, longer) = imageWidth <= imageHeight ? (imageWidth, imageHeight) : (imageHeight, imageWidth);
        var newLonger = (double)((long)size * longer) / shorter;
        if (newLonger > int.MaxValue)
        {
            throw new ArgumentException($"A {imageWidth}x{imageHeight} image is too elongated to resize its shorter side to {size}.");
        }

        return imageWidth <= imageHeight ? ((int)newLonger, size) : (size, (int)newLonger);
    }

    /// <summary>
    /// torchvision's CenterCrop offset: <c>int(round((image - crop) / 2.0))</c> with Python's
    /// round-half-to-even; a crop larger than the image is padded by <c>(crop - image) // 2</c> first.
    /// </summary>
    public static int CropOffset(int imageSize, int cropSize) =>
        cropSize > imageSize ? -((cropSize - imageSize) / 2) : (int)Math.Round((imageSize - cropSize) / 2.0, MidpointRounding.ToEven);

    /// <summary>Pillow's RGB to "L": (R*19595 + G*38470 + B*7471 + 0x8000) >> 16, i.e. ITU-R 601-2 luma rounded.</summary>
    public static ReadOnlySpan<byte> ToLuma(ReadOnlySpan<byte> rgb, byte[] buffer)
    {
        var gray = buffer.AsSpan(0, rgb.Length / 3);
        for (int i = 0, p = 0; i < gray.Length; i++, p += 3)
        {
            gray[i] = (byte)(((rgb[p] * 19595) + (rgb[p + 1] * 38470) + (rgb[p + 2] * 7471) + 0x8000) >> 16);
        }

        return gray;
    }
}
