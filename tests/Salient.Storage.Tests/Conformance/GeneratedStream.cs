using System.IO.Hashing;

namespace Salient.Storage.Tests.Conformance;

/// <summary>
/// A read-only, non-seekable stream of <c>length</c> deterministic bytes made on the fly (a pseudo-random
/// pattern whose period, a prime, does not divide any block size), so a test can send hundreds of MiB
/// without holding them. <see cref="Produced"/> is called with the running total after each read, and
/// may throw to make the source fail.
/// </summary>
internal sealed class GeneratedStream(long length, int seed = 1) : Stream
{
    private const int Period = 1_048_573;
    private static readonly Dictionary<int, byte[]> Patterns = [];
    private readonly byte[] _pattern = PatternFor(seed);
    private long _position;

    public Action<long>? Produced { get; init; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>The 64-bit XXH3 of the bytes such a stream produces.</summary>
    public static ulong HashOf(long length, int seed = 1) => HashOfAsync(new GeneratedStream(length, seed)).GetAwaiter().GetResult();

    /// <summary>Reads <paramref name="stream"/> to its end in 1 MiB reads, returning the XXH3 of its bytes.</summary>
    public static async Task<ulong> HashOfAsync(Stream stream)
    {
        var hash = new XxHash3();
        var buffer = new byte[1024 * 1024];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            hash.Append(buffer.AsSpan(0, read));
        }

        return hash.GetCurrentHashAsUInt64();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var count = (int)Math.Min(buffer.Length, length - _position);
        for (var filled = 0; filled < count;)
        {
            var start = (int)((_position + filled) % Period);
            var run = Math.Min(count - filled, Period - start);
            _pattern.AsSpan(start, run).CopyTo(buffer[filled..]);
            filled += run;
        }

        _position += count;
        Produced?.Invoke(_position);
        return count;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private static byte[] PatternFor(int seed)
    {
        lock (Patterns)
        {
            if (!Patterns.TryGetValue(seed, out var pattern))
            {
                pattern = new byte[Period];
                new Random(seed).NextBytes(pattern);
                Patterns[seed] = pattern;
            }

            return pattern;
        }
    }
}
