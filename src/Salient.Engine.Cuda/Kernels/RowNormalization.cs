using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// What the row-normalisation kernels share: a row's mean and 1/σ (biased variance, ε inside the
/// root) across one group, and where a value's scale and bias come from (a <see cref="RowAffine"/>).
/// </summary>
public readonly struct RowNormalization(int cols, float epsilon, int perRow, int hasScale, int hasBias, int parameters)
{
    public int Cols { get; } = cols;

    public float Epsilon { get; } = epsilon;

    /// <summary>1 when the parameters go by row (repeating every <see cref="Parameters"/> rows), 0 when by column.</summary>
    public int PerRow { get; } = perRow;

    public int HasScale { get; } = hasScale;

    public int HasBias { get; } = hasBias;

    /// <summary>How many scales (and biases) there are.</summary>
    public int Parameters { get; } = parameters;

    /// <summary>The group's row (grid = rows), where it starts, and its mean and 1/σ; every thread of the group gets them.</summary>
    public void Statistics(ArrayView<float> x, out int row, out long start, out float mean, out float rstd)
    {
        row = Grid.IdxX;
        start = (long)row * Cols;
        var sum = 0f;
        for (var j = Group.IdxX; j < Cols; j += GroupReduce.Size)
        {
            sum += x[start + j];
        }

        mean = GroupReduce.Sum(sum) / Cols;
        var squares = 0f;
        for (var j = Group.IdxX; j < Cols; j += GroupReduce.Size)
        {
            var d = x[start + j] - mean;
            squares += d * d;
        }

        rstd = 1f / MathF.Sqrt((GroupReduce.Sum(squares) / Cols) + Epsilon);
    }

    /// <summary>Value <paramref name="j"/> of row <paramref name="row"/>'s scale (1 when there is none).</summary>
    public float Scale(ArrayView<float> scale, int row, int j) => HasScale == 0 ? 1f : scale[Parameter(row, j)];

    /// <summary>Value <paramref name="j"/> of row <paramref name="row"/>'s bias (0 when there is none).</summary>
    public float Bias(ArrayView<float> bias, int row, int j) => HasBias == 0 ? 0f : bias[Parameter(row, j)];

    private int Parameter(int row, int j) => PerRow != 0 ? row % Parameters : j;
}
