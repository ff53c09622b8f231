namespace Salient.Imaging;

/// <summary>
/// An image could not be decoded: unreadable, empty, truncated, corrupt, of an unsupported
/// format, or larger than the configured pixel limit. The message names the input and the problem.
/// </summary>
public sealed class ImageDecodeException : Exception
{
    /// <summary>Creates an exception for <paramref name="inputName"/> describing <paramref name="problem"/>.</summary>
    public ImageDecodeException(string inputName, string problem, Exception? innerException = null)
        : base($"Cannot decode image '{inputName}': {problem}", innerException)
    {
        InputName = inputName;
    }

    /// <summary>The path or caller-supplied name of the input that failed.</summary>
    public string InputName { get; }
}
