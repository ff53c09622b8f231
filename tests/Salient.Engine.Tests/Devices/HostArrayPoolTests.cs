using System.Runtime.InteropServices;
using Salient.Engine.Devices;

namespace Salient.Engine.Tests.Devices;

/// <summary>
/// Large host buffers come from one best-fit pool for every length. The pool is the process's, so these
/// tests run alone (their collection is not parallelised), with lengths no other test asks for.
/// </summary>
[Collection(HostArrayPoolTestGroup.Name)]
public sealed class HostArrayPoolTests
{
    // 80 MB: longer than anything the other tests of this process leave in the pool.
    private const int Large = 20_000_011;

    [Fact]
    public void A_freed_large_buffer_serves_the_next_shorter_one_and_a_longer_one_gets_a_new_array()
    {
        float[] first;
        using (var buffer = CpuBuffer.Rent(Large))
        {
            // A little longer than asked (the alignment's slack, an eighth at most), not the next power of two.
            first = ArrayOf(buffer);
            Assert.InRange(first.Length, Large + 15, (Large + 15) * 9L / 8);
        }

        // Half as long: the same array, though the shared pool would look among arrays half as long.
        using (var shorter = CpuBuffer.Rent((Large / 2) + 1))
        {
            Assert.Same(first, ArrayOf(shorter));
            Assert.Equal(0, AddressOf(shorter) % 64);
            Assert.Equal((Large / 2) + 1, shorter.Memory.Span.Length);

            // Taken, it serves nobody else.
            using var second = CpuBuffer.Rent((Large / 2) + 1);
            Assert.NotSame(first, ArrayOf(second));
        }

        using var longer = CpuBuffer.Rent(Large + 1_000_000);
        Assert.NotSame(first, ArrayOf(longer));
        Assert.Equal(Large + 1_000_000, longer.Memory.Span.Length);
    }

    [Fact]
    public void Small_buffers_come_from_the_shared_pool()
    {
        using var buffer = CpuBuffer.Rent(1000);
        Assert.Equal(1024, ArrayOf(buffer).Length);
    }

    private static float[] ArrayOf(CpuBuffer buffer) =>
        MemoryMarshal.TryGetArray<float>(buffer.Memory, out var segment) ? segment.Array! : throw new InvalidOperationException("not an array");

    private static unsafe long AddressOf(CpuBuffer buffer)
    {
        fixed (float* p = buffer.Memory.Span)
        {
            return (long)p;
        }
    }
}

/// <summary>Tests of the process's host array pool: run alone, after the parallel collections, so no other test takes or leaves arrays meanwhile.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostArrayPoolTestGroup
{
    public const string Name = "host array pool";
}
