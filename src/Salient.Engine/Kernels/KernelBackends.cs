using System.Collections.Concurrent;
using Salient.Engine.Devices;
using Salient.Engine.Kernels.Cpu;

namespace Salient.Engine.Kernels;

/// <summary>
/// The registry of backends by device kind: a backend project adds its device with one
/// <see cref="Register"/> call, and <see cref="For(Device)"/> gives every caller the one backend
/// instance (and so the one memory pool) of each device. The host's backend, <c>cpu</c>, is always there.
/// </summary>
public static class KernelBackends
{
    private static readonly ConcurrentDictionary<string, Func<Device, IKernelBackend>> s_factories = new(StringComparer.Ordinal)
    {
        ["cpu"] = CreateCpu,
    };

    private static readonly ConcurrentDictionary<Device, Lazy<IKernelBackend>> s_instances = new();

    /// <summary>The CPU backend with the GEMM chosen by <c>SALIENT_GEMM</c>, else the managed one: the default device's.</summary>
    public static IKernelBackend Default => Host;

    /// <summary>The host's backend, for work that stays on the host whatever device a model runs on (masks of perturbation methods).</summary>
    public static IKernelBackend Host => For(Device.Cpu);

    /// <summary>The device kinds registered, in order (e.g. <c>cpu</c>, <c>cuda</c>).</summary>
    public static IReadOnlyList<string> Kinds => [.. s_factories.Keys.Order(StringComparer.Ordinal)];

    /// <summary>
    /// Registers the backend of device kind <paramref name="kind"/>: <paramref name="factory"/>
    /// makes the backend of one device of that kind, once, and throws
    /// <see cref="DeviceUnavailableException"/> when the device or its driver is not there.
    /// </summary>
    /// <exception cref="InvalidOperationException">The kind is registered already.</exception>
    public static void Register(string kind, Func<Device, IKernelBackend> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var key = new Device(kind).Kind;
        if (!s_factories.TryAdd(key, factory))
        {
            throw new InvalidOperationException($"A backend for device kind '{key}' is registered already.");
        }
    }

    /// <summary>The backend of <paramref name="device"/>, made on first use and shared after.</summary>
    /// <exception cref="DeviceUnavailableException">No backend is registered for the device's kind (the message lists those that are), or the device is not there.</exception>
    public static IKernelBackend For(Device device) => For(device, device.ToString());

    private static IKernelBackend For(Device device, string name)
    {
        if (!s_factories.TryGetValue(device.Kind, out var factory))
        {
            throw new DeviceUnavailableException($"Unknown device '{name}': the devices this build knows are {string.Join(", ", Kinds)}.");
        }

        var lazy = s_instances.GetOrAdd(device, d => new Lazy<IKernelBackend>(() => factory(d)));
        try
        {
            return lazy.Value;
        }
        catch (DeviceUnavailableException)
        {
            // A device that was not there may be there later (a driver loaded); do not keep the failure.
            s_instances.TryRemove(new KeyValuePair<Device, Lazy<IKernelBackend>>(device, lazy));
            throw;
        }
    }

    /// <summary>The backend of the device written <paramref name="name"/> (<c>cpu</c>, <c>cuda:1</c>), as <see cref="For(Device)"/>.</summary>
    /// <exception cref="DeviceUnavailableException">The name is not a device, or as <see cref="For(Device)"/>.</exception>
    public static IKernelBackend For(string name)
    {
        Device device;
        try
        {
            device = Device.Parse(name);
        }
        catch (FormatException e)
        {
            throw new DeviceUnavailableException($"{e.Message} The devices this build knows are {string.Join(", ", Kinds)}.", e);
        }

        return For(device, name.Trim());
    }

    private static CpuBackend CreateCpu(Device device) =>
        device.Index == 0 ? new CpuBackend() : throw new DeviceUnavailableException($"Device '{device}' is not there: the host is one device, 'cpu'.");
}
