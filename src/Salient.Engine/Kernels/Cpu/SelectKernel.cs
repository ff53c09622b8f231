namespace Salient.Engine.Kernels.Cpu;

/// <summary>The CPU's <see cref="IKernelBackend.Choose"/> and <see cref="IKernelBackend.Compare"/> on operands of one length.</summary>
internal static class SelectKernel
{
    public static void Choose(ReadOnlySpan<float> condition, ReadOnlySpan<float> whenTrue, ReadOnlySpan<float> whenFalse, Span<float> output)
    {
        if (condition.Length != output.Length || (!whenTrue.IsEmpty && whenTrue.Length != output.Length) || (!whenFalse.IsEmpty && whenFalse.Length != output.Length))
        {
            throw new ArgumentException($"Select into {output.Length} values got a condition of {condition.Length} and branches of {whenTrue.Length} and {whenFalse.Length}.");
        }

        for (var i = 0; i < output.Length; i++)
        {
            output[i] = condition[i] != 0f ? (whenTrue.IsEmpty ? 0f : whenTrue[i]) : (whenFalse.IsEmpty ? 0f : whenFalse[i]);
        }
    }

    public static void Compare(Comparison comparison, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> output)
    {
        if (a.Length != output.Length || b.Length != output.Length)
        {
            throw new ArgumentException($"Comparing {a.Length} and {b.Length} values into {output.Length}.");
        }

        for (var i = 0; i < output.Length; i++)
        {
            var holds = comparison switch
            {
                Comparison.Equal => a[i] == b[i],
                Comparison.Less => a[i] < b[i],
                Comparison.Greater => a[i] > b[i],
                _ => throw new ArgumentOutOfRangeException(nameof(comparison), comparison, "Unknown comparison."),
            };
            output[i] = holds ? 1f : 0f;
        }
    }
}
