using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>y = act(x·scale[c] + shift[c]) over [N, C, spatial] data (inference batch norm, folded).</summary>
public static class ChannelAffineKernel
{
    public static void Run(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<float> scale, ArrayView<float> shift,
        int channels, int spatial, DeviceActivation activation)
    {
        var c = (i / spatial) % channels;
        y[i] = activation.Apply((x[i] * scale[c]) + shift[c]);
    }
}
