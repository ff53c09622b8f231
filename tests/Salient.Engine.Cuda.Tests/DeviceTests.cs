namespace Salient.Engine.Cuda.Tests;

public class DeviceTests
{
    [Fact]
    public void An_unknown_device_name_is_rejected_with_the_names_that_exist()
    {
        var error = Assert.Throws<ArgumentException>(() => GpuDevice.Open("tpu:0"));
        Assert.Contains("'tpu:0'", error.Message, StringComparison.Ordinal);
        Assert.Contains("cuda:N", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_cuda_device_is_named_in_the_error()
    {
        var available = GpuDevice.CudaAvailable(out _);
        // cuda:99 exists on no machine; without a driver the error says that instead.
        var error = Assert.Throws<GpuDeviceUnavailableException>(() => GpuDevice.Open("cuda:99"));
        Assert.Contains("'cuda:99'", error.Message, StringComparison.Ordinal);
        Assert.Contains(available ? "CUDA devices" : "driver", error.Message, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void The_pool_reuses_a_returned_buffer_of_the_same_size_class(string device)
    {
        var d = Devices.Get(device);
        using var pool = new DeviceBufferPool(d.Device.Accelerator);
        using (var first = pool.Rent(1000))
        {
            Assert.Equal(1000, first.View.Length);
        }

        var held = pool.BytesHeld;
        using (var second = pool.Rent(700))
        {
            Assert.Equal(700, second.View.Length);
            Assert.Equal(held, pool.BytesHeld);
        }

        using var larger = pool.Rent(5000);
        Assert.True(pool.BytesHeld > held);
        pool.Trim();
        // Only the rented buffer is left: 5,000 values round up to 8,192.
        Assert.Equal(8192L * sizeof(float), pool.BytesHeld);
    }

    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void A_pinned_upload_arrives_intact_and_grows_for_a_larger_batch(string device)
    {
        var d = Devices.Get(device);
        using var upload = new PinnedUpload(d.Device.Accelerator, d.Kernels.Stream, 16);
        using var target = d.Device.Accelerator.Allocate1D<float>(100);
        var data = Enumerable.Range(0, 100).Select(i => i * 0.5f).ToArray();
        upload.Upload(data.AsSpan(0, 10), target.View);
        upload.Upload(data, target.View);
        Assert.True(upload.Capacity >= 100);
        Assert.Equal(data, d.Download(target));
    }
}
