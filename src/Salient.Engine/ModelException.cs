namespace Salient.Engine;

/// <summary>
/// A model that cannot be loaded or run as asked: a malformed file, an unsupported operator, or an
/// input of the wrong shape. The message names the model file and, where one is at fault, the node.
/// </summary>
public sealed class ModelException : Exception
{
    /// <summary>Creates the exception with a message that already names the model.</summary>
    public ModelException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message that already names the model, and its cause.</summary>
    public ModelException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with an empty message.</summary>
    public ModelException()
    {
    }
}
