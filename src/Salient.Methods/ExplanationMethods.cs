using Salient.Engine;
using Salient.Methods.Cam;
using Salient.Methods.Gradients;

namespace Salient.Methods;

/// <summary>The options a method accepts beyond the common ones; <see cref="Explainer.Create"/> refuses the others.</summary>
[Flags]
public enum MethodOptions
{
    /// <summary>Only the common options.</summary>
    None = 0,

    /// <summary>SmoothGrad (<see cref="ExplainOptions.SmoothSamples"/>, <see cref="ExplainOptions.SmoothNoise"/>).</summary>
    Smooth = 1,

    /// <summary>Gradient truncation of shallow layers (<see cref="ExplainOptions.Denoise"/> and its quantile and tanh).</summary>
    Denoise = 2,
}

/// <summary>One registered explanation method: its name, the options it accepts, and how to make its explainer.</summary>
/// <param name="Name">The name the CLI, the API and the output files use, e.g. <c>gradcam</c>.</param>
/// <param name="Accepts">The options it accepts beyond the common ones.</param>
/// <param name="Create">Makes the explainer for a model and options (already checked against <paramref name="Accepts"/>); throws <see cref="ArgumentException"/> when the method cannot apply to the model.</param>
public sealed record ExplanationMethod(string Name, MethodOptions Accepts, Func<Model, ExplainOptions, Explainer> Create);

/// <summary>
/// The explanation methods by name. The built-in ones are registered here, one line each;
/// a library or a test adds its own with <see cref="Register"/>.
/// </summary>
public static class ExplanationMethods
{
    private static readonly Lock Gate = new();
    private static readonly List<ExplanationMethod> Registered =
    [
        new("cam", MethodOptions.None, (m, o) => new ClassActivationMap(m, o)),
        new("gradcam", MethodOptions.Denoise, (m, o) => new GradCam(m, o)),
        new("gradcam++", MethodOptions.Denoise, (m, o) => new GradCamPlusPlus(m, o)),
        new("xgradcam", MethodOptions.Denoise, (m, o) => new XGradCam(m, o)),
        new("layercam", MethodOptions.Denoise, (m, o) => new LayerCam(m, o)),
        new("hirescam", MethodOptions.None, (m, o) => new HiResCam(m, o)),
        new("scorecam", MethodOptions.None, (m, o) => new ScoreCam(m, o)),
        new("ablationcam", MethodOptions.None, (m, o) => new AblationCam(m, o)),
        new("eigencam", MethodOptions.None, (m, o) => new EigenCam(m, o)),
        new("gradient", MethodOptions.Smooth, (m, o) => new VanillaGradient(m, o)),
        new("gradxinput", MethodOptions.Smooth, (m, o) => new GradientTimesInput(m, o)),
        new("guided-backprop", MethodOptions.Smooth, (m, o) => new GuidedBackprop(m, o)),
        new("guided-gradcam", MethodOptions.Smooth, (m, o) => new GuidedGradCam(m, o)),
        new("integrated-gradients", MethodOptions.Smooth, (m, o) => new IntegratedGradients(m, o)),
        new("tsgb", MethodOptions.Smooth, (m, o) => new Tsgb(m, o)),
    ];

    /// <summary>Every registered name, in registration order.</summary>
    public static IReadOnlyList<string> Names
    {
        get
        {
            lock (Gate)
            {
                return [.. Registered.Select(m => m.Name)];
            }
        }
    }

    /// <summary>Adds a method. Throws <see cref="ArgumentException"/> when the name is taken or empty.</summary>
    public static void Register(ExplanationMethod method)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentException.ThrowIfNullOrWhiteSpace(method.Name);
        ArgumentNullException.ThrowIfNull(method.Create);
        lock (Gate)
        {
            if (Registered.Any(m => m.Name == method.Name))
            {
                throw new ArgumentException($"An explanation method named '{method.Name}' is already registered.", nameof(method));
            }

            Registered.Add(method);
        }
    }

    /// <summary>The method named <paramref name="name"/>; throws <see cref="ArgumentException"/> listing the registered names when there is none.</summary>
    public static ExplanationMethod Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (Gate)
        {
            return Registered.Find(m => m.Name == name)
                ?? throw new ArgumentException($"Unknown method '{name}'. Valid methods: {string.Join(", ", Registered.Select(m => m.Name))}.");
        }
    }

    /// <summary>The methods that accept <paramref name="option"/>, as an error message lists them.</summary>
    internal static string Describe(MethodOptions option)
    {
        lock (Gate)
        {
            return string.Join(", ", Registered.Where(m => m.Accepts.HasFlag(option)).Select(m => m.Name));
        }
    }
}
