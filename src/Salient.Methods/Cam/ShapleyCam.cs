using Salient.Engine;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;
using Salient.Methods.Internal;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Cam;

/// <summary>
/// Shapley-CAM (Cai et al., 2025; pytorch-grad-cam's ShapleyCAM with its ClassifierOutputReST target):
/// Grad-CAM with the gradient G of each target's ReST score S = 2·y_t − log Σ e^y (<see cref="TargetSelection.Rest"/>)
/// replaced by G − ½·H·A, H = ∂²S/∂A² at the layer and A its activations. H·A = Jᵀ·∇²S·(J·A) + Σ_k ∂S/∂y_k·∇²y_k·A,
/// J = ∂y/∂A: J·A is one forward-mode pass per layer (<see cref="Model.Tangent"/> along A), ∇²S = −(diag p − p·pᵀ)
/// is the same for every target, and Jᵀ of the result one backward pass per layer. After a layer from which the
/// network is piecewise linear, ∂²y/∂A² = 0 almost everywhere and that is all; after any other layer the second
/// term is the engine's Hessian-vector product of the seeded score (<see cref="Model.HessianVector"/>, seed ∂S/∂y),
/// one per layer and target slot. Every step after such a layer must have a second-order rule: the explainer is refused
/// when it is created, naming the first node and operator without one (<see cref="Model.CheckHessianVector"/>).
/// </summary>
internal sealed class ShapleyCam : GradCam
{
    // The layers after which the network is not piecewise linear: their H·A has the logits' own curvature too.
    private readonly string[] _curved;

    public ShapleyCam(Model model, ExplainOptions options)
        : base(model, options)
    {
        _curved = [.. Layers.Where(layer => NetworkTail.FirstNonAffineNode(Model, layer, allowKinks: true) is not null)];
        foreach (var layer in _curved)
        {
            // Up front, not when the first item runs: every step after the layer needs a second-order rule.
            try
            {
                Model.CheckHessianVector(layer, Model.BatchInputShape(1), fuseInRegion: true);
            }
            catch (ModelException e)
            {
                throw new ModelException($"Model '{Model.Name}': shapleycam at layer '{layer}' needs the Hessian-vector product of every step after it; {e.Message}", e);
            }
        }
    }

    protected override void Run(Tensor batch, TargetSelection selection, List<Explanation> results)
    {
        // Explain refuses contrast and weighted-sum targets (not registered with MethodOptions.WeightedTargets): the score is ReST.
        ArgumentNullException.ThrowIfNull(selection);
        base.Run(batch, TargetSelection.Rest(selection), results);
    }

    private protected override Func<int, Dictionary<string, Tensor>> LayerGradients(ForwardRecord record, TargetSelection selection, IReadOnlyList<int>[] targets, IBackwardRules? rules)
    {
        var gradientsOf = base.LayerGradients(record, selection, targets, rules);
        var correction = HalfHessianTimesActivations(record);
        var logits = record.Value(Model.OutputNames[0]);
        return slot =>
        {
            var gradients = gradientsOf(slot);
            try
            {
                foreach (var (layer, values) in correction)
                {
                    var gradient = gradients[layer];
                    using var host = Tensor.FromSpan(values, gradient.Shape);
                    var onDevice = host.To(Model.Backend);
                    Model.Backend.Accumulate(MapFusion.Sum, onDevice.Data, gradient.Data);
                    if (!ReferenceEquals(onDevice, host))
                    {
                        onDevice.Dispose();
                    }
                }

                foreach (var layer in _curved)
                {
                    // −½·Σ_k ∂S/∂y_k·∇²y_k·A: the Hessian-vector product of this slot's score along A (its gradient is the base's).
                    var (gradient, product) = Model.HessianVector(record, layer, record.Value(layer), SeedFor(logits, selection, targets, slot));
                    gradient.Dispose();
                    using (product)
                    {
                        Model.Backend.Map(new MapFunction(MapFunctionKind.Scale, -0.5f), product.Data, product.Data);
                        Model.Backend.Accumulate(MapFusion.Sum, product.Data, gradients[layer].Data);
                    }
                }
            }
            catch
            {
                foreach (var gradient in gradients.Values)
                {
                    gradient.Dispose();
                }

                throw;
            }

            return gradients;
        };
    }

    /// <summary>−½·H·A per layer, H·A = Jᵀ·∇²S·(J·A) with ∇²S = −(diag p − p·pᵀ) per image, laid out as the layer's value.</summary>
    private Dictionary<string, float[]> HalfHessianTimesActivations(ForwardRecord record)
    {
        var output = Model.OutputNames[0];
        using var logits = OnHost(record.Value(output));
        var (images, classes) = (logits.Value.Dim(0), logits.Value.Length / logits.Value.Dim(0));
        var correction = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var layer in Layers)
        {
            // (J·A)[b, k] = ⟨∂y_k/∂A_b, A_b⟩ for every class and image at once: the logits' tangent along A itself.
            using var tangent = Model.Tangent(record, layer, record.Value(layer))[output];
            using var directional = OnHost(tangent);
            var seed = Tensor.Zeros(logits.Value.Shape);
            for (var b = 0; b < images; b++)
            {
                var p = ClassScores.Softmax.Probabilities(logits.Value.Span.Slice(b * classes, classes));
                var u = directional.Value.Span.Slice(b * classes, classes);
                var pu = 0.0;
                for (var k = 0; k < classes; k++)
                {
                    pu += p[k] * u[k];
                }

                // ∇²S·u = −(p ⊙ u − p·(pᵀu)); seeded scaled by −½ so the backward pass gives −½·H·A directly.
                for (var k = 0; k < classes; k++)
                {
                    seed.Span[(b * classes) + k] = (float)(0.5 * p[k] * (u[k] - pu));
                }
            }

            var gradients = Model.Backward(record, seed, [layer]);
            using var gradient = gradients[layer];
            using var onHost = OnHost(gradient);
            correction[layer] = onHost.Value.Span.ToArray();
        }

        return correction;
    }
}
