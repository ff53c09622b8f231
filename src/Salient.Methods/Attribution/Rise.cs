using System.Numerics.Tensors;
using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Engine.Kernels;
using Salient.Methods.Internal;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Attribution;

/// <summary>
/// RISE (Petsiuk et al., 2018): N random masks, each a ⌈H/cell⌉ × ⌈W/cell⌉ grid of cells kept with
/// probability p, bilinearly upsampled (half-pixel) to (grid + 1)·cell and cropped at a random offset
/// in [0, cell)²; saliency_c = Σ_i P(c | x ⊙ M_i) · M_i / (N·p), P the target's probability
/// (<see cref="ExplainOptions.Scores"/>). Raw [H,W]; the map is its min-max. The masks come from
/// <see cref="ExplainOptions.Seed"/> and are the same for every image.
/// </summary>
internal sealed class Rise : PerturbationExplainer
{
    private readonly int _masks;
    private readonly int _cell;
    private readonly double _keep;

    public Rise(Model model, ExplainOptions options)
        : base(model, options)
    {
        _masks = WholeParameter("masks", 1);
        _cell = WholeParameter("cell", 1);
        _keep = ParameterIn("p", double.Epsilon, 1);
    }

    protected override Tensor[] Attribute(Tensor image, ReadOnlySpan<float> logits, IReadOnlyList<int> targets)
    {
        var (channels, height, width) = (image.Dim(0), image.Dim(1), image.Dim(2));
        var plane = height * width;
        var (gridHeight, gridWidth) = ((height + _cell - 1) / _cell, (width + _cell - 1) / _cell);

        // The masks' cells and offsets, drawn in order; the pixels are made again where needed.
        var random = new Random(Options.Seed);
        var grids = new float[_masks][];
        var offsets = new (int Y, int X)[_masks];
        for (var i = 0; i < _masks; i++)
        {
            grids[i] = new float[gridHeight * gridWidth];
            for (var g = 0; g < grids[i].Length; g++)
            {
                grids[i][g] = random.NextDouble() < _keep ? 1f : 0f;
            }

            offsets[i] = (random.Next(_cell), random.Next(_cell));
        }

        var pixels = image.Memory;
        var scores = TargetScores(image, _masks, (i, copy) =>
        {
            var mask = Mask(grids[i], offsets[i], gridHeight, gridWidth, height, width);
            for (var c = 0; c < channels; c++)
            {
                TensorPrimitives.Multiply(pixels.Span.Slice(c * plane, plane), mask, copy.Slice(c * plane, plane));
            }
        }, targets, probabilities: true);

        var saliency = targets.Select(_ => new float[plane]).ToArray();
        for (var i = 0; i < _masks; i++)
        {
            var mask = Mask(grids[i], offsets[i], gridHeight, gridWidth, height, width);
            for (var t = 0; t < targets.Count; t++)
            {
                TensorPrimitives.MultiplyAdd(mask, scores[i][t], saliency[t], saliency[t]);
            }
        }

        return [.. saliency.Select(s =>
        {
            var raw = Tensor.FromSpan(s, height, width);
            TensorPrimitives.Multiply(raw.Span, (float)(1 / (_masks * _keep)), raw.Span);
            return raw;
        })];
    }

    protected override Tensor MapOf(Tensor raw)
    {
        var map = raw.Clone();
        MapMath.MinMax(KernelBackends.Host, map);
        return map;
    }

    /// <summary>One mask [H·W]: the grid upsampled to (grid + 1)·cell, cropped at the offset.</summary>
    private float[] Mask(float[] grid, (int Y, int X) offset, int gridHeight, int gridWidth, int height, int width)
    {
        var (upHeight, upWidth) = ((gridHeight + 1) * _cell, (gridWidth + 1) * _cell);
        var up = new float[upHeight * upWidth];
        // Masks are made and applied on the host (the perturbation methods perturb host batches).
        KernelBackends.Host.ResizeBilinear(1, gridHeight, gridWidth, BufferView.Host(grid), upHeight, upWidth, BufferView.Host(up), alignCorners: false);
        var mask = new float[height * width];
        for (var y = 0; y < height; y++)
        {
            up.AsSpan(((offset.Y + y) * upWidth) + offset.X, width).CopyTo(mask.AsSpan(y * width, width));
        }

        return mask;
    }
}
