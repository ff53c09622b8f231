using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// One weight per channel from its activation and gradient planes, by a <see cref="ChannelWeighting"/>
/// (as an int): one group of <see cref="GroupReduce.Size"/> threads per channel, grid = channels.
/// The sums are tree reductions, so they round differently from the host's sums in plane order.
/// </summary>
public static class ChannelWeightsKernel
{
    public static void Run(ArrayView<float> activations, ArrayView<float> gradients, ArrayView<float> weights, int plane, int weighting)
    {
        var start = (long)Grid.IdxX * plane;
        var first = 0f;
        var second = 0f;
        for (var j = Group.IdxX; j < plane; j += GroupReduce.Size)
        {
            var a = activations[start + j];
            var g = gradients[start + j];
            if (weighting == (int)ChannelWeighting.GradientMean)
            {
                first += g;
            }
            else if (weighting == (int)ChannelWeighting.PositiveGradientAlpha)
            {
                first += a;
            }
            else
            {
                first += g * a;
                second += a;
            }
        }

        // The weighting is the same for every thread, so each group reduces the same number of times.
        first = GroupReduce.Sum(first);
        float weight;
        if (weighting == (int)ChannelWeighting.GradientMean)
        {
            weight = first / plane;
        }
        else if (weighting == (int)ChannelWeighting.PositiveGradientAlpha)
        {
            // first = ΣA; the weight is Σ over positive G of G·G² / (2G² + ΣA·G³ + 1e-6).
            var sum = 0f;
            for (var j = Group.IdxX; j < plane; j += GroupReduce.Size)
            {
                var g = gradients[start + j];
                if (g > 0f)
                {
                    var g2 = g * g;
                    sum += g * (g2 / ((2 * g2) + (first * g2 * g) + 1e-6f));
                }
            }

            weight = GroupReduce.Sum(sum);
        }
        else
        {
            weight = first / (GroupReduce.Sum(second) + 1e-7f);
        }

        if (Group.IdxX == 0)
        {
            weights[Grid.IdxX] = weight;
        }
    }
}
