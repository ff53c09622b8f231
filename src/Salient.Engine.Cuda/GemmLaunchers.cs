using ILGPU;
using ILGPU.Runtime;
using Salient.Engine.Cuda.Kernels;

namespace Salient.Engine.Cuda;

/// <summary>
/// <see cref="GemmKernel"/> for one pair of operand types in each tile configuration, each compiled
/// on first use, and the launch with the tiles <see cref="GemmTiles"/> asks for.
/// </summary>
internal sealed class GemmLaunchers<TA, TB>(Accelerator accelerator)
    where TA : struct, IMatrixOperand
    where TB : struct, IMatrixOperand
{
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, TA, TB, GemmShape, GemmEpilogue>> _small =
        new(() => accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, TA, TB, GemmShape, GemmEpilogue>(GemmKernel.Run<SmallGemmTiles, TA, TB>));

    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, TA, TB, GemmShape, GemmEpilogue>> _large =
        new(() => accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, TA, TB, GemmShape, GemmEpilogue>(GemmKernel.Run<LargeGemmTiles, TA, TB>));

    /// <summary>Queues C[z] = epilogue(op(A[z])·op(B[z])) for z below <paramref name="batch"/> on <paramref name="stream"/>.</summary>
    public void Launch(AcceleratorStream stream, GemmTiles tiles, int batch, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c,
        ArrayView<float> bias, TA opA, TB opB, GemmShape shape, GemmEpilogue epilogue)
    {
        if (tiles == GemmTiles.ByShape)
        {
            tiles = GemmKernel.Choose(shape, batch, accelerator.NumMultiprocessors);
        }

        if (tiles == GemmTiles.Large)
        {
            _large.Value(stream, GemmKernel.Config<LargeGemmTiles>(shape, batch), a, b, c, bias, opA, opB, shape, epilogue);
        }
        else
        {
            _small.Value(stream, GemmKernel.Config<SmallGemmTiles>(shape, batch), a, b, c, bias, opA, opB, shape, epilogue);
        }
    }
}
