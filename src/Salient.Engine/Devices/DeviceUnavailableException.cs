namespace Salient.Engine.Devices;

/// <summary>
/// A device that cannot be used: a name no registered backend knows (the message lists the known
/// ones), or a device, driver or library that is not there. An <see cref="ArgumentException"/>,
/// as the device is what the caller asked for.
/// </summary>
public sealed class DeviceUnavailableException : ArgumentException
{
    /// <summary>Creates the exception with a message that names the device.</summary>
    public DeviceUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message that names the device, and its cause.</summary>
    public DeviceUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with an empty message.</summary>
    public DeviceUnavailableException()
    {
    }
}
