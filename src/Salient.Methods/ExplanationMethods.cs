using Salient.Engine;
using Salient.Methods.Attribution;
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

    /// <summary>
    /// Contrast and weighted-sum targets (<see cref="TargetSelection.Weighted"/>): the method explains each target by backpropagating
    /// its score from the seed <see cref="Explainer"/> puts on the logits (the score's gradient), so any linear score of the logits works.
    /// </summary>
    WeightedTargets = 4,
}

/// <summary>One registered explanation method: its name, the options it accepts, and how to make its explainer.</summary>
/// <param name="Name">The name the CLI, the API and the output files use, e.g. <c>gradcam</c>.</param>
/// <param name="Accepts">The options it accepts beyond the common ones.</param>
/// <param name="Create">Makes the explainer for a model and options (already checked against <paramref name="Accepts"/>); throws <see cref="ArgumentException"/> when the method cannot apply to the model.</param>
public sealed record ExplanationMethod(string Name, MethodOptions Accepts, Func<Model, ExplainOptions, Explainer> Create)
{
    /// <summary>The method's own numeric parameters (<see cref="ExplainOptions.Parameters"/>, the CLI's <c>--param NAME=VALUE</c>) with their defaults; <see cref="Explainer.Create"/> refuses others.</summary>
    public IReadOnlyList<MethodParameter> Parameters { get; init; } = [];
}

/// <summary>A numeric parameter of one method, e.g. Occlusion's window.</summary>
/// <param name="Name">The name in <see cref="ExplainOptions.Parameters"/>.</param>
/// <param name="Default">The value used when the options do not set it.</param>
/// <param name="Description">What it sets, for help texts and errors.</param>
public sealed record MethodParameter(string Name, double Default, string Description);

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
        new("gradcam", MethodOptions.Denoise | MethodOptions.WeightedTargets, (m, o) => new GradCam(m, o)),
        new("gradcam++", MethodOptions.Denoise | MethodOptions.WeightedTargets, (m, o) => new GradCamPlusPlus(m, o)),
        new("xgradcam", MethodOptions.Denoise | MethodOptions.WeightedTargets, (m, o) => new XGradCam(m, o)),
        new("layercam", MethodOptions.Denoise | MethodOptions.WeightedTargets, (m, o) => new LayerCam(m, o)),
        new("hirescam", MethodOptions.WeightedTargets, (m, o) => new HiResCam(m, o)),
        new("scorecam", MethodOptions.None, (m, o) => new ScoreCam(m, o)),
        new("ablationcam", MethodOptions.None, (m, o) => new AblationCam(m, o)),
        new("eigencam", MethodOptions.None, (m, o) => new EigenCam(m, o)),
        new("gradient", MethodOptions.Smooth | MethodOptions.WeightedTargets, (m, o) => new VanillaGradient(m, o)),
        new("gradxinput", MethodOptions.Smooth | MethodOptions.WeightedTargets, (m, o) => new GradientTimesInput(m, o)),
        new("guided-backprop", MethodOptions.Smooth | MethodOptions.WeightedTargets, (m, o) => new GuidedBackprop(m, o)),
        new("guided-gradcam", MethodOptions.Smooth | MethodOptions.WeightedTargets, (m, o) => new GuidedGradCam(m, o)),
        new("integrated-gradients", MethodOptions.Smooth | MethodOptions.WeightedTargets, (m, o) => new IntegratedGradients(m, o)),
        new("tsgb", MethodOptions.Smooth | MethodOptions.WeightedTargets, (m, o) => new Tsgb(m, o)),
        new("gradcam-elementwise", MethodOptions.Denoise | MethodOptions.WeightedTargets, (m, o) => new GradCamElementWise(m, o)),
        new("eigengradcam", MethodOptions.WeightedTargets, (m, o) => new EigenGradCam(m, o)),
        new("fem", MethodOptions.None, (m, o) => new Fem(m, o)) { Parameters = [new("k", 2, "threshold: channel mean + k standard deviations")] },
        new("randomcam", MethodOptions.None, (m, o) => new RandomCam(m, o)),
        new("fullgrad", MethodOptions.WeightedTargets, (m, o) => new FullGrad(m, o)),
        new("kpcacam", MethodOptions.None, (m, o) => new KpcaCam(m, o))
        {
            Parameters =
            [
                new("kernel", 0, "0 sigmoid, 1 RBF, 2 polynomial, 3 linear, 4 cosine"), new("gamma", 0, "kernel coefficient γ; 0: 1/channels"),
                new("coef0", 1, "sigmoid and polynomial offset"), new("degree", 3, "polynomial degree"),
            ],
        },
        new("finercam", MethodOptions.None, (m, o) => new FinerCam(m, o))
        {
            Parameters = [new("alpha", 1, "weight of the compared classes' logits"), new("comparisons", 3, "the classes with the nearest logits compared against")],
        },
        new("dff", MethodOptions.None, (m, o) => new DeepFeatureFactorization(m, o))
        {
            Parameters = [new("components", 5, "concepts the layer is factored into"), new("iterations", 200, "multiplicative updates of the factorisation")],
        },
        new("shapleycam", MethodOptions.None, (m, o) => new ShapleyCam(m, o)),
        new("smoothgrad-sq", MethodOptions.Smooth | MethodOptions.WeightedTargets, (m, o) => new SmoothGradSquared(m, o)),
        new("vargrad", MethodOptions.Smooth | MethodOptions.WeightedTargets, (m, o) => new VarGrad(m, o)),
        new("deconvolution", MethodOptions.Smooth | MethodOptions.WeightedTargets, (m, o) => new Deconvolution(m, o)),
        new("gradientshap", MethodOptions.WeightedTargets, (m, o) => new GradientShap(m, o))
        {
            Parameters = [new("samples", 16, "random points per image"), new("baseline", 0, "constant baseline value"), new("stdev", 0, "input noise standard deviation")],
        },
        new("occlusion", MethodOptions.None, (m, o) => new Occlusion(m, o))
        {
            Parameters = [new("window", 16, "square window side, pixels"), new("stride", 8, "window step, pixels (≤ window)"), new("baseline", 0, "value of occluded pixels")],
        },
        new("feature-ablation", MethodOptions.None, (m, o) => new FeatureAblation(m, o))
        {
            Parameters = [new("cell", 16, "grid feature side, pixels"), new("baseline", 0, "value of ablated pixels")],
        },
        new("shapley-sampling", MethodOptions.None, (m, o) => new ShapleySampling(m, o))
        {
            Parameters = [new("cell", 32, "grid feature side, pixels"), new("permutations", 25, "random feature orders"), new("baseline", 0, "value of absent features")],
        },
        new("kernelshap", MethodOptions.None, (m, o) => new KernelShap(m, o))
        {
            Parameters = [new("cell", 32, "grid feature side, pixels"), new("samples", 500, "random coalitions"), new("baseline", 0, "value of absent features")],
        },
        new("lime", MethodOptions.None, (m, o) => new Lime(m, o))
        {
            Parameters =
            [
                new("cell", 32, "grid feature side, pixels"), new("samples", 1000, "samples, the image itself included"), new("baseline", 0, "value of absent features"),
                new("kernel-width", 0.25, "width of the similarity kernel on the cosine distance"), new("ridge", 1, "ridge penalty of the fit"),
            ],
        },
        new("deeplift", MethodOptions.WeightedTargets, (m, o) => new DeepLift(m, o)) { Parameters = [new("baseline", 0, "constant baseline value")] },
        new("deepliftshap", MethodOptions.WeightedTargets, (m, o) => new DeepLiftShap(m, o))
        {
            Parameters = [new("samples", 8, "baselines per image"), new("baseline", 0, "mean of the baselines"), new("stdev", 1, "standard deviation of the baselines' noise")],
        },
        new("lrp", MethodOptions.WeightedTargets, (m, o) => new Lrp(m, o))
        {
            Parameters = [new("epsilon", 1e-9, "stabiliser of every layer's denominator"), new("gamma", 0, "γ rule W + γ·W⁺ on convolutions and linear layers when > 0")],
        },
        new("lrp-zplus", MethodOptions.WeightedTargets, (m, o) => new LrpZPlus(m, o)) { Parameters = [new("epsilon", 1e-9, "stabiliser of every layer's denominator")] },
        new("lrp-alphabeta", MethodOptions.WeightedTargets, (m, o) => new LrpAlphaBeta(m, o))
        {
            Parameters =
            [
                new("alpha", 2, "weight of the positive contributions"), new("beta", 1, "weight of the negative contributions (α − β = 1 conserves relevance)"),
                new("epsilon", 1e-9, "stabiliser of every layer's denominator"),
            ],
        },
        new("rise", MethodOptions.None, (m, o) => new Rise(m, o))
        {
            Parameters = [new("masks", 4000, "random masks per image"), new("cell", 32, "mask cell side, pixels"), new("p", 0.5, "probability a cell is kept")],
        },
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

    /// <summary>
    /// Parses method parameters written <c>NAME=VALUE</c> (the CLI's <c>--param</c>; a number with a
    /// dot for decimals), the last value of a name winning. Throws <see cref="FormatException"/> naming a malformed one.
    /// </summary>
    public static IReadOnlyDictionary<string, double> ParseParameters(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var parameters = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            var equals = text.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || !double.TryParse(text.AsSpan(equals + 1), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value)
                || !double.IsFinite(value))
            {
                throw new FormatException($"Method parameter '{text}' is not NAME=NUMBER.");
            }

            parameters[text[..equals].Trim()] = value;
        }

        return parameters;
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
