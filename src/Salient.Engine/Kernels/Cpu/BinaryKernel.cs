using System.Numerics.Tensors;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Elementwise binary ops with numpy broadcasting. Shapes are reduced to the fewest dimensions
/// (size-1 dimensions dropped, neighbours merged while both operands stay contiguous or stay
/// broadcast), so every case runs as rows of one vectorised span-span, span-scalar or scalar-span
/// call: same shapes become one row, a [1,C,1,1] operand against [N,C,H,W] becomes rows of H·W.
/// </summary>
internal static unsafe class BinaryKernel
{
    private const int MaxRank = 16;

    public static void Run(BinaryOp op, ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> b,
        ReadOnlySpan<int> bShape, Span<float> output, ReadOnlySpan<int> outShape, in FusedActivation activation = default)
    {
        var rank = outShape.Length;
        if (rank > MaxRank || aShape.Length > rank || bShape.Length > rank)
        {
            throw new ArgumentException($"Cannot broadcast [{Tensor.FormatShape(aShape)}] and [{Tensor.FormatShape(bShape)}] to [{Tensor.FormatShape(outShape)}].");
        }

        Span<int> dims = stackalloc int[rank];
        Span<long> sa = stackalloc long[rank];
        Span<long> sb = stackalloc long[rank];
        var merged = Reduce(aShape, bShape, outShape, dims, sa, sb);
        if (a.Length != Tensor.CheckedLength(aShape) || b.Length != Tensor.CheckedLength(bShape) || output.Length != Tensor.CheckedLength(outShape))
        {
            throw new ArgumentException("Binary operand lengths do not match their shapes.");
        }

        if (output.IsEmpty)
        {
            return;
        }

        var inner = merged == 0 ? 1 : dims[merged - 1];
        var aInner = merged != 0 && sa[merged - 1] != 0;
        var bInner = merged != 0 && sb[merged - 1] != 0;
        var outer = output.Length / inner;
        var outerDims = dims[..Math.Max(0, merged - 1)].ToArray();
        var outerA = sa[..Math.Max(0, merged - 1)].ToArray();
        var outerB = sb[..Math.Max(0, merged - 1)].ToArray();
        fixed (float* pa = a, pb = b, po = output)
        {
            var x = pa;
            var y = pb;
            var z = po;
            var act = activation;
            // Rows in chunks of about 16K values, so that short rows do not each pay for a work item.
            var rowsPerChunk = Math.Max(1, (1 << 14) / inner);
            CpuParallel.For((outer + rowsPerChunk - 1) / rowsPerChunk, (long)rowsPerChunk * inner, chunk =>
            {
                var end = Math.Min(outer, (chunk + 1) * rowsPerChunk);
                for (var row = chunk * rowsPerChunk; row < end; row++)
                {
                    long offA = 0, offB = 0;
                    var rest = row;
                    for (var d = outerDims.Length - 1; d >= 0; d--)
                    {
                        var i = rest % outerDims[d];
                        rest /= outerDims[d];
                        offA += i * outerA[d];
                        offB += i * outerB[d];
                    }

                    var result = new Span<float>(z + ((long)row * inner), inner);
                    Row(op, x + offA, aInner, y + offB, bInner, result);
                    if (act.Kind != ActivationKind.None)
                    {
                        // While the row is still in cache.
                        ActivationKernel.Apply(act, result, result);
                    }
                }
            });
        }
    }

    // Fills dims/strides (strides 0 where an operand broadcasts) for the merged shape; returns its rank.
    private static int Reduce(ReadOnlySpan<int> aShape, ReadOnlySpan<int> bShape, ReadOnlySpan<int> outShape,
        Span<int> dims, Span<long> sa, Span<long> sb)
    {
        var rank = outShape.Length;
        long strideA = 1, strideB = 1;
        var count = 0;
        for (var d = rank - 1; d >= 0; d--)
        {
            var n = outShape[d];
            var da = Extent(aShape, d - rank + aShape.Length);
            var db = Extent(bShape, d - rank + bShape.Length);
            if ((da != n && da != 1) || (db != n && db != 1))
            {
                throw new ArgumentException($"Cannot broadcast [{Tensor.FormatShape(aShape)}] and [{Tensor.FormatShape(bShape)}] to [{Tensor.FormatShape(outShape)}].");
            }

            var ta = da == 1 ? 0 : strideA;
            var tb = db == 1 ? 0 : strideB;
            strideA *= da;
            strideB *= db;
            if (n == 1)
            {
                continue;
            }

            // Dimensions are gathered innermost first; merge into the previous one when both
            // operands continue it (stride = previous stride × extent, which holds for 0 too).
            if (count > 0 && ta == sa[count - 1] * dims[count - 1] && tb == sb[count - 1] * dims[count - 1])
            {
                dims[count - 1] *= n;
                continue;
            }

            dims[count] = n;
            sa[count] = ta;
            sb[count] = tb;
            count++;
        }

        dims[..count].Reverse();
        sa[..count].Reverse();
        sb[..count].Reverse();
        return count;
    }

    private static int Extent(ReadOnlySpan<int> shape, int index) => index < 0 ? 1 : shape[index];

    private static void Row(BinaryOp op, float* a, bool aSpan, float* b, bool bSpan, Span<float> dst)
    {
        var n = dst.Length;
        var x = new ReadOnlySpan<float>(a, aSpan ? n : 1);
        var y = new ReadOnlySpan<float>(b, bSpan ? n : 1);
        switch (op, aSpan, bSpan)
        {
            case (BinaryOp.Add, true, true): TensorPrimitives.Add(x, y, dst); break;
            case (BinaryOp.Add, true, false): TensorPrimitives.Add(x, *b, dst); break;
            case (BinaryOp.Add, false, true): TensorPrimitives.Add(y, *a, dst); break;
            case (BinaryOp.Sub, true, true): TensorPrimitives.Subtract(x, y, dst); break;
            case (BinaryOp.Sub, true, false): TensorPrimitives.Subtract(x, *b, dst); break;
            case (BinaryOp.Sub, false, true): TensorPrimitives.Subtract(*a, y, dst); break;
            case (BinaryOp.Mul, true, true): TensorPrimitives.Multiply(x, y, dst); break;
            case (BinaryOp.Mul, true, false): TensorPrimitives.Multiply(x, *b, dst); break;
            case (BinaryOp.Mul, false, true): TensorPrimitives.Multiply(y, *a, dst); break;
            case (BinaryOp.Div, true, true): TensorPrimitives.Divide(x, y, dst); break;
            case (BinaryOp.Div, true, false): TensorPrimitives.Divide(x, *b, dst); break;
            case (BinaryOp.Div, false, true): TensorPrimitives.Divide(*a, y, dst); break;
            case (_, false, false): dst.Fill(Scalar(op, *a, *b)); break;
            default: throw new NotSupportedException($"Binary op {op} is not supported.");
        }
    }

    private static float Scalar(BinaryOp op, float a, float b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        BinaryOp.Div => a / b,
        _ => throw new NotSupportedException($"Binary op {op} is not supported."),
    };
}
