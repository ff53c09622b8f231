using System.Runtime.InteropServices;
using Salient.Engine.Graph;
using Salient.Engine.Memory;
using Salient.Engine.Onnx.Protos;

namespace Salient.Engine.Onnx;

/// <summary>Turns ONNX TensorProtos (initializers and Constant values) into constants.</summary>
internal static class TensorProtoReader
{
    public static ConstantValue Read(TensorProto proto, string modelDirectory, string context)
    {
        var shape = new int[proto.Dims.Count];
        for (var i = 0; i < shape.Length; i++)
        {
            if (proto.Dims[i] is < 0 or > int.MaxValue)
            {
                throw new ModelException($"{context}: tensor '{proto.Name}' has an invalid dimension {proto.Dims[i]}.");
            }

            shape[i] = (int)proto.Dims[i];
        }

        int count;
        try
        {
            count = Tensor.CheckedLength(shape);
        }
        catch (ArgumentException e)
        {
            throw new ModelException($"{context}: tensor '{proto.Name}': {e.Message}", e);
        }

        var type = (TensorProto.Types.DataType)proto.DataType;
        var raw = proto.DataLocation == TensorProto.Types.DataLocation.External
            ? ReadExternal(proto, modelDirectory, count * ElementSize(type, proto, context), context)
            : proto.RawData.Length > 0 ? RawBytes(proto.RawData) : default;

        if (raw.Array is not null && raw.Count != count * ElementSize(type, proto, context))
        {
            throw new ModelException($"{context}: tensor '{proto.Name}' of shape [{Tensor.FormatShape(shape)}] should hold {count * ElementSize(type, proto, context)} bytes of {type}, it holds {raw.Count}.");
        }

        switch (type)
        {
            case TensorProto.Types.DataType.Float:
                if (raw.Array is not null)
                {
                    // The weights stay in the array the parser read them into.
                    var memory = new ByteArrayFloatMemory(raw.Array, raw.Offset, count).Memory;
                    return ConstantValue.FromFloats(Tensor.Wrap(memory, shape));
                }

                CheckCount(proto.FloatData.Count, count, proto, context);
                return ConstantValue.FromFloats(Tensor.Wrap(proto.FloatData.ToArray(), shape));

            case TensorProto.Types.DataType.Double:
                var doubles = raw.Array is not null ? MemoryMarshal.Cast<byte, double>(raw.AsSpan()).ToArray() : proto.DoubleData.ToArray();
                CheckCount(doubles.Length, count, proto, context);
                return ConstantValue.FromFloats(Tensor.Wrap(Array.ConvertAll(doubles, d => (float)d), shape));

            case TensorProto.Types.DataType.Float16:
                var halves = raw.Array is not null
                    ? MemoryMarshal.Cast<byte, Half>(raw.AsSpan()).ToArray()
                    : proto.Int32Data.Select(v => BitConverter.UInt16BitsToHalf((ushort)v)).ToArray();
                CheckCount(halves.Length, count, proto, context);
                return ConstantValue.FromFloats(Tensor.Wrap(Array.ConvertAll(halves, h => (float)h), shape));

            case TensorProto.Types.DataType.Int64:
                var longs = raw.Array is not null ? MemoryMarshal.Cast<byte, long>(raw.AsSpan()).ToArray() : proto.Int64Data.ToArray();
                CheckCount(longs.Length, count, proto, context);
                return ConstantValue.FromInts(longs, shape);

            case TensorProto.Types.DataType.Int32:
            case TensorProto.Types.DataType.Int16:
            case TensorProto.Types.DataType.Int8:
            case TensorProto.Types.DataType.Uint8:
            case TensorProto.Types.DataType.Bool:
                var ints = raw.Array is not null ? WidenRaw(raw.AsSpan(), type) : proto.Int32Data.Select(v => (long)v).ToArray();
                CheckCount(ints.Length, count, proto, context);
                return ConstantValue.FromInts(ints, shape);

            default:
                throw new ModelException($"{context}: tensor '{proto.Name}' has data type {type}, which Salient does not read.");
        }
    }

    private static ArraySegment<byte> RawBytes(Google.Protobuf.ByteString bytes) =>
        MemoryMarshal.TryGetArray(bytes.Memory, out var segment) ? segment : new ArraySegment<byte>(bytes.ToByteArray());

    private static long[] WidenRaw(ReadOnlySpan<byte> raw, TensorProto.Types.DataType type) => type switch
    {
        TensorProto.Types.DataType.Int32 => Array.ConvertAll(MemoryMarshal.Cast<byte, int>(raw).ToArray(), v => (long)v),
        TensorProto.Types.DataType.Int16 => Array.ConvertAll(MemoryMarshal.Cast<byte, short>(raw).ToArray(), v => (long)v),
        TensorProto.Types.DataType.Int8 => Array.ConvertAll(MemoryMarshal.Cast<byte, sbyte>(raw).ToArray(), v => (long)v),
        _ => Array.ConvertAll(raw.ToArray(), v => (long)v),
    };

    private static int ElementSize(TensorProto.Types.DataType type, TensorProto proto, string context) => type switch
    {
        TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Int32 => 4,
        TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Int64 => 8,
        TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Int16 => 2,
        TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Bool => 1,
        _ => throw new ModelException($"{context}: tensor '{proto.Name}' has data type {type}, which Salient does not read."),
    };

    private static void CheckCount(int actual, int expected, TensorProto proto, string context)
    {
        if (actual != expected)
        {
            throw new ModelException($"{context}: tensor '{proto.Name}' should hold {expected} values, it holds {actual}.");
        }
    }

    /// <summary>Reads a tensor stored outside the model file, straight into the array it will live in.</summary>
    private static ArraySegment<byte> ReadExternal(TensorProto proto, string modelDirectory, int expectedBytes, string context)
    {
        string? location = null;
        long offset = 0;
        long length = -1;
        foreach (var entry in proto.ExternalData)
        {
            switch (entry.Key)
            {
                case "location": location = entry.Value; break;
                case "offset": offset = long.Parse(entry.Value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "length": length = long.Parse(entry.Value, System.Globalization.CultureInfo.InvariantCulture); break;
            }
        }

        if (string.IsNullOrEmpty(location) || Path.IsPathRooted(location))
        {
            throw new ModelException($"{context}: tensor '{proto.Name}' names external data without a relative location.");
        }

        // External files must lie beside the model: a location may not climb out of its folder.
        var root = Path.GetFullPath(modelDirectory);
        var path = Path.GetFullPath(Path.Combine(root, location));
        if (!path.StartsWith(root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ModelException($"{context}: tensor '{proto.Name}' names external data '{location}' outside the model's folder.");
        }

        if (length >= 0 && length != expectedBytes)
        {
            throw new ModelException($"{context}: tensor '{proto.Name}' declares {length} bytes of external data, its shape needs {expectedBytes}.");
        }

        try
        {
            using var handle = File.OpenHandle(path);
            var fileLength = RandomAccess.GetLength(handle);
            if (offset < 0 || offset + expectedBytes > fileLength)
            {
                throw new ModelException($"{context}: tensor '{proto.Name}' needs bytes {offset}..{offset + expectedBytes} of '{location}', which has {fileLength}.");
            }

            var bytes = GC.AllocateUninitializedArray<byte>(expectedBytes);
            var read = 0;
            while (read < expectedBytes)
            {
                var n = RandomAccess.Read(handle, bytes.AsSpan(read), offset + read);
                if (n == 0)
                {
                    throw new ModelException($"{context}: external data file '{location}' ended early.");
                }

                read += n;
            }

            return bytes;
        }
        catch (IOException e)
        {
            throw new ModelException($"{context}: cannot read external data '{location}' of tensor '{proto.Name}': {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ModelException($"{context}: cannot read external data '{location}' of tensor '{proto.Name}': {e.Message}", e);
        }
    }
}
