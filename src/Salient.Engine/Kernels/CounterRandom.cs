namespace Salient.Engine.Kernels;

/// <summary>
/// A counter-based random generator: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
/// 1, 2, 3", SC 2011) turned into uniform and, by Box–Muller, standard normal floats. Value i of a
/// (seed, stream) pair is a pure function of the three, computed without any state, so any thread of
/// any device computes any value on its own: the backends' <see cref="IKernelBackend.FillNormal"/>
/// and the host (a method's scalar draws) give the same numbers. Plain integer and float arithmetic
/// (and <see cref="MathF"/>'s log, sin, cos, sqrt), so device kernels call it too.
/// <para>
/// Layout: the 64-bit seed is Philox's key; the counter is (i/4 as 64 bits, stream as 64 bits), and
/// its block of four 32-bit words gives values 4⌊i/4⌋ to 4⌊i/4⌋ + 3: words 0 and 1 make the
/// Box–Muller pair of values 0 and 1 (r·cos θ, r·sin θ), words 2 and 3 that of values 2 and 3.
/// </para>
/// <para>
/// The CPU backend and kernels run as .NET code (ILGPU's CPU accelerator, the test devices) give the same bits.
/// On a GPU ILGPU lowers log, sin and cos to the hardware's approximations and the compiler may fuse a multiply
/// and add, so values there differ from the CPU's by a few units in the sixth decimal (the device tests allow 1e-5).
/// </para>
/// </summary>
public static class CounterRandom
{
    private const uint MultiplierA = 0xD2511F53;
    private const uint MultiplierB = 0xCD9E8D57;
    private const uint WeylA = 0x9E3779B9;
    private const uint WeylB = 0xBB67AE85;

    // 2⁻²³: 23 random bits k become (k + ½)·2⁻²³, exactly representable and strictly inside (0, 1).
    private const float UnitScale = 1f / (1 << 23);
    private const float Pi = 3.14159265359f;

    /// <summary>Philox4x32-10 of the counter (<paramref name="c0"/>..<paramref name="c3"/>) under the key (<paramref name="k0"/>, <paramref name="k1"/>).</summary>
    public static PhiloxBlock Philox(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (var round = 0; round < 10; round++)
        {
            var a = (ulong)MultiplierA * c0;
            var b = (ulong)MultiplierB * c2;
            c0 = (uint)(b >> 32) ^ c1 ^ k0;
            c1 = (uint)b;
            c2 = (uint)(a >> 32) ^ c3 ^ k1;
            c3 = (uint)a;
            k0 += WeylA;
            k1 += WeylB;
        }

        return new PhiloxBlock(c0, c1, c2, c3);
    }

    /// <summary>The block of four words holding value <paramref name="index"/> of (<paramref name="seed"/>, <paramref name="stream"/>).</summary>
    public static PhiloxBlock Block(ulong seed, ulong stream, long index)
    {
        var block = (ulong)index >> 2;
        return Philox((uint)block, (uint)(block >> 32), (uint)stream, (uint)(stream >> 32), (uint)seed, (uint)(seed >> 32));
    }

    /// <summary>A word as a float uniform in the open interval (0, 1), a multiple of 2⁻²⁴.</summary>
    public static float ToUnit(uint word) => ((word >> 9) + 0.5f) * UnitScale;

    /// <summary>Value <paramref name="index"/> of (<paramref name="seed"/>, <paramref name="stream"/>) as a uniform in (0, 1).</summary>
    public static float Uniform(ulong seed, ulong stream, long index) => ToUnit(Block(seed, stream, index).Word((int)(index & 3)));

    /// <summary>Value <paramref name="index"/> of (<paramref name="seed"/>, <paramref name="stream"/>) as a standard normal.</summary>
    public static float Normal(ulong seed, ulong stream, long index)
    {
        var block = Block(seed, stream, index);
        var second = (index & 2) != 0;
        return BoxMuller(second ? block.W2 : block.W0, second ? block.W3 : block.W1, (index & 1) != 0);
    }

    /// <summary>One of the Box–Muller pair of two words: r·cos θ (or r·sin θ with <paramref name="sine"/>), r = <see cref="Radius"/>(first), θ = <see cref="Angle"/>(second).</summary>
    public static float BoxMuller(uint first, uint second, bool sine)
    {
        var angle = Angle(second);
        return Radius(first) * (sine ? MathF.Sin(angle) : MathF.Cos(angle));
    }

    /// <summary>Box–Muller's radius √(−2 ln u) of a word's uniform u.</summary>
    public static float Radius(uint word) => MathF.Sqrt(-2f * MathF.Log(ToUnit(word)));

    /// <summary>
    /// Box–Muller's angle π·(2u − 1) of a word's uniform u: uniform on (−π, π) (2u − 1 is exact), the range where a
    /// GPU's fast sine and cosine keep their stated accuracy.
    /// </summary>
    public static float Angle(uint word) => Pi * ((2f * ToUnit(word)) - 1f);
}

/// <summary>The four 32-bit words of one Philox4x32 block.</summary>
public readonly record struct PhiloxBlock(uint W0, uint W1, uint W2, uint W3)
{
    /// <summary>Word <paramref name="i"/> (0..3).</summary>
    public uint Word(int i) => i switch
    {
        0 => W0,
        1 => W1,
        2 => W2,
        _ => W3,
    };
}
