using Salient.Engine;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Cam;

/// <summary>
/// Shapley-CAM (Cai et al., 2025; pytorch-grad-cam's ShapleyCAM with its ClassifierOutputReST target):
/// Grad-CAM with the gradient G of each target's ReST score S = 2·y_t − log Σ e^y (<see cref="TargetSelection.Rest"/>)
/// replaced by G − ½·H·A, H = ∂²S/∂A² at the layer and A its activations. After a layer from which the
/// network is piecewise linear, ∂²y/∂A² = 0 almost everywhere and H = Jᵀ·∇²S·J exactly, J = ∂y/∂A: J·A
/// takes one backward pass per class (row k of J is class k's gradient), ∇²S = −(diag p − p·pᵀ) is the same for
/// every target, and Jᵀ of the result one more backward pass per layer. Layers after which the network is not
/// piecewise linear are refused at construction.
/// </summary>
internal sealed class ShapleyCam : GradCam
{
    /// <summary>Operators whose output is piecewise linear in their inputs (given constant weights and shapes).</summary>
    private static readonly HashSet<string> PiecewiseLinear = new(StringComparer.Ordinal)
    {
        "Relu", "LeakyRelu", "PRelu", "Clip", "MaxPool", "GlobalMaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization",
        "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Identity", "Dropout", "Concat", "Pad", "Slice", "Split", "Gather",
        "ReduceMean", "ReduceSum", "Add", "Sub", "Neg",
    };

    /// <summary>Operators linear in each input alone: piecewise linear while only one of their inputs depends on the layer.</summary>
    private static readonly HashSet<string> LinearInEachInput = new(StringComparer.Ordinal) { "Conv", "Gemm", "MatMul", "Mul" };

    public ShapleyCam(Model model, ExplainOptions options)
        : base(model, options)
    {
        foreach (var layer in Layers)
        {
            CheckPiecewiseLinearAfter(layer);
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
        return slot =>
        {
            var gradients = gradientsOf(slot);
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

            return gradients;
        };
    }

    /// <summary>−½·H·A per layer, H·A = Jᵀ·∇²S·(J·A) with ∇²S = −(diag p − p·pᵀ) per image, laid out as the layer's value.</summary>
    private Dictionary<string, float[]> HalfHessianTimesActivations(ForwardRecord record)
    {
        using var logits = OnHost(record.Value(Model.OutputNames[0]));
        var (images, classes) = (logits.Value.Dim(0), logits.Value.Length / logits.Value.Dim(0));
        var activations = Layers.ToDictionary(l => l, l => OnHost(record.Value(l)));
        try
        {
            // (J·A)[b, k] = ⟨∂y_k/∂A_b, A_b⟩: class k's gradient, seeded for every image at once.
            var directional = Layers.ToDictionary(l => l, _ => new double[images * classes]);
            for (var k = 0; k < classes; k++)
            {
                using var seed = Tensor.Zeros(logits.Value.Shape);
                for (var b = 0; b < images; b++)
                {
                    seed.Span[(b * classes) + k] = 1f;
                }

                ForEachImageGradient(record, seed, activations, (layer, b, gradient, a) => directional[layer][(b * classes) + k] = Dot(gradient, a));
            }

            var correction = new Dictionary<string, float[]>(StringComparer.Ordinal);
            foreach (var layer in Layers)
            {
                using var seed = Tensor.Zeros(logits.Value.Shape);
                for (var b = 0; b < images; b++)
                {
                    var p = ClassScores.Softmax.Probabilities(logits.Value.Span.Slice(b * classes, classes));
                    var u = directional[layer].AsSpan(b * classes, classes);
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

                var values = new float[activations[layer].Value.Length];
                var perImage = values.Length / images;
                ForEachImageGradient(record, seed, activations, (name, b, gradient, _) =>
                {
                    if (name == layer)
                    {
                        gradient.CopyTo(values.AsSpan(b * perImage, perImage));
                    }
                });
                correction[layer] = values;
            }

            return correction;
        }
        finally
        {
            foreach (var a in activations.Values)
            {
                a.Dispose();
            }
        }
    }

    /// <summary>One plain backward pass from <paramref name="seed"/>; <paramref name="read"/> gets each layer's gradient and activations of each image, on the host.</summary>
    private void ForEachImageGradient(ForwardRecord record, Tensor seed, Dictionary<string, Borrowed> activations, ImageGradientAction read)
    {
        var gradients = Model.Backward(record, seed, Layers);
        try
        {
            foreach (var layer in Layers)
            {
                using var gradient = OnHost(gradients[layer]);
                var a = activations[layer].Value;
                var perImage = a.Length / a.Dim(0);
                for (var b = 0; b < a.Dim(0); b++)
                {
                    read(layer, b, gradient.Value.Span.Slice(b * perImage, perImage), a.Span.Slice(b * perImage, perImage));
                }
            }
        }
        finally
        {
            foreach (var g in gradients.Values)
            {
                g.Dispose();
            }
        }
    }

    /// <summary>⟨x, y⟩ summed in double.</summary>
    private static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var sum = 0.0;
        for (var i = 0; i < x.Length; i++)
        {
            sum += (double)x[i] * y[i];
        }

        return sum;
    }

    private delegate void ImageGradientAction(string layer, int image, ReadOnlySpan<float> gradient, ReadOnlySpan<float> activations);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first node after <paramref name="layer"/> that is not piecewise linear in it.</summary>
    private void CheckPiecewiseLinearAfter(string layer)
    {
        var dependent = new HashSet<string>(StringComparer.Ordinal) { layer };
        foreach (var node in Model.Graph.Nodes)
        {
            var reading = node.Inputs.Count(dependent.Contains);
            // A shape does not change with the values it is read from.
            if (reading == 0 || node.OpType == "Shape")
            {
                continue;
            }

            var linear = PiecewiseLinear.Contains(node.OpType) || (LinearInEachInput.Contains(node.OpType) && reading == 1)
                || (node.OpType == "Div" && reading == 1 && dependent.Contains(node.Inputs[0]));
            if (!linear)
            {
                throw new ArgumentException($"shapleycam's Hessian-vector product is exact only where the network is piecewise linear after the layer (ReLU, max and average pooling, convolutions and linear layers with constant weights, batch norm, views, sums); {node.Describe()} after '{layer}' is not. Use a later layer or another method.");
            }

            foreach (var output in node.Outputs)
            {
                dependent.Add(output);
            }
        }
    }
}
