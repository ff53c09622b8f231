using System.Numerics;

namespace Salient.Training.Csg.Internal;

/// <summary>
/// Sums in the order NumPy's <c>add.reduce</c> uses along a contiguous axis, so means and standard
/// deviations round exactly as NumPy's do: the axis is cut into buffers of 8192 elements that are added
/// one after another, and each buffer is summed pairwise (blocks of at most 128 with eight interleaved
/// accumulators, halves split at a multiple of eight).
/// </summary>
public static class NumpySum
{
    private const int BufferSize = 8192;
    private const int BlockSize = 128;
    private const int Unroll = 8;

    public static T Of<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var total = T.Zero;
        for (var start = 0; start < values.Length; start += BufferSize)
        {
            total += Pairwise(values.Slice(start, Math.Min(BufferSize, values.Length - start)));
        }

        return total;
    }

    /// <summary>The arithmetic mean, dividing the NumPy-ordered sum by the count as <c>np.mean</c> does.</summary>
    public static T Mean<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T> => Of(values) / T.CreateChecked(values.Length);

    private static T Pairwise<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var n = values.Length;
        if (n < Unroll)
        {
            var sum = T.Zero;
            foreach (var v in values)
            {
                sum += v;
            }

            return sum;
        }

        if (n <= BlockSize)
        {
            Span<T> lanes = stackalloc T[Unroll];
            values[..Unroll].CopyTo(lanes);
            var i = Unroll;
            for (; i < n - (n % Unroll); i += Unroll)
            {
                for (var lane = 0; lane < Unroll; lane++)
                {
                    lanes[lane] += values[i + lane];
                }
            }

            var sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
            for (; i < n; i++)
            {
                sum += values[i];
            }

            return sum;
        }

        var half = n / 2;
        half -= half % Unroll;
        return Pairwise(values[..half]) + Pairwise(values[half..]);
    }
}
