using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>How an activation's gradient is taken: its own rule, or an explanation method's override of ReLU.</summary>
public enum ActivationGradientRule
{
    /// <summary>The activation's vector-Jacobian product (PyTorch's conventions at the kinks).</summary>
    Standard,

    /// <summary>Guided backpropagation: max(standard gradient, 0), the forward's output standing in for its input.</summary>
    Guided,

    /// <summary>Deconvolution: Relu and Clip pass max(output gradient, 0) whatever their input; other activations keep their gradient.</summary>
    Deconvolution,
}

/// <summary>dx from the forward input x, output y and output gradient dy, elementwise; dx may be dy.</summary>
public static class ActivationBackwardKernel
{
    public static void Run(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx,
        DeviceActivation activation, int rule)
    {
        var g = dy[i];
        if (rule == (int)ActivationGradientRule.Deconvolution
            && (activation.Kind == (int)ActivationKind.Relu || activation.Kind == (int)ActivationKind.Clip))
        {
            dx[i] = DeviceActivation.Max(g, 0f);
            return;
        }

        var gradient = activation.Gradient(x[i], y[i], g);
        dx[i] = rule == (int)ActivationGradientRule.Guided ? DeviceActivation.Max(gradient, 0f) : gradient;
    }
}
