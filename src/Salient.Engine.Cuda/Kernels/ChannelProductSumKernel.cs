using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>y[p] = Σ_c f(g[c·plane + p], a[c·plane + p]) for a <see cref="ChannelProduct"/> f (as an int), channels in order: one thread per map value.</summary>
public static class ChannelProductSumKernel
{
    public static void Run(Index1D i, ArrayView<float> activations, ArrayView<float> gradients, ArrayView<float> y, int channels, int plane, int product)
    {
        var sum = 0f;
        for (var c = 0; c < channels; c++)
        {
            var at = ((long)c * plane) + i;
            var g = gradients[at];
            var a = activations[at];
            sum += product switch
            {
                (int)ChannelProduct.Product => g * a,
                (int)ChannelProduct.RectifiedGradient => DeviceActivation.Max(g, 0f) * a,
                _ => DeviceActivation.Max(g * a, 0f),
            };
        }

        y[i] = sum;
    }
}
