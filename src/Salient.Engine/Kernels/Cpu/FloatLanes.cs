using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>Which <see cref="IFloatLanes{TSelf}"/> width a kernel runs at for the managed GEMM's kernels.</summary>
internal static class FloatLanes
{
    /// <summary>
    /// Whether this CPU runs lanes as wide as <paramref name="kernels"/>: <see cref="Lanes512"/> for the 512-bit
    /// kernels, <see cref="Lanes256"/> (AVX2 with FMA) for the 256-bit ones, which the GEMM held to AVX2 on an
    /// AVX-512 machine stands in for.
    /// </summary>
    public static bool IsSupported(ManagedGemm.Kernels kernels) =>
        kernels == ManagedGemm.Kernels.Vector512 ? Lanes512.IsSupported : Lanes256.IsSupported;
}

/// <summary>
/// A vector of float lanes of one width, so that a kernel is written once and instantiated for AVX-512
/// (<see cref="Lanes512"/>) and AVX2 (<see cref="Lanes256"/>): the arithmetic every width has, and the
/// lane moves whose instructions differ (masks, masked loads and stores, two-source permutes).
/// The wrappers hold one hardware vector and inline away; the 512-bit one issues the instructions the
/// AVX-512 kernels were written with.
/// </summary>
internal unsafe interface IFloatLanes<TSelf>
    where TSelf : struct, IFloatLanes<TSelf>
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }

    static abstract TSelf Zero { get; }

    static abstract TSelf Create(float value);

    static abstract TSelf Load(float* source);

    void Store(float* destination);

    void StoreAligned(float* destination);

    static abstract TSelf operator +(TSelf left, TSelf right);

    static abstract TSelf operator -(TSelf left, TSelf right);

    static abstract TSelf operator -(TSelf value);

    /// <summary>a·b + addend, one rounding.</summary>
    static abstract TSelf FusedMultiplyAdd(TSelf a, TSelf b, TSelf addend);

    /// <summary>A mask of the lanes i with <paramref name="start"/> ≤ <paramref name="offset"/> + i &lt; <paramref name="end"/>.</summary>
    static abstract TSelf LanesIn(int offset, int start, int end);

    /// <summary>whenTrue's lanes where <paramref name="mask"/> is set (all bits), whenFalse's elsewhere.</summary>
    static abstract TSelf Select(TSelf mask, TSelf whenTrue, TSelf whenFalse);

    /// <summary>The lanes of <paramref name="mask"/> loaded, zero elsewhere; nothing outside them is read.</summary>
    static abstract TSelf MaskLoad(float* source, TSelf mask);

    /// <summary>The lanes of <paramref name="mask"/> stored; nothing outside them is written.</summary>
    void MaskStore(float* destination, TSelf mask);

    /// <summary>The even and the odd elements of a and b laid end to end.</summary>
    static abstract (TSelf Even, TSelf Odd) Deinterleave(TSelf a, TSelf b);

    /// <summary>a0 b0 a1 b1 …: the first and second halves of a and b's elements alternated.</summary>
    static abstract (TSelf Low, TSelf High) Interleave(TSelf a, TSelf b);

    /// <summary>The lanes of <paramref name="mask"/> loaded, <paramref name="merge"/>'s elsewhere; nothing outside them is read.</summary>
    static abstract TSelf MaskLoad(float* source, TSelf mask, TSelf merge);

    /// <summary>min(max(value, low), high), lane by lane.</summary>
    static abstract TSelf Clamp(TSelf value, TSelf low, TSelf high);

    /// <summary>The even elements of a and b laid end to end (<see cref="Deinterleave"/>'s first half alone).</summary>
    static abstract TSelf Evens(TSelf a, TSelf b);

    /// <summary>A mask of the first <paramref name="count"/> lanes (<see cref="LanesIn"/>(0, 0, count) in one compare).</summary>
    static abstract TSelf FirstLanes(int count);

    /// <summary>Whether a whole store, where allowed, beats <see cref="MaskStore"/> (AVX2's vmaskmovps store is slow on AMD cores).</summary>
    static abstract bool PrefersWholeStores { get; }
}

/// <summary>16 float lanes in AVX-512 (<see cref="Avx512F"/>).</summary>
internal readonly unsafe struct Lanes512(Vector512<float> value) : IFloatLanes<Lanes512>
{
    // Lane indices of the two-source permutes: the even and the odd elements of 32, and the first and last
    // 8 elements of each of two vectors alternated.
    private static readonly Vector512<int> s_evens = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    private static readonly Vector512<int> s_odds = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    private static readonly Vector512<int> s_zipLow = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    private static readonly Vector512<int> s_zipHigh = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);

    private readonly Vector512<float> _value = value;

    public static int Count => 16;

    /// <summary>Whether this CPU runs these instructions.</summary>
    public static bool IsSupported => Avx512F.IsSupported;

    public static Lanes512 Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Create(float value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Load(float* source) => new(Vector512.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(float* destination) => _value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void StoreAligned(float* destination) => _value.StoreAligned(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator +(Lanes512 left, Lanes512 right) => new(left._value + right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator -(Lanes512 left, Lanes512 right) => new(left._value - right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator -(Lanes512 value) => new(-value._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 FusedMultiplyAdd(Lanes512 a, Lanes512 b, Lanes512 addend) => new(Vector512.FusedMultiplyAdd(a._value, b._value, addend._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 LanesIn(int offset, int start, int end)
    {
        var lanes = Vector512<int>.Indices + Vector512.Create(offset);
        return new((Vector512.GreaterThanOrEqual(lanes, Vector512.Create(start)) & Vector512.LessThan(lanes, Vector512.Create(end))).AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Select(Lanes512 mask, Lanes512 whenTrue, Lanes512 whenFalse) =>
        new(Vector512.ConditionalSelect(mask._value, whenTrue._value, whenFalse._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 MaskLoad(float* source, Lanes512 mask) => new(Avx512F.MaskLoad(source, mask._value, Vector512<float>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MaskStore(float* destination, Lanes512 mask) => Avx512F.MaskStore(destination, mask._value, _value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Lanes512 Even, Lanes512 Odd) Deinterleave(Lanes512 a, Lanes512 b) =>
        (Evens(a, b), new(Avx512F.PermuteVar16x32x2(a._value, s_odds, b._value)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Lanes512 Low, Lanes512 High) Interleave(Lanes512 a, Lanes512 b) =>
        (new(Avx512F.PermuteVar16x32x2(a._value, s_zipLow, b._value)), new(Avx512F.PermuteVar16x32x2(a._value, s_zipHigh, b._value)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 MaskLoad(float* source, Lanes512 mask, Lanes512 merge) => new(Avx512F.MaskLoad(source, mask._value, merge._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Clamp(Lanes512 value, Lanes512 low, Lanes512 high) => new(Avx512F.Min(Avx512F.Max(value._value, low._value), high._value));

    // One two-source permute (vpermt2ps).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Evens(Lanes512 a, Lanes512 b) => new(Avx512F.PermuteVar16x32x2(a._value, s_evens, b._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 FirstLanes(int count) => new(Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle());

    public static bool PrefersWholeStores => false;
}

/// <summary>8 float lanes in AVX2 with FMA: the two-source permutes work within 128-bit halves, then move 64-bit pairs across.</summary>
internal readonly unsafe struct Lanes256(Vector256<float> value) : IFloatLanes<Lanes256>
{
    private readonly Vector256<float> _value = value;

    public static int Count => 8;

    /// <summary>Whether this CPU runs these instructions.</summary>
    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    public static Lanes256 Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Create(float value) => new(Vector256.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Load(float* source) => new(Vector256.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(float* destination) => _value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void StoreAligned(float* destination) => _value.StoreAligned(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator +(Lanes256 left, Lanes256 right) => new(left._value + right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator -(Lanes256 left, Lanes256 right) => new(left._value - right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator -(Lanes256 value) => new(-value._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 FusedMultiplyAdd(Lanes256 a, Lanes256 b, Lanes256 addend) => new(Fma.MultiplyAdd(a._value, b._value, addend._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 LanesIn(int offset, int start, int end)
    {
        var lanes = Vector256<int>.Indices + Vector256.Create(offset);
        return new((Vector256.GreaterThanOrEqual(lanes, Vector256.Create(start)) & Vector256.LessThan(lanes, Vector256.Create(end))).AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Select(Lanes256 mask, Lanes256 whenTrue, Lanes256 whenFalse) =>
        new(Avx.BlendVariable(whenFalse._value, whenTrue._value, mask._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 MaskLoad(float* source, Lanes256 mask) => new(Avx.MaskLoad(source, mask._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MaskStore(float* destination, Lanes256 mask) => Avx.MaskStore(destination, mask._value, _value);

    // Shuffle takes elements 0, 2 (or 1, 3) of each 128-bit half of a, then of b: a0 a2 b0 b2 | a4 a6 b4 b6;
    // the 64-bit pairs in order 0, 2, 1, 3 put a's before b's.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Lanes256 Even, Lanes256 Odd) Deinterleave(Lanes256 a, Lanes256 b) =>
        (Evens(a, b), new(Avx2.Permute4x64(Avx.Shuffle(a._value, b._value, 0b11_01_11_01).AsDouble(), 0b11_01_10_00).AsSingle()));

    // The unpacks alternate within 128-bit halves (a0 b0 a1 b1 | a4 b4 a5 b5 and a2 b2 a3 b3 | a6 b6 a7 b7);
    // the halves recombined put them in order.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Lanes256 Low, Lanes256 High) Interleave(Lanes256 a, Lanes256 b)
    {
        var low = Avx.UnpackLow(a._value, b._value);
        var high = Avx.UnpackHigh(a._value, b._value);
        return (new(Avx.Permute2x128(low, high, 0x20)), new(Avx.Permute2x128(low, high, 0x31)));
    }

    // vmaskmovps leaves the lanes outside the mask zero; a blend puts merge's there.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 MaskLoad(float* source, Lanes256 mask, Lanes256 merge) => Select(mask, MaskLoad(source, mask), merge);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Clamp(Lanes256 value, Lanes256 low, Lanes256 high) => new(Avx.Min(Avx.Max(value._value, low._value), high._value));

    // Deinterleave's even half: the in-lane shuffle, then the 64-bit pairs put in order (see there).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Evens(Lanes256 a, Lanes256 b) =>
        new(Avx2.Permute4x64(Avx.Shuffle(a._value, b._value, 0b10_00_10_00).AsDouble(), 0b11_01_10_00).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 FirstLanes(int count) => new(Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle());

    public static bool PrefersWholeStores => true;
}
