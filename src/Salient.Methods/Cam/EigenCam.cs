using Salient.Engine;
using Salient.Methods.Internal;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Cam;

/// <summary>Eigen-CAM: the activations projected on their first principal component (sign chosen so the largest magnitude is positive); the same map for every target.</summary>
internal sealed class EigenCam(Model model, ExplainOptions options) : CamExplainer(model, options)
{
    protected override Tensor[] RawMaps(CamLayer layer, int image, IReadOnlyList<int> targets) =>
        [.. targets.Select(_ => PrincipalComponent(layer.Activations, image))];

    /// <summary>Image <paramref name="b"/> of <paramref name="activations"/> [N,K,h,w] projected on its first principal component over positions, a new [h,w] map.</summary>
    internal static Tensor PrincipalComponent(Tensor activations, int b)
    {
        var (k, h, w) = (activations.Dim(1), activations.Dim(2), activations.Dim(3));
        var plane = h * w;
        var x = CentredPositions(activations, b);

        // X·v₁ = σ₁·u₁: take the eigenpair of whichever Gram matrix is smaller.
        var projection = new double[plane];
        if (plane <= k)
        {
            var (value, u) = SymmetricEigen.Leading(Gram(x, plane, k, rows: true));
            var sigma = Math.Sqrt(Math.Max(value, 0));
            for (var i = 0; i < plane; i++)
            {
                projection[i] = sigma * u[i];
            }
        }
        else
        {
            var (_, v) = SymmetricEigen.Leading(Gram(x, plane, k, rows: false));
            for (var i = 0; i < plane; i++)
            {
                for (var c = 0; c < k; c++)
                {
                    projection[i] += x[i, c] * v[c];
                }
            }
        }

        return SignedMap(projection, h, w);
    }

    /// <summary>Image <paramref name="b"/> of <paramref name="activations"/> [N,K,h,w] as X [h·w, K], each channel centred over the positions (NaN as the mean).</summary>
    internal static double[,] CentredPositions(Tensor activations, int b)
    {
        var (k, plane) = (activations.Dim(1), activations.Dim(2) * activations.Dim(3));
        var a = activations.Span.Slice(b * k * plane, k * plane);
        var x = new double[plane, k];
        for (var c = 0; c < k; c++)
        {
            var channel = a.Slice(c * plane, plane);
            var mean = 0.0;
            foreach (var v in channel)
            {
                mean += v;
            }

            mean /= plane;
            for (var i = 0; i < plane; i++)
            {
                x[i, c] = float.IsNaN(channel[i]) ? -mean : channel[i] - mean;
            }
        }

        return x;
    }

    /// <summary>A projection over the positions as an [h,w] map, its sign chosen so the largest magnitude is positive.</summary>
    internal static Tensor SignedMap(double[] projection, int h, int w)
    {
        var flip = projection.Max() < -projection.Min() ? -1.0 : 1.0;
        var raw = Tensor.Uninitialized(h, w);
        for (var i = 0; i < projection.Length; i++)
        {
            raw.Span[i] = (float)(flip * projection[i]);
        }

        return raw;
    }

    private static double[,] Gram(double[,] x, int n, int k, bool rows)
    {
        var size = rows ? n : k;
        var gram = new double[size, size];
        for (var i = 0; i < size; i++)
        {
            for (var j = i; j < size; j++)
            {
                var sum = 0.0;
                if (rows)
                {
                    for (var c = 0; c < k; c++)
                    {
                        sum += x[i, c] * x[j, c];
                    }
                }
                else
                {
                    for (var p = 0; p < n; p++)
                    {
                        sum += x[p, i] * x[p, j];
                    }
                }

                gram[i, j] = gram[j, i] = sum;
            }
        }

        return gram;
    }
}
