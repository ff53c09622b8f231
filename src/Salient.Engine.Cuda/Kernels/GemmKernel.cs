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
/// FP32 GEMM, C[z] = epilogue(op(A[z])·op(B[z])), for any operand layout (<see cref="IMatrixOperand"/>):
/// dense, transposed, or a convolution's implicit column matrix. Each group of 16×16 threads
/// computes a 64×64 tile of C, staging 64×16 slices of A and 16×64 slices of B in shared memory
/// (padded against bank conflicts, loaded along the operand's contiguous axis so global reads
/// coalesce); each thread keeps a 4×4 register block of C (rows ty + 16i, columns tx + 16j, so
/// shared reads are conflict-free and stores coalesce). Grid: (⌈N/64⌉, ⌈M/64⌉, batch).
/// Not yet: vectorised (float4) loads, double-buffered tiles, tensor cores.
/// </summary>
public static class GemmKernel
{
    public const int Tile = 64;
    public const int Depth = 16;
    public const int Threads = 16;
    private const int Stride = Tile + 1;
    private const int GroupSize = Threads * Threads;

    public static KernelConfig Config(GemmShape shape, int batch) =>
        new(new Index3D((shape.N + Tile - 1) / Tile, (shape.M + Tile - 1) / Tile, batch), new Index3D(Threads, Threads, 1));

    public static void Run<TA, TB>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias,
        TA opA, TB opB, GemmShape shape, GemmEpilogue epilogue)
        where TA : struct, IMatrixOperand
        where TB : struct, IMatrixOperand
    {
        var tx = Group.IdxX;
        var ty = Group.IdxY;
        var thread = (ty * Threads) + tx;
        var rowBase = Grid.IdxY * Tile;
        var colBase = Grid.IdxX * Tile;
        var z = Grid.IdxZ;
        var sa = SharedMemory.Allocate<float>(Depth * Stride);
        var sb = SharedMemory.Allocate<float>(Depth * Stride);

        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (var k0 = 0; k0 < shape.K; k0 += Depth)
        {
            for (var e = 0; e < Tile * Depth / GroupSize; e++)
            {
                var idx = thread + (e * GroupSize);
                int m, ka;
                if (opA.ColumnsContiguous)
                {
                    (m, ka) = (idx / Depth, idx % Depth);
                }
                else
                {
                    (ka, m) = (idx / Tile, idx % Tile);
                }

                var row = rowBase + m;
                var depth = k0 + ka;
                sa[(ka * Stride) + m] = row < shape.M && depth < shape.K ? opA.Load(a, z, row, depth) : 0f;

                int n, kb;
                if (opB.ColumnsContiguous)
                {
                    (kb, n) = (idx / Tile, idx % Tile);
                }
                else
                {
                    (n, kb) = (idx / Depth, idx % Depth);
                }

                var col = colBase + n;
                depth = k0 + kb;
                sb[(kb * Stride) + n] = col < shape.N && depth < shape.K ? opB.Load(b, z, depth, col) : 0f;
            }

            Group.Barrier();
            for (var k = 0; k < Depth; k++)
            {
                var ra = k * Stride;
                float a0 = sa[ra + ty], a1 = sa[ra + ty + 16], a2 = sa[ra + ty + 32], a3 = sa[ra + ty + 48];
                float b0 = sb[ra + tx], b1 = sb[ra + tx + 16], b2 = sb[ra + tx + 32], b3 = sb[ra + tx + 48];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }

            Group.Barrier();
        }

        var r0 = rowBase + ty;
        var col0 = colBase + tx;
        Store(c, bias, shape, epilogue, z, r0, col0, c00);
        Store(c, bias, shape, epilogue, z, r0, col0 + 16, c01);
        Store(c, bias, shape, epilogue, z, r0, col0 + 32, c02);
        Store(c, bias, shape, epilogue, z, r0, col0 + 48, c03);
        Store(c, bias, shape, epilogue, z, r0 + 16, col0, c10);
        Store(c, bias, shape, epilogue, z, r0 + 16, col0 + 16, c11);
        Store(c, bias, shape, epilogue, z, r0 + 16, col0 + 32, c12);
        Store(c, bias, shape, epilogue, z, r0 + 16, col0 + 48, c13);
        Store(c, bias, shape, epilogue, z, r0 + 32, col0, c20);
        Store(c, bias, shape, epilogue, z, r0 + 32, col0 + 16, c21);
        Store(c, bias, shape, epilogue, z, r0 + 32, col0 + 32, c22);
        Store(c, bias, shape, epilogue, z, r0 + 32, col0 + 48, c23);
        Store(c, bias, shape, epilogue, z, r0 + 48, col0, c30);
        Store(c, bias, shape, epilogue, z, r0 + 48, col0 + 16, c31);
        Store(c, bias, shape, epilogue, z, r0 + 48, col0 + 32, c32);
        Store(c, bias, shape, epilogue, z, r0 + 48, col0 + 48, c33);
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
}
