using Salient.Engine.Kernels;
using Salient.Engine.Tests.Kernels;

namespace Salient.Engine.Cuda.Tests;

public class PoolingTests
{
    // batch, channels, height, width, kernel h/w, stride h/w, pads t/l/b/r, dilation h/w, ceil mode.
    private static readonly Pool2dGeometry[] s_geometries =
    [
        new(2, 3, 9, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false), // ResNet's max pool, odd size
        new(1, 2, 8, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true), // ceil mode: a window past the padded bounds
        new(3, 1, 11, 6, 3, 2, 2, 1, 1, 0, 2, 1, 1, 1, true), // asymmetric padding, ceil mode
        new(1, 2, 10, 9, 3, 3, 1, 2, 2, 1, 2, 1, 2, 2, false), // dilation
        new(2, 4, 7, 7, 7, 7, 1, 1, 0, 0, 0, 0, 1, 1, false), // global window
        new(1, 3, 5, 6, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, false), // overlapping windows, stride 1
    ];

    public static readonly TheoryData<string, int, bool> Cases = Build();

    private static TheoryData<string, int, bool> Build()
    {
        var data = new TheoryData<string, int, bool>();
        foreach (var device in Devices.Names)
        {
            for (var i = 0; i < s_geometries.Length; i++)
            {
                data.Add(device, i, false);
                data.Add(device, i, true);
            }
        }

        return data;
    }

    private static float[] Input(Pool2dGeometry g, bool ties, int seed)
    {
        var x = Reference.Random(g.Batch * g.Channels * g.InHeight * g.InWidth, seed);
        // Coarse values make windows share their maximum, so the tie rule decides.
        return ties ? [.. x.Select(v => MathF.Round(v * 2f) / 2f)] : x;
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Max_pooling_its_gradient_and_its_tangent_match_the_cpu_backend(string device, int geometry, bool ties)
    {
        var d = Devices.Get(device);
        var g = s_geometries[geometry];
        var x = Input(g, ties, 1);
        var outLength = g.Batch * g.Channels * g.OutHeight * g.OutWidth;
        var y = new float[outLength];
        Devices.Cpu.MaxPool2d(g, x, y);
        var dy = Reference.Random(outLength, 2);
        var dx = new float[x.Length];
        Devices.Cpu.MaxPool2dBackward(g, x, y, dy, dx);

        Reference.AssertClose(y, d.Run(new float[outLength], (v, o) => d.Kernels.MaxPool2d(g, v[0], o), x));
        Reference.AssertClose(dx, d.Run(Reference.Random(x.Length, 3), (v, o) => d.Kernels.MaxPool2dBackward(g, v[0], v[1], v[2], o), x, y, dy));

        var dxTangent = Reference.Random(x.Length, 4);
        var dyTangent = new float[outLength];
        Devices.Cpu.MaxPool2dTangent(g, x, y, dxTangent, dyTangent);
        Reference.AssertClose(dyTangent, d.Run(new float[outLength], (v, o) => d.Kernels.MaxPool2dTangent(g, v[0], v[1], v[2], o), x, y, dxTangent));
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Average_pooling_and_its_gradient_match_the_cpu_backend(string device, int geometry, bool countIncludePad)
    {
        var d = Devices.Get(device);
        var g = s_geometries[geometry];
        var x = Input(g, false, 4);
        var outLength = g.Batch * g.Channels * g.OutHeight * g.OutWidth;
        var y = new float[outLength];
        Devices.Cpu.AvgPool2d(g, countIncludePad, x, y);
        var dy = Reference.Random(outLength, 5);
        var dx = new float[x.Length];
        Devices.Cpu.AvgPool2dBackward(g, countIncludePad, dy, dx);

        Reference.AssertClose(y, d.Run(new float[outLength], (v, o) => d.Kernels.AvgPool2d(g, countIncludePad, v[0], o), x));
        Reference.AssertClose(dx, d.Run(Reference.Random(x.Length, 6), (v, o) => d.Kernels.AvgPool2dBackward(g, countIncludePad, v[0], o), dy));
    }

    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void Global_average_pooling_matches_the_cpu_backend(string device)
    {
        var d = Devices.Get(device);
        foreach (var (planes, size) in new[] { (6, 49), (3, 1), (1, 300) })
        {
            var x = Reference.Random(planes * size, size);
            var expected = new float[planes];
            Devices.Cpu.GlobalAvgPool(planes, size, x, expected);
            Reference.AssertClose(expected, d.Run(new float[planes], (v, o) => d.Kernels.GlobalAvgPool(planes, size, v[0], o), x));
        }
    }
}
