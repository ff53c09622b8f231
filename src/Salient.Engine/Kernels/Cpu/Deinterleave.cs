using System.Runtime.Intrinsics;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>Splits interleaved pairs into their even and odd elements: the gather of stride-2 windows, made contiguous.</summary>
internal static unsafe class Deinterleave
{
    /// <summary>even[j], odd[j] = src[2j], src[2j + 1] for j &lt; <paramref name="pairs"/>; 8 pairs a step where vectors are fast.</summary>
    public static void Pairs(float* src, float* even, float* odd, int pairs)
    {
        var j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var order = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
            for (; j + 8 <= pairs; j += 8)
            {
                var a = Vector256.Shuffle(Vector256.Load(src + (2 * j)), order);
                var b = Vector256.Shuffle(Vector256.Load(src + (2 * j) + 8), order);
                Vector256.Create(a.GetLower(), b.GetLower()).Store(even + j);
                Vector256.Create(a.GetUpper(), b.GetUpper()).Store(odd + j);
            }
        }

        for (; j < pairs; j++)
        {
            even[j] = src[2 * j];
            odd[j] = src[(2 * j) + 1];
        }
    }
}
