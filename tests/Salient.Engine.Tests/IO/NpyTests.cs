using System.Buffers.Binary;
using System.Text;
using Salient.Engine.IO;

namespace Salient.Engine.Tests.IO;

public sealed class NpyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("salient-npy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly byte[] Magic = [0x93, .. "NUMPY"u8];

    // Lays out a file the way numpy.lib.format does: magic, version, header length, dict, padding, '\n'.
    private static byte[] NpyBytes(int major, string dict, byte[] body)
    {
        var prefix = major == 1 ? 10 : 12;
        var padded = (prefix + dict.Length + 1 + 63) / 64 * 64 - prefix;
        var header = Encoding.UTF8.GetBytes(dict.PadRight(padded - 1) + "\n");
        var bytes = new byte[prefix + header.Length + body.Length];
        Magic.CopyTo(bytes, 0);
        bytes[6] = (byte)major;
        if (major == 1)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)header.Length);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)header.Length);
        }

        header.CopyTo(bytes, prefix);
        body.CopyTo(bytes, prefix + header.Length);
        return bytes;
    }

    private static string Dict(string descr, string shape, bool fortran = false) =>
        $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shape}, }}";

    private string WriteFile(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Theory]
    [InlineData(new int[] { 2, 3, 4 })]
    [InlineData(new int[] { 5 })]
    [InlineData(new int[] { })]
    [InlineData(new int[] { 0, 3 })]
    public void Write_then_read_round_trips_shape_and_values(int[] shape)
    {
        var count = 1;
        foreach (var d in shape)
        {
            count *= d;
        }

        var data = Enumerable.Range(0, count).Select(i => i * 0.25f - 3f).ToArray();
        var path = Path.Combine(_dir, "round.npy");
        Npy.Write(path, data, shape);

        using var t = Npy.Read(path);
        Assert.Equal(shape, t.ShapeArray());
        Assert.Equal(data, t.Span.ToArray());
        Assert.Equal(0, new FileInfo(path).Length % 4);
    }

    [Fact]
    public void Written_header_is_what_numpy_writes()
    {
        var path = Path.Combine(_dir, "h.npy");
        using (var t = Tensor.Zeros(3))
        {
            Npy.Write(path, t);
        }

        var bytes = File.ReadAllBytes(path);
        var header = Encoding.ASCII.GetString(bytes, 10, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)));
        Assert.Equal(1, bytes[6]);
        Assert.Equal(128 + 12, bytes.Length);
        Assert.Equal("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", header.TrimEnd());
        Assert.EndsWith("\n", header, StringComparison.Ordinal);
    }

    [Fact]
    public void Reads_float64_int64_int32_and_uint8_as_float32()
    {
        var f8 = new byte[16];
        BinaryPrimitives.WriteDoubleLittleEndian(f8, 1.5);
        BinaryPrimitives.WriteDoubleLittleEndian(f8.AsSpan(8), -2.25);
        var i8 = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(i8, -7);
        BinaryPrimitives.WriteInt64LittleEndian(i8.AsSpan(8), 1L << 40);
        var i4 = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(i4, 123);
        BinaryPrimitives.WriteInt32LittleEndian(i4.AsSpan(4), -9);

        using var a = Npy.Read(WriteFile("f8.npy", NpyBytes(1, Dict("<f8", "(2,)"), f8)));
        using var b = Npy.Read(WriteFile("i8.npy", NpyBytes(1, Dict("<i8", "(1, 2)"), i8)));
        using var c = Npy.Read(WriteFile("i4.npy", NpyBytes(1, Dict("<i4", "(2, 1)"), i4)));
        using var d = Npy.Read(WriteFile("u1.npy", NpyBytes(1, Dict("|u1", "(3,)"), [0, 128, 255])));

        Assert.Equal([1.5f, -2.25f], a.Span.ToArray());
        Assert.Equal([-7f, 1L << 40], b.Span.ToArray());
        Assert.Equal([1, 2], b.ShapeArray());
        Assert.Equal([123f, -9f], c.Span.ToArray());
        Assert.Equal([2, 1], c.ShapeArray());
        Assert.Equal([0f, 128f, 255f], d.Span.ToArray());
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Reads_format_versions_2_and_3(int major)
    {
        var body = new byte[8];
        BinaryPrimitives.WriteSingleLittleEndian(body, 4f);
        BinaryPrimitives.WriteSingleLittleEndian(body.AsSpan(4), 5f);

        using var t = Npy.Read(WriteFile("v.npy", NpyBytes(major, Dict("<f4", "(1, 2)"), body)));

        Assert.Equal([1, 2], t.ShapeArray());
        Assert.Equal([4f, 5f], t.Span.ToArray());
    }

    [Theory]
    [InlineData("fortran.npy", "fortran", "Fortran")]
    [InlineData("bigendian.npy", "big", "'>f4'")]
    [InlineData("short.npy", "short", "needs 16 data bytes, the file has 8")]
    [InlineData("notnpy.npy", "garbage", "not a .npy file")]
    [InlineData("version.npy", "version", "format version 9")]
    public void Bad_files_fail_with_a_message_naming_the_file(string file, string kind, string expected)
    {
        byte[] bytes = kind switch
        {
            "fortran" => NpyBytes(1, Dict("<f4", "(2, 2)", fortran: true), new byte[16]),
            "big" => NpyBytes(1, Dict(">f4", "(2,)"), new byte[8]),
            "short" => NpyBytes(1, Dict("<f4", "(4,)"), new byte[8]),
            "version" => [.. Magic, 9, 0, 0, 0, 0, 0],
            _ => "hello world, not numpy"u8.ToArray(),
        };
        var path = WriteFile(file, bytes);

        var e = Assert.Throws<InvalidDataException>(() => Npy.Read(path));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_names_the_file()
    {
        var path = Path.Combine(_dir, "absent.npy");
        var e = Assert.Throws<IOException>(() => Npy.Read(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }
}
