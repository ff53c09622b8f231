using Salient.Engine;

namespace Salient.Methods.Gradients;

/// <summary>The gradient of the target's logit with respect to the input (saliency maps, Simonyan et al.).</summary>
internal sealed class VanillaGradient(Model model, ExplainOptions options) : GradientExplainer(model, options);
