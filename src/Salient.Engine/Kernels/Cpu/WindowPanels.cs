using System.Buffers;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Salient.Engine.Memory;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// A convolution's column matrix (as <see cref="Im2Col"/> unfolds it) that is never built whole: the
/// managed GEMM packs each micro-panel of it straight from a copy of the input with the padding written
/// in and each row split into its stride-many phases (columns x ≡ q mod stride), in which every tap of a
/// run of outputs along a row is a contiguous run of values. The copy is about the size of the input,
/// where the column matrix was KH·KW/(SH·SW) times it (7.4 MB per image for ResNet's 7×7 stem, which
/// was written, read back and packed again beyond L2); the panels are packed a column block at a time
/// that stays in L2 while the micro-kernels read it.
/// </summary>
internal sealed unsafe class WindowPanels : IDisposable
{
    // Floats readable before and after the copy: a panel row is read as whole vectors (two 16-wide ones, or
    // four 8-wide) from each segment's start less its place in the panel, and the lanes outside the segment are dropped.
    private const int Margin = ManagedGemm.PanelWidth;

    // L2 per core on Zen 5, and the packed B a single-threaded product keeps in it per column block.
    private const int L2Size = 1024 * 1024;
    private const int L2Budget = 768 * 1024;

    private readonly float[] _copy;
    private readonly int[] _rowOffsets;
    private readonly Window _window;
    private readonly int _columns;
    private readonly int _depth;
    private GCHandle _copyPin;
    private GCHandle _offsetPin;

    /// <summary>
    /// Copies <paramref name="channels"/> channels of <paramref name="images"/> consecutive images at
    /// <paramref name="src"/> (images g.InChannels planes apart): the columns of their matrices side by
    /// side, image after image, as the convolution's GEMM multiplies them. With <paramref name="parallel"/>
    /// the copy runs on all cores.
    /// </summary>
    public WindowPanels(in Conv2dGeometry g, int channels, float* src, int images, bool parallel)
    {
        int outH = g.OutHeight, outW = g.OutWidth, sw = g.StrideWidth;
        var paddedHeight = ((outH - 1) * g.StrideHeight) + ((g.KernelHeight - 1) * g.DilationHeight) + 1;
        var paddedWidth = ((outW - 1) * sw) + ((g.KernelWidth - 1) * g.DilationWidth) + 1;

        // A 1×1 window reads one row in every stride and one phase: only those are kept (a 1×1 stride-2
        // convolution's copy is the subsampled input, a quarter of it).
        var rowEvery = g.KernelHeight == 1 ? g.StrideHeight : 1;
        var phases = g.KernelWidth == 1 ? 1 : sw;
        var phaseWidth = (paddedWidth + sw - 1) / sw;
        var rowStride = phaseWidth * phases;
        var planeStride = (long)(((paddedHeight - 1) / rowEvery) + 1) * rowStride;
        var imageStride = channels * planeStride;
        _columns = images * outH * outW;
        _depth = channels * g.KernelHeight * g.KernelWidth;
        _copy = HostArrayPool.Shared.Rent(checked((int)((images * imageStride) + (2 * Margin))));
        _rowOffsets = ArrayPool<int>.Shared.Rent(_depth);
        _copyPin = GCHandle.Alloc(_copy, GCHandleType.Pinned);
        _offsetPin = GCHandle.Alloc(_rowOffsets, GCHandleType.Pinned);
        var data = (float*)_copyPin.AddrOfPinnedObject() + Margin;
        var offsets = (int*)_offsetPin.AddrOfPinnedObject();

        // Row (c, ki, kj) of the column matrix, for the output at the origin of image 0.
        for (int c = 0, r = 0; c < channels; c++)
        {
            for (var ki = 0; ki < g.KernelHeight; ki++)
            {
                for (var kj = 0; kj < g.KernelWidth; kj++, r++)
                {
                    var x = kj * g.DilationWidth;
                    var y = ki * g.DilationHeight / rowEvery;
                    offsets[r] = checked((int)((c * planeStride) + ((long)y * rowStride) + (x % sw * phaseWidth) + (x / sw)));
                }
            }
        }

        _window = new Window(data, offsets, outW, outH * outW, imageStride, (long)g.StrideHeight / rowEvery * rowStride);
        var geometry = g;
        var layout = new Layout(paddedHeight, rowEvery, phaseWidth, phases, rowStride, planeStride, imageStride);
        var usedRows = UsedRows(g, paddedHeight);
        var work = planeStride;
        if (parallel)
        {
            CpuParallel.For(images * channels, work, p => CopyPlane(geometry, layout, usedRows, src, data, p / channels, p % channels));
        }
        else
        {
            for (var p = 0; p < images * channels; p++)
            {
                CopyPlane(geometry, layout, usedRows, src, data, p / channels, p % channels);
            }
        }
    }

    /// <summary>
    /// Whether the convolution's products take their panels from here: the managed GEMM (the panels are read
    /// in vectors as wide as its kernels': AVX-512, or AVX2 with FMA), for windows the input itself does not
    /// already hold as a matrix (those of 1×1 stride-1 unpadded convolutions).
    /// </summary>
    public static bool Applies(CpuGemm gemm, in Conv2dGeometry g) =>
        !gemm.UsesOpenBlas && (gemm.Kernels == ManagedGemm.Kernels.Vector512 ? Vector512.IsHardwareAccelerated : Lanes256.IsSupported)
        && !ConvWindow.IsPointwise(g);

    /// <summary>
    /// C = act(lhs·cols + bias) (or act(C + lhs·cols + bias) with <paramref name="accumulate"/>), as
    /// <see cref="CpuGemm.Multiply"/> with this column matrix; <paramref name="lhs"/> is packed (the managed GEMM).
    /// </summary>
    public void Multiply(GemmLhs lhs, float* c, int ldc, bool singleThreaded, bool accumulate, in FusedActivation activation, float* bias)
    {
        var packed = lhs.Packed ?? throw new InvalidOperationException("Window panels feed the managed GEMM only.");

        // One thread: panels packed all at once when they fit in L2, else in blocks that stay in L2 (ResNet's
        // stem packed 4096 columns at a time wrote and read back 2.4 MB through L3), as equal as whole panels
        // allow: every block streams all of A again (ResNet-50's 1×1/2 layer2 downsample, 784 columns of
        // 800 KB, lost 0.4–0.9 ms in two blocks). Several threads share the default (larger) blocks.
        var block = 0;
        var depth = Math.Min(_depth, ManagedGemm.DepthBlock);
        if (singleThreaded && (long)_columns * depth * sizeof(float) > L2Size)
        {
            var widest = Math.Max(ManagedGemm.TaskColumns, L2Budget / (depth * sizeof(float)) / ManagedGemm.PanelWidth * ManagedGemm.PanelWidth);
            var blocks = (_columns + widest - 1) / widest;
            block = ((_columns + blocks - 1) / blocks + ManagedGemm.PanelWidth - 1) / ManagedGemm.PanelWidth * ManagedGemm.PanelWidth;
        }

        var threads = singleThreaded ? 1 : CpuParallel.MaxThreads;
        var epilogue = new ManagedGemm.RowEpilogue(activation, bias);
        if (packed.Kernels == ManagedGemm.Kernels.Vector512)
        {
            ManagedGemm.Sgemm(packed, _columns, new Source<Lanes512, Vector512<float>>(_window), accumulate ? 1f : 0f, c, ldc, threads, epilogue, block);
        }
        else
        {
            ManagedGemm.Sgemm(packed, _columns, new Source<Lanes256, Vector256<float>>(_window), accumulate ? 1f : 0f, c, ldc, threads, epilogue, block);
        }
    }

    public void Dispose()
    {
        if (_copyPin.IsAllocated)
        {
            _copyPin.Free();
            _offsetPin.Free();
            HostArrayPool.Shared.Return(_copy);
            ArrayPool<int>.Shared.Return(_rowOffsets);
        }
    }

    // Where the copy keeps what: each channel's plane holds every rowEvery-th of the paddedHeight padded
    // rows, rowStride floats apart, each row its kept phases one after another, phaseWidth floats each.
    private readonly record struct Layout(int PaddedHeight, int RowEvery, int PhaseWidth, int Phases, int RowStride, long PlaneStride, long ImageStride);

    // The padded rows some window reads (not the odd ones of a 1×1 stride-2 convolution, for one).
    private static bool[] UsedRows(in Conv2dGeometry g, int paddedHeight)
    {
        var used = new bool[paddedHeight];
        for (var oh = 0; oh < g.OutHeight; oh++)
        {
            for (var ki = 0; ki < g.KernelHeight; ki++)
            {
                used[(oh * g.StrideHeight) + (ki * g.DilationHeight)] = true;
            }
        }

        return used;
    }

    // One channel of one image into its padded, phase-split plane.
    private static void CopyPlane(in Conv2dGeometry g, in Layout layout, bool[] usedRows, float* src, float* data, int image, int channel)
    {
        int inH = g.InHeight, inW = g.InWidth, sw = g.StrideWidth, padLeft = g.PadLeft;
        int rowStride = layout.RowStride, phaseWidth = layout.PhaseWidth;
        var input = src + ((((long)image * g.InChannels) + channel) * inH * inW);
        var plane = data + (image * layout.ImageStride) + (channel * layout.PlaneStride);

        // The padded row (all phases interleaved), then the odd phase where only the even one is kept.
        var width = phaseWidth * sw;
        var scratchLength = sw == 1 ? 0 : width + phaseWidth;
        Span<float> scratch = scratchLength <= 8192 ? stackalloc float[scratchLength] : new float[scratchLength];

        // Padded columns [padLeft, padLeft + inW) hold the input row, clipped to the row.
        var validEnd = Math.Min(width, padLeft + inW);
        var validStart = Math.Min(padLeft, validEnd);
        fixed (float* padded = scratch)
        {
            for (var y = 0; y < layout.PaddedHeight; y += layout.RowEvery)
            {
                if (!usedRows[y])
                {
                    continue;
                }

                var to = plane + ((long)y / layout.RowEvery * rowStride);
                var iy = y - g.PadTop;
                if ((uint)iy >= (uint)inH)
                {
                    new Span<float>(to, rowStride).Clear();
                    continue;
                }

                var target = sw == 1 ? to : padded;
                new Span<float>(target, validStart).Clear();
                new Span<float>(target + validEnd, width - validEnd).Clear();
                new ReadOnlySpan<float>(input + ((long)iy * inW), validEnd - validStart).CopyTo(new Span<float>(target + validStart, validEnd - validStart));
                if (sw == 2)
                {
                    Deinterleave.Pairs(padded, to, layout.Phases == 2 ? to + phaseWidth : padded + width, phaseWidth);
                }
                else if (sw > 2)
                {
                    for (var q = 0; q < layout.Phases; q++)
                    {
                        for (var t = 0; t < phaseWidth; t++)
                        {
                            to[(q * phaseWidth) + t] = padded[(t * sw) + q];
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Where the copy is: data (past the margin), each column-matrix row's offset in it for the output at the origin
    /// of image 0, and the steps from there to other outputs.
    /// </summary>
    private readonly struct Window(float* data, int* rowOffsets, int outW, int outPlane, long imageStride, long rowStep)
    {
        public float* Data => data;

        public int* RowOffsets => rowOffsets;

        public int OutW => outW;

        public int OutPlane => outPlane;

        public long ImageStride => imageStride;

        public long RowStep => rowStep;
    }

    /// <summary>
    /// Packs panels of the column matrix: each panel's columns are split into segments, runs of outputs in
    /// one row of one image, and each row of the panel is a contiguous run of the copy per segment. A panel
    /// row is two vectors of <typeparamref name="TVector"/> at a time (once with AVX-512, twice with AVX2).
    /// </summary>
    private readonly struct Source<TLanes, TVector>(Window window) : ManagedGemm.IPanelSource
        where TLanes : struct, IFloatLanes<TVector>
        where TVector : unmanaged
    {
        public void Pack(int col, int nEnd, int pc, int kc, float* dst)
        {
            const int width = ManagedGemm.PanelWidth;
            var lanes = TLanes.Count;
            var vectors = width / lanes;
            var cols = Math.Min(width, nEnd - col);
            int outW = window.OutW, outPlane = window.OutPlane;

            // Segment s: lane t of a panel row reads starts[s] + t plus the row's offset, for t in its lanes;
            // masks[s·vectors + v] keeps them in the panel's vector v.
            var starts = stackalloc nint[width];
            var masks = stackalloc TVector[vectors * width];
            var segments = 0;
            for (var t = 0; t < cols; segments++)
            {
                var j = col + t;
                var image = j / outPlane;
                var position = j - (image * outPlane);
                var oh = position / outW;
                var ow = position - (oh * outW);
                var length = Math.Min(outW - ow, cols - t);
                starts[segments] = (nint)(window.Data + (image * window.ImageStride) + (oh * window.RowStep) + ow - t);
                for (var v = 0; v < vectors; v++)
                {
                    masks[(segments * vectors) + v] = TLanes.LanesIn(v * lanes, t, t + length);
                }

                t += length;
            }

            var offsets = window.RowOffsets + pc;
            if (segments == 1 && cols == width)
            {
                // A whole panel from one row of outputs (planes at least 32 wide): plain copies per row.
                var from = (float*)starts[0];
                for (var h = 0; h < width; h += 2 * lanes)
                {
                    for (var p = 0; p < kc; p++)
                    {
                        var s = from + offsets[p] + h;
                        TLanes.StoreAligned(TLanes.Load(s), dst + (p * width) + h);
                        TLanes.StoreAligned(TLanes.Load(s + lanes), dst + (p * width) + h + lanes);
                    }
                }

                return;
            }

            for (var h = 0; h < width; h += 2 * lanes)
            {
                var vector = h / lanes;
                for (var p = 0; p < kc; p++)
                {
                    var lo = TLanes.Zero;
                    var hi = TLanes.Zero;
                    var offset = offsets[p] + h;
                    for (var s = 0; s < segments; s++)
                    {
                        var from = (float*)starts[s] + offset;
                        lo = TLanes.Select(masks[(s * vectors) + vector], TLanes.Load(from), lo);
                        hi = TLanes.Select(masks[(s * vectors) + vector + 1], TLanes.Load(from + lanes), hi);
                    }

                    TLanes.StoreAligned(lo, dst + (p * width) + h);
                    TLanes.StoreAligned(hi, dst + (p * width) + h + lanes);
                }
            }
        }
    }
}
