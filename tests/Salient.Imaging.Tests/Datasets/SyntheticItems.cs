using System.Buffers.Binary;
using System.IO.Compression;
using Salient.Imaging.Datasets;

namespace Salient.Imaging.Tests.Datasets;

/// <summary>Small stand-ins for Fashion-MNIST, so no test needs the real dataset installed.</summary>
internal static class SyntheticItems
{
    /// <summary><paramref name="perClass"/> items of each of the first <paramref name="classes"/> classes: textured ellipses of varying shape.</summary>
    public static (byte[] Pixels, byte[] Labels) Make(int perClass, int classes = 10)
    {
        const int n = FashionMnist.Side;
        var random = new Random(7);
        var labels = new byte[perClass * classes];
        var pixels = new byte[labels.Length * n * n];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = (byte)(i % classes);
            double rx = random.Next(4, 13), ry = random.Next(4, 13);
            for (var y = 0; y < n; y++)
            {
                for (var x = 0; x < n; x++)
                {
                    var d = Math.Pow((x - 13.5) / rx, 2) + Math.Pow((y - 13.5) / ry, 2);
                    pixels[(i * n * n) + (y * n) + x] = d <= 1 ? (byte)random.Next(80, 256) : (byte)random.Next(0, 20);
                }
            }
        }

        return (pixels, labels);
    }

    public static FashionMnist Dataset(int perClass = 3, int classes = 10)
    {
        var (pixels, labels) = Make(perClass, classes);
        return new FashionMnist(pixels, labels);
    }

    /// <summary>Writes an IDX file: big-endian magic, count, then <paramref name="dims"/>, then <paramref name="data"/>.</summary>
    public static void WriteIdx(string path, int magic, int count, int[] dims, ReadOnlySpan<byte> data, bool gzip)
    {
        using var file = File.Create(path);
        using var stream = gzip ? new GZipStream(file, CompressionLevel.Fastest) : (Stream)file;
        var header = new byte[4 * (2 + dims.Length)];
        BinaryPrimitives.WriteInt32BigEndian(header, magic);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), count);
        for (var d = 0; d < dims.Length; d++)
        {
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8 + (4 * d)), dims[d]);
        }

        stream.Write(header);
        stream.Write(data);
    }
}
