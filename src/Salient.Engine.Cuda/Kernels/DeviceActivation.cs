using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// <see cref="FusedActivation"/> as a kernel parameter, with the forward and gradient rules the CPU
/// kernels use (PyTorch's conventions at the kinks), written once for every kernel that fuses them.
/// Clamps go through <see cref="Max"/> and <see cref="Min"/>, which keep NaN as .NET's do on the
/// host; the PTX <c>max.f32</c> that <c>Math.Max</c> compiles to would drop it.
/// </summary>
public readonly struct DeviceActivation
{
    public DeviceActivation(in FusedActivation activation)
    {
        if (!Enum.IsDefined(activation.Kind))
        {
            throw new ArgumentOutOfRangeException(nameof(activation), activation.Kind, "Unknown activation.");
        }

        Kind = (int)activation.Kind;
        Alpha = activation.Alpha;
        Beta = activation.Beta;
    }

    /// <summary>The <see cref="ActivationKind"/> as an int (enums stay out of device code).</summary>
    public int Kind { get; }

    public float Alpha { get; }

    public float Beta { get; }

    public float Apply(float x) => Kind switch
    {
        (int)ActivationKind.Relu => Max(x, 0f),
        (int)ActivationKind.LeakyRelu => x >= 0f ? x : x * Alpha,
        (int)ActivationKind.Clip => Min(Max(x, Alpha), Beta),
        (int)ActivationKind.Sigmoid => 1f / (1f + MathF.Exp(-x)),
        (int)ActivationKind.HardSigmoid => Min(Max((Alpha * x) + Beta, 0f), 1f),
        (int)ActivationKind.HardSwish => x * Min(Max(x + 3f, 0f), 6f) * (1f / 6f),
        _ => x,
    };

    /// <summary>max(a, b), NaN when either is NaN (as <see cref="Math.Max(float, float)"/>; equal zeros of either sign give b).</summary>
    public static float Max(float a, float b) => float.IsNaN(a) || a > b ? a : b;

    /// <summary>min(a, b), NaN when either is NaN (as <see cref="Math.Min(float, float)"/>; equal zeros of either sign give b).</summary>
    public static float Min(float a, float b) => float.IsNaN(a) || a < b ? a : b;

    /// <summary>dx from the forward input x, output y and output gradient g.</summary>
    public float Gradient(float x, float y, float g)
    {
        switch (Kind)
        {
            case (int)ActivationKind.Relu:
                return y > 0f ? g : 0f;
            case (int)ActivationKind.LeakyRelu:
                return x > 0f ? g : g * Alpha;
            case (int)ActivationKind.Clip:
                return x > Alpha && x < Beta ? g : 0f;
            case (int)ActivationKind.Sigmoid:
                return g * y * (1f - y);
            case (int)ActivationKind.HardSigmoid:
                var t = (Alpha * x) + Beta;
                return t > 0f && t < 1f ? g * Alpha : 0f;
            case (int)ActivationKind.HardSwish:
                return x < -3f ? 0f : x <= 3f ? g * ((x / 3f) + 0.5f) : g;
            default:
                return g;
        }
    }
}
