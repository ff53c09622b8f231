using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Salient.Bench.TorchSharp;

/// <summary>
/// The explanation methods bench/torch_explain.py times, written the way a TorchSharp user would:
/// every image of the batch gets its own top-1 target (raw logit); maps are (N, H, W).
/// </summary>
internal static class Explanations
{
    private static readonly Dictionary<string, Func<VisionModel, Func<Tensor, Tensor>>> s_methods = new(StringComparer.Ordinal)
    {
        ["gradcam"] = GradCam,
        ["guided-backprop"] = GuidedBackprop,
    };

    public static Func<Tensor, Tensor> Create(string method, VisionModel model) =>
        s_methods.TryGetValue(method, out var make)
            ? make(model)
            : throw new ArgumentException($"unknown method '{method}' (known: {string.Join(", ", s_methods.Keys)})");

    /// <summary>
    /// Grad-CAM with the backward pass only from the logits to the last convolutional activation
    /// (torch_explain.py's "gradcam"): the features run without a graph (frozen parameters), the
    /// graph starts at their output.
    /// </summary>
    private static Func<Tensor, Tensor> GradCam(VisionModel model) => x =>
    {
        var activation = model.Features(x).detach().requires_grad_(true);
        var logits = model.Classify(activation);
        var gradient = autograd.grad([TopScore(logits)], [activation])[0];
        var raw = (gradient.mean([2, 3], keepdim: true) * activation.detach()).sum(1);
        // ReLU, half-pixel bilinear resize to the input, min-max per image: the project's CAM map.
        var map = functional.interpolate(raw.clamp_min(0).unsqueeze(1), [x.shape[2], x.shape[3]],
            mode: InterpolationMode.Bilinear, align_corners: false).squeeze(1);
        map = map - map.amin([-2, -1], keepdim: true);
        return map / (map.amax([-2, -1], keepdim: true) + 1e-7);
    };

    /// <summary>Guided backprop: every rectifier's backward replaced by the guided rule;
    /// map = max over channels of |input gradient|, divided by its maximum.</summary>
    private static Func<Tensor, Tensor> GuidedBackprop(VisionModel model)
    {
        model.Rectifier.Guided = true;
        return x =>
        {
            var input = x.clone().requires_grad_(true);
            var gradient = autograd.grad([TopScore(model.forward(input))], [input])[0];
            var map = gradient.abs().amax([1]);
            return map / (map.amax([-2, -1], keepdim: true) + 1e-10);
        };
    }

    /// <summary>Sum over the batch of each image's top-1 logit.</summary>
    private static Tensor TopScore(Tensor logits) => logits.gather(1, logits.argmax(1).unsqueeze(1)).sum();
}
