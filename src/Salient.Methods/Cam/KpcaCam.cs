using Salient.Engine;
using Salient.Methods.Internal;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Cam;

/// <summary>
/// KPCA-CAM (Karmani et al., 2024; pytorch-grad-cam's KPCA_CAM, scikit-learn's KernelPCA): Eigen-CAM
/// with a kernel. The positions' centred activations x_i [K] give the kernel matrix k(x_i, x_j), centred
/// in feature space; the map is its leading eigenvector times √eigenvalue, sign as Eigen-CAM's; the
/// same for every target. Kernels (<c>kernel</c>): 0 sigmoid tanh(γ⟨x,y⟩ + c₀), 1 RBF exp(−γ‖x − y‖²),
/// 2 polynomial (γ⟨x,y⟩ + c₀)^degree, 3 linear ⟨x,y⟩, 4 cosine; γ = 1/K when <c>gamma</c> is 0.
/// </summary>
internal sealed class KpcaCam : CamExplainer
{
    private readonly int _kernel;
    private readonly double _gamma;
    private readonly double _coef0;
    private readonly double _degree;

    public KpcaCam(Model model, ExplainOptions options)
        : base(model, options)
    {
        _kernel = WholeParameter("kernel", 0, 4);
        _gamma = ParameterIn("gamma", 0, double.MaxValue);
        _coef0 = Parameter("coef0");
        _degree = ParameterIn("degree", 0, double.MaxValue);
    }

    protected override Tensor[] RawMaps(CamLayer layer, int image, IReadOnlyList<int> targets)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(targets);
        var activations = layer.Activations;
        var (k, h, w) = (activations.Dim(1), activations.Dim(2), activations.Dim(3));
        var x = EigenCam.CentredPositions(activations, image);
        var kernel = Centred(KernelMatrix(x, h * w, k));
        var (value, vector) = SymmetricEigen.Leading(kernel);
        var scale = Math.Sqrt(Math.Max(value, 0));
        var map = EigenCam.SignedMap([.. vector.Select(v => v * scale)], h, w);
        return [map, .. targets.Skip(1).Select(_ => map.Clone())];
    }

    private double[,] KernelMatrix(double[,] x, int n, int k)
    {
        var gamma = _gamma > 0 ? _gamma : 1.0 / k;
        var norms = new double[n];
        var dots = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = i; j < n; j++)
            {
                var dot = 0.0;
                for (var c = 0; c < k; c++)
                {
                    dot += x[i, c] * x[j, c];
                }

                dots[i, j] = dots[j, i] = dot;
            }

            norms[i] = Math.Sqrt(dots[i, i]);
        }

        var result = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var dot = dots[i, j];
                result[i, j] = _kernel switch
                {
                    0 => Math.Tanh((gamma * dot) + _coef0),
                    1 => Math.Exp(-gamma * (dots[i, i] + dots[j, j] - (2 * dot))),
                    2 => Math.Pow((gamma * dot) + _coef0, _degree),
                    3 => dot,
                    4 => norms[i] * norms[j] > 0 ? dot / (norms[i] * norms[j]) : 0,
                    _ => throw new InvalidOperationException($"KPCA-CAM has no kernel {_kernel}."),
                };
            }
        }

        return result;
    }

    /// <summary>K − 1K − K1 + 1K1, 1 the n×n matrix of 1/n (the kernel of the features centred in feature space).</summary>
    private static double[,] Centred(double[,] kernel)
    {
        var n = kernel.GetLength(0);
        var rows = new double[n];
        var all = 0.0;
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                rows[i] += kernel[i, j] / n;
            }

            all += rows[i] / n;
        }

        var result = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                result[i, j] = kernel[i, j] - rows[i] - rows[j] + all;
            }
        }

        return result;
    }
}
