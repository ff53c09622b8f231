using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Salient.Engine.IO;

/// <summary>
/// Reads and writes NumPy <c>.npy</c> files (format versions 1.0, 2.0 and 3.0) as float32
/// tensors. Reading accepts little-endian <c>&lt;f4</c>, <c>&lt;f8</c>, <c>&lt;i8</c>,
/// <c>&lt;i4</c> and <c>|u1</c> arrays in C order and converts them to float32; writing always
/// produces <c>&lt;f4</c>. Every failure is an <see cref="InvalidDataException"/> (or the
/// <see cref="IOException"/> of the file system) whose message names the file.
/// </summary>
public static class Npy
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads the array in <paramref name="path"/> as a pooled float32 tensor of the same shape.</summary>
    public static Tensor Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot read '{path}': {e.Message}", e);
        }

        return Read(bytes, path);
    }

    /// <summary>
    /// Parses an in-memory <c>.npy</c> file; <paramref name="name"/> identifies it in error messages.
    /// </summary>
    public static Tensor Read(ReadOnlySpan<byte> data, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var (header, bodyStart) = SplitHeader(data, name);
        var body = data[bodyStart..];
        var (dtype, shape) = ParseHeader(header, name);
        var count = Tensor.CheckedLength(shape);
        if ((long)count * dtype.Size != body.Length)
        {
            throw Invalid(name, $"shape ({string.Join(", ", shape)}) of '{dtype.Descr}' needs {(long)count * dtype.Size} data bytes, the file has {body.Length}");
        }

        var tensor = Tensor.Uninitialized(shape);
        dtype.Convert(body, tensor.Span);
        return tensor;
    }

    /// <summary>Writes <paramref name="tensor"/> to <paramref name="path"/> as a float32 array of its shape.</summary>
    public static void Write(string path, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        Write(path, tensor.Span, tensor.Shape);
    }

    /// <summary>Writes <paramref name="data"/> to <paramref name="path"/> as a float32 array of shape <paramref name="shape"/>.</summary>
    public static void Write(string path, ReadOnlySpan<float> data, ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        Write(stream, data, shape);
    }

    /// <summary>Writes <paramref name="data"/> to <paramref name="stream"/> as a <c>.npy</c> float32 array of shape <paramref name="shape"/>.</summary>
    public static void Write(Stream stream, ReadOnlySpan<float> data, ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (Tensor.CheckedLength(shape) != data.Length)
        {
            throw new ArgumentException($"Shape [{Tensor.FormatShape(shape)}] needs {Tensor.CheckedLength(shape)} elements, the data has {data.Length}.", nameof(data));
        }

        stream.Write(EncodeHeader(shape));
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(data));
        }
        else
        {
            Span<byte> value = stackalloc byte[4];
            foreach (var v in data)
            {
                BinaryPrimitives.WriteSingleLittleEndian(value, v);
                stream.Write(value);
            }
        }
    }

    private static byte[] EncodeHeader(ReadOnlySpan<int> shape)
    {
        var dims = new StringBuilder();
        foreach (var d in shape)
        {
            dims.Append(d.ToString(CultureInfo.InvariantCulture)).Append(", ");
        }

        // NumPy writes a one-element tuple as "(n,)" and drops the trailing comma otherwise.
        var tuple = shape.Length == 1 ? dims.ToString(0, dims.Length - 1) : dims.ToString().TrimEnd(',', ' ');
        var dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({tuple}), }}";

        // Pad with spaces and a newline so the data starts on a 64-byte boundary, as NumPy does.
        var version = dict.Length + 1 + 10 > ushort.MaxValue ? 2 : 1;
        var prefix = version == 1 ? 10 : 12;
        var total = (prefix + dict.Length + 1 + 63) / 64 * 64;
        var header = new byte[total];
        Magic.CopyTo(header);
        header[6] = (byte)version;
        if (version == 1)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), (ushort)(total - prefix));
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), (uint)(total - prefix));
        }

        var text = header.AsSpan(prefix);
        text.Fill((byte)' ');
        Encoding.ASCII.GetBytes(dict, text);
        text[^1] = (byte)'\n';
        return header;
    }

    private static (string Header, int BodyStart) SplitHeader(ReadOnlySpan<byte> data, string name)
    {
        if (data.Length < 10 || !data.StartsWith(Magic))
        {
            throw Invalid(name, "not a .npy file (missing the \\x93NUMPY signature)");
        }

        int major = data[6], prefix;
        long length;
        switch (major)
        {
            case 1:
                prefix = 10;
                length = BinaryPrimitives.ReadUInt16LittleEndian(data[8..]);
                break;
            case 2 or 3 when data.Length >= 12:
                prefix = 12;
                length = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]);
                break;
            default:
                throw Invalid(name, $"unsupported .npy format version {major}.{data[7]}");
        }

        if (prefix + length > data.Length)
        {
            throw Invalid(name, "the header runs past the end of the file (truncated?)");
        }

        var headerBytes = data.Slice(prefix, (int)length);
        var header = major == 3 ? Encoding.UTF8.GetString(headerBytes) : Encoding.Latin1.GetString(headerBytes);
        return (header, prefix + (int)length);
    }

    private static (DType Type, int[] Shape) ParseHeader(string header, string name)
    {
        var descr = ParseQuoted(DictValue(header, "descr", name), "descr", name);
        var fortran = DictValue(header, "fortran_order", name);
        var shapeText = DictValue(header, "shape", name);

        if (fortran.StartsWith("True", StringComparison.Ordinal))
        {
            throw Invalid(name, "the array is stored in Fortran (column-major) order; save it in C order (np.ascontiguousarray) instead");
        }

        if (!fortran.StartsWith("False", StringComparison.Ordinal))
        {
            throw Invalid(name, $"cannot read 'fortran_order' from header {header.Trim()}");
        }

        var type = DType.Parse(descr) ?? throw Invalid(name, $"unsupported dtype '{descr}' (expected little-endian <f4, <f8, <i8, <i4 or |u1)");
        var close = shapeText.IndexOf(')', StringComparison.Ordinal);
        if (!shapeText.StartsWith('(') || close < 0)
        {
            throw Invalid(name, $"cannot read 'shape' from header {header.Trim()}");
        }

        var parts = shapeText[1..close].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var shape = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i].TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]))
            {
                throw Invalid(name, $"bad dimension '{parts[i]}' in shape {shapeText[..(close + 1)]}");
            }
        }

        return (type, shape);
    }

    // The header is a Python dict literal; keys are quoted with ' (NumPy) or " (other writers).
    private static string DictValue(string header, string key, string name)
    {
        foreach (var quote in "'\"")
        {
            var at = header.IndexOf($"{quote}{key}{quote}", StringComparison.Ordinal);
            if (at >= 0)
            {
                var colon = header.IndexOf(':', at + key.Length + 2);
                if (colon >= 0)
                {
                    return header[(colon + 1)..].TrimStart();
                }
            }
        }

        throw Invalid(name, $"the header has no '{key}' entry: {header.Trim()}");
    }

    private static string ParseQuoted(string text, string key, string name)
    {
        if (text.Length > 1 && text[0] is '\'' or '"' && text.IndexOf(text[0], 1) is var end && end > 0)
        {
            return text[1..end];
        }

        throw Invalid(name, $"cannot read '{key}' from the header");
    }

    private static InvalidDataException Invalid(string name, string problem) => new($"'{name}': {problem}.");

    private sealed record DType(string Descr, int Size, DType.Converter Convert)
    {
        public delegate void Converter(ReadOnlySpan<byte> source, Span<float> destination);

        public static DType? Parse(string descr) => descr switch
        {
            "<f4" => new(descr, 4, static (s, d) =>
            {
                if (BitConverter.IsLittleEndian)
                {
                    s.CopyTo(MemoryMarshal.AsBytes(d));
                    return;
                }

                for (var i = 0; i < d.Length; i++)
                {
                    d[i] = BinaryPrimitives.ReadSingleLittleEndian(s[(i * 4)..]);
                }
            }),
            "<f8" => new(descr, 8, static (s, d) =>
            {
                for (var i = 0; i < d.Length; i++)
                {
                    d[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(s[(i * 8)..]);
                }
            }),
            "<i8" => new(descr, 8, static (s, d) =>
            {
                for (var i = 0; i < d.Length; i++)
                {
                    d[i] = BinaryPrimitives.ReadInt64LittleEndian(s[(i * 8)..]);
                }
            }),
            "<i4" => new(descr, 4, static (s, d) =>
            {
                for (var i = 0; i < d.Length; i++)
                {
                    d[i] = BinaryPrimitives.ReadInt32LittleEndian(s[(i * 4)..]);
                }
            }),
            "|u1" or "<u1" => new(descr, 1, static (s, d) =>
            {
                for (var i = 0; i < d.Length; i++)
                {
                    d[i] = s[i];
                }
            }),
            _ => null,
        };
    }
}
