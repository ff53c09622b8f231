namespace Salient.Storage;

/// <summary>A blob as listed by <see cref="IBlobStore.ListAsync"/>.</summary>
/// <param name="Name">The blob's full name.</param>
/// <param name="Size">Its length in bytes.</param>
public readonly record struct BlobItem(string Name, long Size);
