namespace Salient.Engine.Kernels;

/// <summary>
/// A backend whose device runs several independent queues of work (a GPU's streams). The registry's
/// backend of such a device (<see cref="KernelBackends.For(Devices.Device)"/>) queues on one stream;
/// a host that runs several models on the device at once (a worker silo's model grains) gives each
/// model a backend of its own from <see cref="OpenStream"/>, so that one model's work never waits
/// behind another's in a shared queue.
/// </summary>
public interface IMultiStreamBackend : IKernelBackend
{
    /// <summary>
    /// A backend on the same device whose operations queue in order on a new stream. Its buffers are its
    /// own (another stream's backend refuses them: nothing orders the two streams' work), and so are its
    /// memory pool and its uploads of host parameters. The caller owns it: dispose it after the model's last use.
    /// </summary>
    IStreamBackend OpenStream();
}

/// <summary>A backend on a stream of its own (<see cref="IMultiStreamBackend.OpenStream"/>); disposing it waits for the stream's work, then frees the stream and its memory.</summary>
public interface IStreamBackend : IKernelBackend, IDisposable
{
}
