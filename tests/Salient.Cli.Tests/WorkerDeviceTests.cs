using System.Security.Cryptography;
using Salient.Cluster;
using Salient.Cluster.Internal;
using Salient.Engine.Cuda;
using Salient.Engine.Devices;
using Salient.Engine.Kernels;
using Salient.Storage;

namespace Salient.Cli.Tests;

/// <summary>
/// Worker silos and their devices: <c>serve --devices</c> refuses a device this build cannot open, and a
/// model grain's shards load the model on the grain's device (the lease carries it to the model cache).
/// </summary>
public sealed class WorkerDeviceTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("salient-worker-device-");

    public void Dispose() => _work.Delete(true);

    [Fact]
    public void Serve_refuses_a_device_it_cannot_open_and_names_it()
    {
        var (exit, _, error) = Cli.Run("serve", "--role", "worker", "--storage", Path.Combine(_work.FullName, "storage"), "--blob", Path.Combine(_work.FullName, "blobs"),
            "--devices", "cpu,tpu:1");
        Assert.NotEqual(0, exit);
        Assert.Contains("--devices", error, StringComparison.Ordinal);
        Assert.Contains("'tpu:1'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_model_cache_loads_one_copy_per_device()
    {
        GpuBackend.Register();
        var blobs = new LocalFolderBlobStore(Path.Combine(_work.FullName, "blobs"));
        var onnx = await File.ReadAllBytesAsync(Fixtures.Path("models", "resnet_basic.onnx"));
        var sha = Convert.ToHexStringLower(SHA256.HashData(onnx));
        await blobs.PutAsync(BlobLayout.Model(sha), onnx, null, overwrite: true);

        var cache = new ModelCache(blobs, Path.Combine(_work.FullName, "cache"));
        var model = new ModelRef("resnet", BlobLayout.Model(sha), sha);
        var onCpu = await cache.GetAsync(model, Device.Cpu, CancellationToken.None);
        var onIlgpu = await cache.GetAsync(model, Device.Parse("ilgpu"), CancellationToken.None);

        Assert.Equal(Device.Cpu, onCpu.Model.Device);
        Assert.Equal(Device.Parse("ilgpu"), onIlgpu.Model.Device);
        Assert.Same(onIlgpu, await cache.GetAsync(model, Device.Parse("ilgpu"), CancellationToken.None));

        // On a device with streams the loaded model computes on a stream of its own, which the cache frees.
        Assert.Null(onCpu.Stream);
        Assert.NotNull(onIlgpu.Stream);
        Assert.Same(onIlgpu.Stream, onIlgpu.Model.Backend);
        Assert.NotSame(KernelBackends.For("ilgpu"), onIlgpu.Model.Backend);
        cache.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ((IMultiStreamBackend)onIlgpu.Stream).OpenStream());
    }
}
