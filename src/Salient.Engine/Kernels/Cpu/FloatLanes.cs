using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>Which <see cref="IFloatLanes{TVector}"/> width a kernel runs at for the managed GEMM's kernels.</summary>
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
/// The operations on a vector of float lanes of one width, so that a kernel is written once and instantiated
/// for AVX-512 (<see cref="Lanes512"/> over <see cref="Vector512{T}"/>) and AVX2 (<see cref="Lanes256"/> over
/// <see cref="Vector256{T}"/>): the arithmetic every width has, and the lane moves whose instructions differ
/// (masks, masked loads and stores, two-source permutes). A kernel is generic over both the operations and
/// their vector type and holds raw hardware vectors: with a struct wrapping the vector instead, the JIT kept
/// each result in a temporary of the wrapper and neither folded loads into FMAs nor accumulated in place
/// (docs/benchmarks/2026-12-03-avx2-rawlanes.md). The 512-bit operations issue the instructions the AVX-512
/// kernels were written with.
/// </summary>
internal unsafe interface IFloatLanes<TVector>
    where TVector : unmanaged
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }

    static abstract TVector Zero { get; }

    static abstract TVector Create(float value);

    static abstract TVector Load(float* source);

    static abstract void Store(TVector value, float* destination);

    static abstract void StoreAligned(TVector value, float* destination);

    static abstract TVector Add(TVector left, TVector right);

    static abstract TVector Subtract(TVector left, TVector right);

    static abstract TVector Negate(TVector value);

    /// <summary>a·b + addend, one rounding.</summary>
    static abstract TVector FusedMultiplyAdd(TVector a, TVector b, TVector addend);

    /// <summary>A mask of the lanes i with <paramref name="start"/> ≤ <paramref name="offset"/> + i &lt; <paramref name="end"/>.</summary>
    static abstract TVector LanesIn(int offset, int start, int end);

    /// <summary>whenTrue's lanes where <paramref name="mask"/> is set (all bits), whenFalse's elsewhere.</summary>
    static abstract TVector Select(TVector mask, TVector whenTrue, TVector whenFalse);

    /// <summary>The lanes of <paramref name="mask"/> loaded, zero elsewhere; nothing outside them is read.</summary>
    static abstract TVector MaskLoad(float* source, TVector mask);

    /// <summary>The lanes of <paramref name="mask"/> of <paramref name="value"/> stored; nothing outside them is written.</summary>
    static abstract void MaskStore(TVector value, float* destination, TVector mask);

    /// <summary>The even and the odd elements of a and b laid end to end.</summary>
    static abstract (TVector Even, TVector Odd) Deinterleave(TVector a, TVector b);

    /// <summary>a0 b0 a1 b1 …: the first and second halves of a and b's elements alternated.</summary>
    static abstract (TVector Low, TVector High) Interleave(TVector a, TVector b);

    /// <summary>The lanes of <paramref name="mask"/> loaded, <paramref name="merge"/>'s elsewhere; nothing outside them is read.</summary>
    static abstract TVector MaskLoad(float* source, TVector mask, TVector merge);

    /// <summary>min(max(value, low), high), lane by lane.</summary>
    static abstract TVector Clamp(TVector value, TVector low, TVector high);

    /// <summary>The even elements of a and b laid end to end (<see cref="Deinterleave"/>'s first half alone).</summary>
    static abstract TVector Evens(TVector a, TVector b);

    /// <summary>A mask of the first <paramref name="count"/> lanes (<see cref="LanesIn"/>(0, 0, count) in one compare).</summary>
    static abstract TVector FirstLanes(int count);

    /// <summary>Whether a whole store, where allowed, beats <see cref="MaskStore"/> (AVX2's vmaskmovps store is slow on AMD cores).</summary>
    static abstract bool PrefersWholeStores { get; }
}

/// <summary>The operations on 16 float lanes in AVX-512 (<see cref="Avx512F"/>).</summary>
internal readonly unsafe struct Lanes512 : IFloatLanes<Vector512<float>>
{
    // Lane indices of the two-source permutes: the even and the odd elements of 32, and the first and last
    // 8 elements of each of two vectors alternated.
    private static readonly Vector512<int> s_evens = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    private static readonly Vector512<int> s_odds = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    private static readonly Vector512<int> s_zipLow = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    private static readonly Vector512<int> s_zipHigh = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);

    public static int Count => 16;

    /// <summary>Whether this CPU runs these instructions.</summary>
    public static bool IsSupported => Avx512F.IsSupported;

    public static Vector512<float> Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Create(float value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(float* source) => Vector512.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> value, float* destination) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreAligned(Vector512<float> value, float* destination) => value.StoreAligned(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> left, Vector512<float> right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Subtract(Vector512<float> left, Vector512<float> right) => left - right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Negate(Vector512<float> value) => -value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> FusedMultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> addend) => Vector512.FusedMultiplyAdd(a, b, addend);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LanesIn(int offset, int start, int end)
    {
        var lanes = Vector512<int>.Indices + Vector512.Create(offset);
        return (Vector512.GreaterThanOrEqual(lanes, Vector512.Create(start)) & Vector512.LessThan(lanes, Vector512.Create(end))).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Select(Vector512<float> mask, Vector512<float> whenTrue, Vector512<float> whenFalse) =>
        Vector512.ConditionalSelect(mask, whenTrue, whenFalse);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MaskLoad(float* source, Vector512<float> mask) => Avx512F.MaskLoad(source, mask, Vector512<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MaskStore(Vector512<float> value, float* destination, Vector512<float> mask) => Avx512F.MaskStore(destination, mask, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<float> Even, Vector512<float> Odd) Deinterleave(Vector512<float> a, Vector512<float> b) =>
        (Evens(a, b), Avx512F.PermuteVar16x32x2(a, s_odds, b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<float> Low, Vector512<float> High) Interleave(Vector512<float> a, Vector512<float> b) =>
        (Avx512F.PermuteVar16x32x2(a, s_zipLow, b), Avx512F.PermuteVar16x32x2(a, s_zipHigh, b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MaskLoad(float* source, Vector512<float> mask, Vector512<float> merge) => Avx512F.MaskLoad(source, mask, merge);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Clamp(Vector512<float> value, Vector512<float> low, Vector512<float> high) => Avx512F.Min(Avx512F.Max(value, low), high);

    // One two-source permute (vpermt2ps).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Evens(Vector512<float> a, Vector512<float> b) => Avx512F.PermuteVar16x32x2(a, s_evens, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> FirstLanes(int count) => Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle();

    public static bool PrefersWholeStores => false;
}

/// <summary>The operations on 8 float lanes in AVX2 with FMA: the two-source permutes work within 128-bit halves, then move 64-bit pairs across.</summary>
internal readonly unsafe struct Lanes256 : IFloatLanes<Vector256<float>>
{
    public static int Count => 8;

    /// <summary>Whether this CPU runs these instructions.</summary>
    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    public static Vector256<float> Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Create(float value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(float* source) => Vector256.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> value, float* destination) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreAligned(Vector256<float> value, float* destination) => value.StoreAligned(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> left, Vector256<float> right) => left + right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Subtract(Vector256<float> left, Vector256<float> right) => left - right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Negate(Vector256<float> value) => -value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> FusedMultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> addend) => Fma.MultiplyAdd(a, b, addend);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LanesIn(int offset, int start, int end)
    {
        var lanes = Vector256<int>.Indices + Vector256.Create(offset);
        return (Vector256.GreaterThanOrEqual(lanes, Vector256.Create(start)) & Vector256.LessThan(lanes, Vector256.Create(end))).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Select(Vector256<float> mask, Vector256<float> whenTrue, Vector256<float> whenFalse) =>
        Avx.BlendVariable(whenFalse, whenTrue, mask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MaskLoad(float* source, Vector256<float> mask) => Avx.MaskLoad(source, mask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MaskStore(Vector256<float> value, float* destination, Vector256<float> mask) => Avx.MaskStore(destination, mask, value);

    // Shuffle takes elements 0, 2 (or 1, 3) of each 128-bit half of a, then of b: a0 a2 b0 b2 | a4 a6 b4 b6;
    // the 64-bit pairs in order 0, 2, 1, 3 put a's before b's.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float> Even, Vector256<float> Odd) Deinterleave(Vector256<float> a, Vector256<float> b) =>
        (Evens(a, b), Avx2.Permute4x64(Avx.Shuffle(a, b, 0b11_01_11_01).AsDouble(), 0b11_01_10_00).AsSingle());

    // The unpacks alternate within 128-bit halves (a0 b0 a1 b1 | a4 b4 a5 b5 and a2 b2 a3 b3 | a6 b6 a7 b7);
    // the halves recombined put them in order.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float> Low, Vector256<float> High) Interleave(Vector256<float> a, Vector256<float> b)
    {
        var low = Avx.UnpackLow(a, b);
        var high = Avx.UnpackHigh(a, b);
        return (Avx.Permute2x128(low, high, 0x20), Avx.Permute2x128(low, high, 0x31));
    }

    // vmaskmovps leaves the lanes outside the mask zero; a blend puts merge's there.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MaskLoad(float* source, Vector256<float> mask, Vector256<float> merge) => Select(mask, MaskLoad(source, mask), merge);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Clamp(Vector256<float> value, Vector256<float> low, Vector256<float> high) => Avx.Min(Avx.Max(value, low), high);

    // Deinterleave's even half: the in-lane shuffle, then the 64-bit pairs put in order (see there).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Evens(Vector256<float> a, Vector256<float> b) =>
        Avx2.Permute4x64(Avx.Shuffle(a, b, 0b10_00_10_00).AsDouble(), 0b11_01_10_00).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> FirstLanes(int count) => Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle();

    public static bool PrefersWholeStores => true;
}
