using Salient.Engine.Devices;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// The parts of a tensor cut along one axis (Concat's inputs, Split's outputs) as strided copies
/// on the backend: part i is [outer, extent_i·inner], contiguous in each outer block of the whole.
/// </summary>
internal sealed class PartCopy(int[] whole, int axis, int[] extents)
{
    private readonly (int Offset, int[] Strides, int[] Shape)[] _parts = [.. extents.Select((_, i) => Strided.Part(whole, axis, extents, i))];

    /// <summary>Copies part <paramref name="index"/> into its place in <paramref name="wholeData"/>.</summary>
    public void ToWhole(IKernelBackend backend, int index, BufferView part, BufferView wholeData)
    {
        var (offset, strides, shape) = _parts[index];
        backend.StridedCopy(shape, part, 0, Strided.Strides(shape), wholeData, offset, strides, accumulate: false);
    }

    /// <summary>Copies part <paramref name="index"/> out of <paramref name="wholeData"/>.</summary>
    public void FromWhole(IKernelBackend backend, int index, BufferView wholeData, BufferView part)
    {
        var (offset, strides, shape) = _parts[index];
        backend.StridedCopy(shape, wholeData, offset, strides, part, 0, Strided.Strides(shape), accumulate: false);
    }
}
