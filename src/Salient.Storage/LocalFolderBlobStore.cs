using System.Buffers;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;
using Salient.Storage.Internal;

namespace Salient.Storage;

/// <summary>
/// Blobs as files under a root folder, <c>/</c> in names becoming sub-folders. A blob is written whole
/// before it gets its name, so readers never see a partial blob: a create-only write goes to an unnamed
/// file in the blob's folder (Linux) or a temporary file under <c>.incoming/</c> in the root, and is then
/// linked into place, which fails atomically when the blob exists, so concurrent writers cannot clobber
/// each other; an overwrite goes to a temporary file that is renamed over the blob. Writes are not
/// flushed to the disk (no fsync): a blob survives the process, not a crash of the machine. Each write keeps the blob's CRC-64 in an extended attribute of
/// its file (on Linux file systems that have them), and reads check it at the end of the stream, so
/// a file changed on disk fails with <see cref="BlobIntegrityException"/>. Files put into the folder
/// by other means have no checksum and are read as they are. Content types are not kept. The name
/// <c>.incoming</c> is reserved as a first segment.
/// </summary>
public sealed class LocalFolderBlobStore : IBlobStore
{
    private const string IncomingFolder = ".incoming";
    private const int CopyBufferSize = 1024 * 1024;
    // Blobs up to this size are read whole on the caller's thread (records, manifests, images); larger ones are streamed.
    private const int SmallBlob = 4 * 1024 * 1024;
    private readonly string _root;
    private readonly Lazy<bool> _unnamedFiles;

    /// <summary>Opens the store rooted at <paramref name="root"/>, which is created when missing.</summary>
    public LocalFolderBlobStore(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(_root);
        _unnamedFiles = new Lazy<bool>(ProbeUnnamedFiles);
    }

    /// <inheritdoc />
    public string Location => _root;

    /// <inheritdoc />
    public Task PutAsync(string name, Stream content, string? contentType = null, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        return WriteAsync(name, (file, hash) => CopyAsync(content, file, hash, cancellationToken), overwrite, cancellationToken);
    }

    /// <inheritdoc />
    public Task PutAsync(string name, ReadOnlyMemory<byte> content, string? contentType = null, bool overwrite = false, CancellationToken cancellationToken = default) =>
        WriteAsync(
            name,
            (file, hash) =>
            {
                // One write of bytes in memory: at once on this thread, as the file system takes it into its cache.
                hash.Append(content.Span);
                RandomAccess.Write(file, content.Span, 0);
                return ValueTask.CompletedTask;
            },
            overwrite,
            cancellationToken);

    /// <inheritdoc />
    public Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken = default)
    {
        var path = PathOf(name);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BlobNotFoundException(name, _root);
        }

        // Read from the open file, not the path: a blob replaced meanwhile is another file with its own checksum.
        var expected = FileChecksum.TryRead(file.SafeFileHandle);
        if (expected is null)
        {
            return Task.FromResult<Stream>(file);
        }

        return Task.FromResult<Stream>(new CheckedReadStream(file, _ => null, FileChecksum.CreateHash(), actual => Mismatch(name, expected, actual)));
    }

    /// <inheritdoc />
    public async Task<byte[]> ReadAllBytesAsync(string name, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (ReadSmall(name) is { } bytes)
        {
            return bytes;
        }

        var stream = await OpenReadAsync(name, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await CheckedReadStream.ReadToEndAsync(stream, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads a blob of at most <see cref="SmallBlob"/> bytes at once on this thread, as <see cref="OpenReadAsync"/>
    /// would verify it, without a stream's buffers and read-ahead; null for a larger blob, which is streamed.
    /// </summary>
    private byte[]? ReadSmall(string name)
    {
        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(PathOf(name), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BlobNotFoundException(name, _root);
        }

        using (file)
        {
            var length = RandomAccess.GetLength(file);
            if (length > SmallBlob)
            {
                return null;
            }

            var expected = FileChecksum.TryRead(file);
            var bytes = new byte[length];
            var read = 0;
            for (int n; read < bytes.Length && (n = RandomAccess.Read(file, bytes.AsSpan(read), read)) > 0;)
            {
                read += n;
            }

            // A file that shrank meanwhile reads as far as it goes (and fails its checksum, if it has one).
            bytes = read == bytes.Length ? bytes : bytes[..read];
            if (expected is not null)
            {
                var hash = FileChecksum.CreateHash();
                hash.Append(bytes);
                if (Mismatch(name, expected, hash.GetCurrentHash()) is { } error)
                {
                    throw error;
                }
            }

            return bytes;
        }
    }

    private BlobIntegrityException? Mismatch(string name, byte[] expected, byte[] actual) =>
        actual.AsSpan().SequenceEqual(expected) ? null
            : new BlobIntegrityException(name, _root, $"the CRC-64 stored with it is {Convert.ToHexString(expected)}, the bytes read hash to {Convert.ToHexString(actual)}.");

    /// <inheritdoc />
    public Task<bool> ExistsAsync(string name, CancellationToken cancellationToken = default) => Task.FromResult(File.Exists(PathOf(name)));

    /// <inheritdoc />
    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        var path = PathOf(name);
        if (!File.Exists(path))
        {
            return Task.FromResult(false);
        }

        File.Delete(path);
        return Task.FromResult(true);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<BlobItem> ListAsync(string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        BlobNames.ValidatePrefix(prefix);
        foreach (var item in List(prefix))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return item;
        }
    }

    private IEnumerable<BlobItem> List(string prefix)
    {
        // Only the folder named by the prefix's complete segments can hold matches.
        var folder = Path.Combine([_root, .. BlobNames.Segments(prefix[..(prefix.LastIndexOf('/') + 1)])]);
        if (!Directory.Exists(folder))
        {
            return [];
        }

        var incoming = Path.Combine(_root, IncomingFolder) + Path.DirectorySeparatorChar;
        return Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(path => !path.StartsWith(incoming, StringComparison.Ordinal))
            .Select(path => new BlobItem(Path.GetRelativePath(_root, path).Replace(Path.DirectorySeparatorChar, '/'), new FileInfo(path).Length))
            .Where(item => item.Name.StartsWith(prefix, StringComparison.Ordinal))
            .OrderBy(item => item.Name, StringComparer.Ordinal);
    }

    /// <summary>The file of blob <paramref name="name"/>; refuses names that are invalid, reserved or leave the root.</summary>
    private string PathOf(string name)
    {
        BlobNames.Validate(name);
        var segments = BlobNames.Segments(name);
        if (segments[0] == IncomingFolder)
        {
            throw new ArgumentException($"Blob name '{name}' is not allowed: '{IncomingFolder}/' holds the local store's unfinished writes.", nameof(name));
        }

        var path = Path.GetFullPath(Path.Combine([_root, .. segments]));
        // Validation already rules out '..'; this also guards against rooted segments on other platforms.
        if (!path.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Blob name '{name}' is not allowed: it resolves outside {_root}.", nameof(name));
        }

        return path;
    }

    private static async ValueTask CopyAsync(Stream source, SafeFileHandle file, NonCryptographicHashAlgorithm hash, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            var offset = 0L;
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, CopyBufferSize), cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.Append(buffer.AsSpan(0, read));
                await RandomAccess.WriteAsync(file, buffer.AsMemory(0, read), offset, cancellationToken).ConfigureAwait(false);
                offset += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Writes the blob with <paramref name="write"/> and puts it in place with its checksum: a create-only write as an
    /// unnamed file in the blob's folder where the file system has them, otherwise (and to overwrite) through a
    /// temporary file.
    /// </summary>
    private async Task WriteAsync(string name, Func<SafeFileHandle, NonCryptographicHashAlgorithm, ValueTask> write, bool overwrite, CancellationToken cancellationToken)
    {
        var path = PathOf(name);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            if (!overwrite && UnnamedFiles && CreateUnnamed(path) is { } file)
            {
                using (file)
                {
                    await WriteWithChecksumAsync(file, write).ConfigureAwait(false);
                    if (!UnnamedFile.TryName(file, path))
                    {
                        throw new BlobAlreadyExistsException(name, _root);
                    }
                }

                return;
            }

            await WriteThroughTemporaryAsync(name, path, write, overwrite).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BlobStoreException($"Cannot write blob '{name}' to {_root}: {e.Message}", name, null, null, e);
        }
    }

    /// <summary>An unnamed file in the folder of <paramref name="path"/>, which is created when missing; null where its file system has none.</summary>
    private static SafeFileHandle? CreateUnnamed(string path)
    {
        var folder = Path.GetDirectoryName(path)!;
        try
        {
            return UnnamedFile.TryCreate(folder);
        }
        catch (DirectoryNotFoundException)
        {
            // Folders are made on the first write into them, not checked on every write.
            Directory.CreateDirectory(folder);
            return UnnamedFile.TryCreate(folder);
        }
    }

    private async Task WriteThroughTemporaryAsync(string name, string path, Func<SafeFileHandle, NonCryptographicHashAlgorithm, ValueTask> write, bool overwrite)
    {
        var incoming = Path.Combine(_root, IncomingFolder);
        var temp = Path.Combine(incoming, Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(incoming);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using (var file = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                await WriteWithChecksumAsync(file, write).ConfigureAwait(false);
            }

            if (overwrite)
            {
                File.Move(temp, path, overwrite: true);
            }
            else if (!NoClobberMove.TryMove(temp, path))
            {
                throw new BlobAlreadyExistsException(name, _root);
            }
        }
        finally
        {
            // The root may have gone (an unmounted volume): the exception the write throws says so, not one from here.
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    private static async ValueTask WriteWithChecksumAsync(SafeFileHandle file, Func<SafeFileHandle, NonCryptographicHashAlgorithm, ValueTask> write)
    {
        var hash = FileChecksum.CreateHash();
        await write(file, hash).ConfigureAwait(false);
        FileChecksum.TryWrite(file, hash.GetCurrentHash());
    }

    /// <summary>
    /// Whether create-only writes use unnamed files: tried once per store, by naming one in the folder of unfinished
    /// writes (the kernel, the root's file system and <c>/proc</c> must all allow it).
    /// </summary>
    private bool UnnamedFiles => _unnamedFiles.Value;

    private bool ProbeUnnamedFiles()
    {
        if (!UnnamedFile.Supported)
        {
            return false;
        }

        var incoming = Path.Combine(_root, IncomingFolder);
        var probe = Path.Combine(incoming, "probe-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(incoming);
            using (var file = UnnamedFile.TryCreate(incoming))
            {
                if (file is null || !UnnamedFile.TryName(file, probe))
                {
                    return false;
                }
            }

            File.Delete(probe);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The temporary file then reports what is wrong with the folder, write by write.
            return false;
        }
    }
}
