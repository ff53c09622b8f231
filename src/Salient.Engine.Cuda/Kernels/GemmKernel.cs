using ILGPU;
using ILGPU.Runtime;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>M, N and K of a (batched) GEMM.</summary>
public readonly record struct GemmShape(int M, int N, int K);

/// <summary>
/// What the GEMM does with each dot product d: c = act(α·d + β·c_old + bias[row]), with c_old not
/// read when β = 0 (BLAS), bias per row of the z-th matrix at <see cref="BiasMap"/>, and C row-major
/// with leading dimension <see cref="Ldc"/> at <see cref="CMap"/>.
/// </summary>
public readonly struct GemmEpilogue(float alpha, float beta, bool hasBias, BatchMap biasMap, DeviceActivation activation, int ldc, BatchMap cMap)
{
    public float Alpha { get; } = alpha;

    public float Beta { get; } = beta;

    /// <summary>1 when there is a bias (kernel parameters hold no bools).</summary>
    public int HasBias { get; } = hasBias ? 1 : 0;

    public BatchMap BiasMap { get; } = biasMap;

    public DeviceActivation Activation { get; } = activation;

    public int Ldc { get; } = ldc;

    public BatchMap CMap { get; } = cMap;
}

/// <summary>
/// The tile configuration of <see cref="GemmKernel"/>, as a struct type parameter so that each
/// compiles with its sizes as constants. Every configuration runs 16×16 threads, each holding
/// <see cref="SubBlocks"/>² register blocks of 4×4 outputs: the tile is 64·SubBlocks square and
/// 16 / SubBlocks deep, so one slice of each operand is 1,024 values, four per thread.
/// </summary>
public interface IGemmTiles
{
    /// <summary>1 (64×64 tiles, 16 deep, 4×4 outputs per thread) or 2 (128×128, 8 deep, 8×8).</summary>
    int SubBlocks { get; }
}

/// <summary>64×64 tiles: for M or N under 128, or too few large tiles to give every multiprocessor a group.</summary>
public readonly struct SmallGemmTiles : IGemmTiles
{
    public int SubBlocks => 1;
}

/// <summary>128×128 tiles with 8×8 outputs per thread: twice the arithmetic per shared-memory read.</summary>
public readonly struct LargeGemmTiles : IGemmTiles
{
    public int SubBlocks => 2;
}

/// <summary>Which tiles <see cref="GpuKernels"/> launches its GEMMs (and implicit-GEMM convolutions) with.</summary>
public enum GemmTiles
{
    /// <summary><see cref="GemmKernel.Choose"/>: large tiles where they still give every multiprocessor a group.</summary>
    ByShape,

    /// <summary>Always <see cref="SmallGemmTiles"/>.</summary>
    Small,

    /// <summary>Always <see cref="LargeGemmTiles"/>.</summary>
    Large,
}

/// <summary>
/// FP32 GEMM, C[z] = epilogue(op(A[z])·op(B[z])), for any operand layout (<see cref="IMatrixOperand"/>):
/// dense, transposed, or a convolution's implicit column matrix, and either tile configuration
/// (<see cref="IGemmTiles"/>). A group of 16×16 threads computes one tile of C. Each slice of A
/// (tile × depth) and B (depth × tile) is read from global memory as runs of four values along the
/// operand's contiguous axis, one run per thread and operand (a 16-byte vector load where
/// <see cref="IMatrixOperand.Load4"/> allows, element by element with zeros at the matrix's edges),
/// so reads coalesce. Shared memory holds two slices of each operand, k-major (a run along the tile
/// axis is one vector store, a run along depth four scalar stores), rows padded by four floats: while
/// the threads compute on one slice, the next slice's runs are already loaded into registers and are
/// stored into the other buffer afterwards, so one barrier per slice suffices. Thread (tx, ty) owns
/// the 4×4 blocks at rows 64p + 4ty and columns 64q + 4tx of the tile (p, q below SubBlocks): per
/// depth step it reads its A and B columns as 16-byte shared loads (B's 16 threads of a half-warp
/// read 256 consecutive bytes, A's are broadcast: no bank conflicts, by construction) and does
/// 16·SubBlocks² FMAs. Grid: (⌈N/tile⌉, ⌈M/tile⌉, batch). Not here: vectorised stores of C, tensor
/// cores, precisions below FP32. Its speed on a GPU has not been measured.
/// </summary>
public static class GemmKernel
{
    public const int Threads = 16;

    // Row padding of the shared slices: keeps rows 16-byte aligned and spreads the transposing scalar stores over the banks.
    private const int Padding = 4;

    private static int Tile<TTiles>()
        where TTiles : struct, IGemmTiles => 64 * default(TTiles).SubBlocks;

    public static KernelConfig Config<TTiles>(GemmShape shape, int batch)
        where TTiles : struct, IGemmTiles
    {
        var tile = Tile<TTiles>();
        return new(new Index3D((shape.N + tile - 1) / tile, (shape.M + tile - 1) / tile, batch), new Index3D(Threads, Threads, 1));
    }

    /// <summary>
    /// The launch rule of <see cref="GemmTiles.ByShape"/>: large tiles when both M and N span at
    /// least one, and their grid still gives each of the device's multiprocessors a group;
    /// otherwise small tiles, which waste less on the edges and make four times as many groups.
    /// Chosen from the structure of the kernel, not from measurements (no GPU was available).
    /// </summary>
    public static GemmTiles Choose(GemmShape shape, int batch, int multiprocessors)
    {
        const int large = 128;
        var groups = (long)((shape.M + large - 1) / large) * ((shape.N + large - 1) / large) * batch;
        return shape.M >= large && shape.N >= large && groups >= multiprocessors ? GemmTiles.Large : GemmTiles.Small;
    }

    public static void Run<TTiles, TA, TB>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias,
        TA opA, TB opB, GemmShape shape, GemmEpilogue epilogue)
        where TTiles : struct, IGemmTiles
        where TA : struct, IMatrixOperand
        where TB : struct, IMatrixOperand
    {
        var sub = default(TTiles).SubBlocks;
        var tile = 64 * sub;
        var depth = 16 / sub;
        var stride = tile + Padding;
        var tx = Group.IdxX;
        var ty = Group.IdxY;
        var thread = (ty * Threads) + tx;
        var rowBase = Grid.IdxY * tile;
        var colBase = Grid.IdxX * tile;
        var z = Grid.IdxZ;
        var sa = SharedMemory.Allocate<float>(2 * depth * stride);
        var sb = SharedMemory.Allocate<float>(2 * depth * stride);

        // This thread's run of each slice: (tile index, depth index) of its first value, and
        // whether it runs along depth (the operand is contiguous along K) or along the tile.
        var aAlongDepth = opA.ColumnsContiguous;
        var bAlongDepth = !opB.ColumnsContiguous;
        var (aTile, aDepth) = RunStart(thread, aAlongDepth, tile, depth);
        var (bTile, bDepth) = RunStart(thread, bAlongDepth, tile, depth);

        var slices = (shape.K + depth - 1) / depth;
        if (slices > 0)
        {
            StoreRun(sa, Load(opA, a, z, rowBase + aTile, aDepth, shape.M, shape.K, aAlongDepth), 0, aTile, aDepth, aAlongDepth, stride);
            StoreRun(sb, Load(opB, b, z, bDepth, colBase + bTile, shape.K, shape.N, !bAlongDepth), 0, bTile, bDepth, bAlongDepth, stride);
        }

        Group.Barrier();
        RegisterBlock c00 = default, c01 = default, c10 = default, c11 = default;
        var sa4 = sa.Cast<Float4>();
        var sb4 = sb.Cast<Float4>();
        var stride4 = stride / 4;
        for (var s = 0; s < slices; s++)
        {
            var next = s + 1 < slices;
            var k0 = (s + 1) * depth;
            Float4 nextA = default, nextB = default;
            if (next)
            {
                nextA = Load(opA, a, z, rowBase + aTile, k0 + aDepth, shape.M, shape.K, aAlongDepth);
                nextB = Load(opB, b, z, k0 + bDepth, colBase + bTile, shape.K, shape.N, !bAlongDepth);
            }

            var slice = (s & 1) * depth * stride4;
            for (var k = 0; k < depth; k++)
            {
                var row = slice + (k * stride4);
                var a0 = sa4[row + ty];
                var b0 = sb4[row + tx];
                c00.Add(a0, b0);
                if (sub == 2)
                {
                    var a1 = sa4[row + 16 + ty];
                    var b1 = sb4[row + 16 + tx];
                    c01.Add(a0, b1);
                    c10.Add(a1, b0);
                    c11.Add(a1, b1);
                }
            }

            if (next)
            {
                var other = ((s + 1) & 1) * depth * stride;
                StoreRun(sa, nextA, other, aTile, aDepth, aAlongDepth, stride);
                StoreRun(sb, nextB, other, bTile, bDepth, bAlongDepth, stride);
            }

            Group.Barrier();
        }

        var r0 = rowBase + (4 * ty);
        var col0 = colBase + (4 * tx);
        Store(c00, c, bias, shape, epilogue, z, r0, col0);
        if (sub == 2)
        {
            Store(c01, c, bias, shape, epilogue, z, r0, col0 + 64);
            Store(c10, c, bias, shape, epilogue, z, r0 + 64, col0);
            Store(c11, c, bias, shape, epilogue, z, r0 + 64, col0 + 64);
        }
    }

    // Where thread t's run of four starts in a tile × depth slice: runs along depth fill a line of
    // depth / 4 runs per tile index, runs along the tile a line of tile / 4 runs per depth index.
    private static (int Tile, int Depth) RunStart(int thread, bool alongDepth, int tile, int depth)
    {
        if (alongDepth)
        {
            var perLine = depth / 4;
            return (thread / perLine, 4 * (thread % perLine));
        }

        var runs = tile / 4;
        return (4 * (thread % runs), thread / runs);
    }

    // Four values of op from (row, col) along columns or rows, inside a rows × cols matrix; zeros outside it.
    private static Float4 Load<TOp>(TOp op, ArrayView<float> data, int z, int row, int col, int rows, int cols, bool alongColumns)
        where TOp : struct, IMatrixOperand
    {
        int dr = alongColumns ? 0 : 1, dc = alongColumns ? 1 : 0;
        if (row + (3 * dr) < rows && col + (3 * dc) < cols)
        {
            return op.Load4(data, z, row, col);
        }

        return new Float4(
            Element(op, data, z, row, col, rows, cols),
            Element(op, data, z, row + dr, col + dc, rows, cols),
            Element(op, data, z, row + (2 * dr), col + (2 * dc), rows, cols),
            Element(op, data, z, row + (3 * dr), col + (3 * dc), rows, cols));
    }

    private static float Element<TOp>(TOp op, ArrayView<float> data, int z, int row, int col, int rows, int cols)
        where TOp : struct, IMatrixOperand =>
        row < rows && col < cols ? op.Load(data, z, row, col) : 0f;

    // A run into the slice buffer starting at sliceStart, k-major: along the tile one vector store, along depth four scalars.
    private static void StoreRun(ArrayView<float> shared, Float4 run, int sliceStart, int tileIndex, int depthIndex, bool alongDepth, int stride)
    {
        var start = sliceStart + (depthIndex * stride) + tileIndex;
        if (alongDepth)
        {
            shared[start] = run.X;
            shared[start + stride] = run.Y;
            shared[start + (2 * stride)] = run.Z;
            shared[start + (3 * stride)] = run.W;
        }
        else
        {
            shared.Cast<Float4>()[start >> 2] = run;
        }
    }

    // A 4×4 register block at (row, col) through the epilogue, dropping what lies outside C.
    private static void Store(RegisterBlock block, ArrayView<float> c, ArrayView<float> bias, GemmShape shape, GemmEpilogue e, int z, int row, int col)
    {
        StoreRow(block.R0, c, bias, shape, e, z, row, col);
        StoreRow(block.R1, c, bias, shape, e, z, row + 1, col);
        StoreRow(block.R2, c, bias, shape, e, z, row + 2, col);
        StoreRow(block.R3, c, bias, shape, e, z, row + 3, col);
    }

    private static void StoreRow(Float4 values, ArrayView<float> c, ArrayView<float> bias, GemmShape shape, GemmEpilogue e, int z, int row, int col)
    {
        Store(c, bias, shape, e, z, row, col, values.X);
        Store(c, bias, shape, e, z, row, col + 1, values.Y);
        Store(c, bias, shape, e, z, row, col + 2, values.Z);
        Store(c, bias, shape, e, z, row, col + 3, values.W);
    }

    private static void Store(ArrayView<float> c, ArrayView<float> bias, GemmShape shape, GemmEpilogue e, int z, int row, int col, float dot)
    {
        if (row >= shape.M || col >= shape.N)
        {
            return;
        }

        var index = e.CMap.Offset(z) + ((long)row * e.Ldc) + col;
        var value = e.Alpha * dot;
        if (e.Beta != 0f)
        {
            value += e.Beta * c[index];
        }

        if (e.HasBias != 0)
        {
            value += bias[e.BiasMap.Offset(z) + row];
        }

        c[index] = e.Activation.Apply(value);
    }

    /// <summary>A thread's 4×4 block of C: rows R0 to R3, four columns each.</summary>
    private struct RegisterBlock
    {
        public Float4 R0, R1, R2, R3;

        // The outer product of a column of A and a row of B.
        public void Add(Float4 a, Float4 b)
        {
            R0 = Float4.MultiplyAdd(R0, a.X, b);
            R1 = Float4.MultiplyAdd(R1, a.Y, b);
            R2 = Float4.MultiplyAdd(R2, a.Z, b);
            R3 = Float4.MultiplyAdd(R3, a.W, b);
        }
    }
}
