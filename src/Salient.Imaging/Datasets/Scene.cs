namespace Salient.Imaging.Datasets;

/// <summary>A box in pixel coordinates, both corners inclusive.</summary>
/// <param name="X0">Leftmost column.</param>
/// <param name="Y0">Top row.</param>
/// <param name="X1">Rightmost column.</param>
/// <param name="Y1">Bottom row.</param>
public readonly record struct SceneBox(int X0, int Y0, int X1, int Y1);

/// <summary>One Fashion-MNIST item placed in a <see cref="Scene"/>, as far as it is visible.</summary>
public sealed class SceneObject
{
    internal SceneObject(int classIndex, int item, byte[] mask, SceneBox box, int area)
    {
        Class = classIndex;
        Item = item;
        Mask = mask;
        Box = box;
        Area = area;
    }

    /// <summary>The class, 0–9.</summary>
    public int Class { get; }

    /// <summary>The class name, from <see cref="FashionMnist.ClassNames"/>.</summary>
    public string Label => FashionMnist.ClassNames[Class];

    /// <summary>The index of the item in the split it came from.</summary>
    public int Item { get; }

    /// <summary>Scene-sized, row-major: 255 where this object is visible (not occluded, item pixel above the threshold), else 0.</summary>
    public ReadOnlyMemory<byte> Mask { get; }

    /// <summary>The bounds of <see cref="Mask"/>.</summary>
    public SceneBox Box { get; }

    /// <summary>The number of visible pixels in <see cref="Mask"/>.</summary>
    public int Area { get; }
}

/// <summary>A square RGB canvas with its objects, back to front.</summary>
public sealed class Scene
{
    internal Scene(int size, byte[] pixels, IReadOnlyList<SceneObject> objects)
    {
        Size = size;
        Pixels = pixels;
        Objects = objects;
        Labels = [.. objects.Select(o => o.Class).Order()];
    }

    /// <summary>Width and height in pixels.</summary>
    public int Size { get; }

    /// <summary>Row-major interleaved R, G, B bytes.</summary>
    public ReadOnlyMemory<byte> Pixels { get; }

    /// <summary>The objects in the order they were painted: later ones occlude earlier ones.</summary>
    public IReadOnlyList<SceneObject> Objects { get; }

    /// <summary>The multi-label target: the classes present, ascending, each once.</summary>
    public IReadOnlyList<int> Labels { get; }
}
