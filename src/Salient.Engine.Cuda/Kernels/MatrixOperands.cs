using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// Where the z-th matrix of a batched GEMM starts: z splits into (z / Divisor, z mod Divisor), e.g.
/// (image, group) for a grouped convolution, each with its own stride (0 where the matrix is shared).
/// </summary>
public readonly record struct BatchMap(int Divisor, long OuterStride, long InnerStride)
{
    /// <summary>Matrix z at z·<paramref name="stride"/>.</summary>
    public static BatchMap Strided(long stride) => new(1, stride, 0);

    public long Offset(int z) => ((z / Divisor) * OuterStride) + ((z % Divisor) * InnerStride);
}

/// <summary>
/// A logical matrix operand of <see cref="GemmKernel"/>: element (row, col) of the z-th matrix,
/// read from <c>data</c>. Implementations are structs, so each GEMM variant compiles with its
/// loads inlined. The GEMM only asks for elements inside the matrix.
/// </summary>
public interface IMatrixOperand
{
    /// <summary>Whether consecutive columns are adjacent in memory (so a tile is loaded along rows of the tile).</summary>
    bool ColumnsContiguous { get; }

    float Load(ArrayView<float> data, int z, int row, int col);

    /// <summary>
    /// Four elements along the contiguous axis: (row, col..col+3) when <see cref="ColumnsContiguous"/>,
    /// else (row..row+3, col), all inside the matrix, with the index along that axis a multiple of 4
    /// (the GEMM's tiles start on such indices). One vector load where the layout allows.
    /// </summary>
    Float4 Load4(ArrayView<float> data, int z, int row, int col);
}

/// <summary>
/// A row-major matrix in <c>data</c>, optionally read transposed (op(X) = Xᵀ), with leading
/// dimension <c>ld</c>. Runs of four along the contiguous axis are one 16-byte load when every run
/// the GEMM reads starts on a multiple of 4 floats: <c>ld</c>, both batch strides and the view's
/// start in its buffer multiples of 4 (device allocations are 256-byte aligned); otherwise four
/// scalar loads.
/// </summary>
public readonly struct DenseOperand : IMatrixOperand
{
    private readonly int _ld;
    private readonly BatchMap _batch;

    // Kernel parameters hold no bools.
    private readonly int _transposed;
    private readonly int _vectorized;

    /// <param name="data">The view the kernel will read this operand from (its start decides the alignment).</param>
    /// <param name="transposed">Whether the GEMM reads the stored matrix transposed.</param>
    /// <param name="ld">The stored matrix's leading dimension.</param>
    /// <param name="batch">Where the z-th matrix starts in <paramref name="data"/>.</param>
    public DenseOperand(ArrayView<float> data, bool transposed, int ld, BatchMap batch)
    {
        _ld = ld;
        _batch = batch;
        _transposed = transposed ? 1 : 0;
        var start = ((IContiguousArrayView)data).Index;
        _vectorized = ld % 4 == 0 && batch.OuterStride % 4 == 0 && batch.InnerStride % 4 == 0 && start % 4 == 0 ? 1 : 0;
    }

    public bool ColumnsContiguous => _transposed == 0;

    /// <summary>Whether <see cref="Load4"/> is one vector load.</summary>
    public bool Vectorized => _vectorized != 0;

    public float Load(ArrayView<float> data, int z, int row, int col) => data[Index(z, row, col)];

    public Float4 Load4(ArrayView<float> data, int z, int row, int col)
    {
        var index = Index(z, row, col);
        return _vectorized != 0
            ? data.Cast<Float4>()[index >> 2]
            : new Float4(data[index], data[index + 1], data[index + 2], data[index + 3]);
    }

    private long Index(int z, int row, int col) =>
        _batch.Offset(z) + (_transposed != 0 ? ((long)col * _ld) + row : ((long)row * _ld) + col);
}

/// <summary>
/// The column matrix of a convolution without materialising it (implicit GEMM): row r is the tap
/// (channel in group, ki, kj), column c the output pixel (oh, ow), matrix z the (image, group);
/// taps in the padding read 0.
/// </summary>
public readonly struct Im2ColOperand : IMatrixOperand
{
    private readonly int _groups, _channels, _groupChannels, _inHeight, _inWidth, _kernelWidth, _kernelArea, _outWidth;
    private readonly int _strideHeight, _strideWidth, _padTop, _padLeft, _dilationHeight, _dilationWidth;

    public Im2ColOperand(in Conv2dGeometry g)
    {
        _groups = g.Groups;
        _channels = g.InChannels;
        _groupChannels = g.InChannels / g.Groups;
        _inHeight = g.InHeight;
        _inWidth = g.InWidth;
        _kernelWidth = g.KernelWidth;
        _kernelArea = g.KernelHeight * g.KernelWidth;
        _outWidth = g.OutWidth;
        _strideHeight = g.StrideHeight;
        _strideWidth = g.StrideWidth;
        _padTop = g.PadTop;
        _padLeft = g.PadLeft;
        _dilationHeight = g.DilationHeight;
        _dilationWidth = g.DilationWidth;
    }

    public bool ColumnsContiguous => true;

    // Neighbouring output pixels read strided or padded taps: no vector load.
    public Float4 Load4(ArrayView<float> data, int z, int row, int col) =>
        new(Load(data, z, row, col), Load(data, z, row, col + 1), Load(data, z, row, col + 2), Load(data, z, row, col + 3));

    public float Load(ArrayView<float> data, int z, int row, int col)
    {
        var image = z / _groups;
        var channel = ((z % _groups) * _groupChannels) + (row / _kernelArea);
        var tap = row % _kernelArea;
        var ih = ((col / _outWidth) * _strideHeight) - _padTop + ((tap / _kernelWidth) * _dilationHeight);
        var iw = ((col % _outWidth) * _strideWidth) - _padLeft + ((tap % _kernelWidth) * _dilationWidth);
        if ((uint)ih >= (uint)_inHeight || (uint)iw >= (uint)_inWidth)
        {
            return 0f;
        }

        return data[((((long)image * _channels) + channel) * _inHeight + ih) * _inWidth + iw];
    }
}
