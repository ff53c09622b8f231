using System.IO.Hashing;

namespace Salient.Storage.Internal;

/// <summary>
/// The body of a blob being read: forwards reads to the store's stream, turns the store's failures
/// into this library's exceptions, and, when the store kept a checksum, hashes what is read and
/// compares at the end of the stream. Disposing it disposes the store's stream.
/// </summary>
internal sealed class CheckedReadStream : Stream
{
    private readonly Stream _inner;
    private readonly Func<Exception, Exception?> _translate;
    private readonly NonCryptographicHashAlgorithm? _hash;
    private readonly Func<byte[], Exception?>? _verify;
    private bool _ended;

    /// <param name="inner">The store's stream.</param>
    /// <param name="translate">The exception to throw instead of one the store's stream threw; null keeps it.</param>
    /// <param name="hash">Hashes the bytes read, when the store kept a checksum.</param>
    /// <param name="verify">Given the hash of all the bytes, the exception for a mismatch, or null.</param>
    internal CheckedReadStream(Stream inner, Func<Exception, Exception?> translate, NonCryptographicHashAlgorithm? hash = null, Func<byte[], Exception?>? verify = null)
    {
        _inner = inner;
        _translate = translate;
        _hash = hash;
        _verify = verify;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Reads <paramref name="stream"/> to its end into one array.</summary>
    internal static async Task<byte[]> ReadToEndAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        try
        {
            return Account(buffer, _inner.Read(buffer));
        }
        catch (Exception e) when (_translate(e) is { } translated)
        {
            throw translated;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            var read = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            return Account(buffer.Span, read);
        }
        catch (Exception e) when (_translate(e) is { } translated)
        {
            throw translated;
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await _inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Hashes the <paramref name="read"/> bytes just read into <paramref name="buffer"/>; verifies at the end of the stream.</summary>
    private int Account(Span<byte> buffer, int read)
    {
        if (_hash is null || _ended || buffer.Length == 0)
        {
            return read;
        }

        if (read > 0)
        {
            _hash.Append(buffer[..read]);
            return read;
        }

        _ended = true;
        var mismatch = _verify!(_hash.GetHashAndReset());
        return mismatch is null ? 0 : throw mismatch;
    }
}
