namespace Salient.Storage.Internal;

/// <summary>
/// The body of a downloaded blob: forwards reads, hashes them, and at the end of the stream compares
/// the MD5 with the one the service sent, throwing <see cref="BlobIntegrityException"/> on a
/// mismatch. Disposing it releases the HTTP response.
/// </summary>
internal sealed class VerifyingReadStream : Stream
{
    private readonly Stream _inner;
    private readonly IDisposable _response;
    private readonly byte[]? _expectedMd5;
    private readonly string _blobName;
    private readonly string _location;
    private readonly System.Security.Cryptography.IncrementalHash? _md5;
    private bool _verified;

    internal VerifyingReadStream(Stream inner, IDisposable response, byte[]? expectedMd5, string blobName, string location)
    {
        _inner = inner;
        _response = response;
        _expectedMd5 = expectedMd5;
        _blobName = blobName;
        _location = location;
        _md5 = expectedMd5 is null ? null : ContentMd5.CreateIncremental();
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

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) => Account(buffer, _inner.Read(buffer));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Account(buffer.Span, read);
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
            _response.Dispose();
            _md5?.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Hashes the <paramref name="read"/> bytes just read into <paramref name="buffer"/>; verifies at the end of the stream.</summary>
    private int Account(Span<byte> buffer, int read)
    {
        if (_md5 is null || _verified || buffer.Length == 0)
        {
            return read;
        }

        if (read > 0)
        {
            _md5.AppendData(buffer[..read]);
            return read;
        }

        _verified = true;
        var actual = _md5.GetHashAndReset();
        if (!actual.AsSpan().SequenceEqual(_expectedMd5))
        {
            throw new BlobIntegrityException(_blobName, _location, Convert.ToBase64String(_expectedMd5!), Convert.ToBase64String(actual));
        }

        return 0;
    }
}
