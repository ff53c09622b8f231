using System.CommandLine;
using Salient.Engine.Cuda;
using Salient.Engine.Devices;
using Salient.Engine.Kernels;

namespace Salient.Cli;

/// <summary>
/// The <c>--device</c> option of the commands that run a model: a device name (<c>cpu</c>,
/// <c>cuda:1</c>) resolved through the backend registry while the command line is parsed, so an
/// unknown or absent device is a usage error that names the devices there are.
/// </summary>
internal static class DeviceOption
{
    // The backends this build ships besides the host's: cuda[:N] and ilgpu (ILGPU's CPU accelerator, for testing).
    static DeviceOption() => GpuBackend.Register();

    /// <summary>The devices a worker silo declares (<c>--devices</c>), each one that this build can open, as written.</summary>
    public static IReadOnlyList<string> ParseList(string text, string option)
    {
        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var name in names)
        {
            try
            {
                _ = KernelBackends.For(name);
            }
            catch (DeviceUnavailableException e)
            {
                throw new ArgumentException($"{option}: {e.Message}", e);
            }
        }

        return names.Length > 0 ? names : throw new ArgumentException($"{option}: no device named.");
    }

    public static Option<Device> Create() => new("--device")
    {
        Description = $"Where the model computes: {string.Join(", ", KernelBackends.Kinds)} (a kind, optionally :N for the N-th device of that kind).",
        DefaultValueFactory = _ => Device.Cpu,
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "cpu";
            try
            {
                var backend = KernelBackends.For(text);
                return backend.Device;
            }
            catch (DeviceUnavailableException e)
            {
                result.AddError($"--device: {e.Message}");
                return Device.Cpu;
            }
        },
    };
}
