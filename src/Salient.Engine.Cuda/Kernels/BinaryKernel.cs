using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>out = act(a op b) with numpy broadcasting, one thread per output value.</summary>
public static class BinaryKernel
{
    public static void Run(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> output, BroadcastIndex index, int op, DeviceActivation activation)
    {
        index.Offsets(i, out var ia, out var ib);
        var x = a[ia];
        var y = b[ib];
        var value = op switch
        {
            (int)BinaryOp.Add => x + y,
            (int)BinaryOp.Sub => x - y,
            (int)BinaryOp.Mul => x * y,
            _ => x / y,
        };
        output[i] = activation.Apply(value);
    }
}
