using System.Numerics.Tensors;
using Salient.Engine;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Internal;

/// <summary>
/// The CAM family: a weighted sum of a layer's activation maps, weighted from gradients (Grad-CAM,
/// Grad-CAM++, XGrad-CAM, LayerCAM, HiResCAM), from the classifier (CAM), from masked or ablated
/// forward passes (Score-CAM, Ablation-CAM) or from the principal component (Eigen-CAM).
/// Formulas: specs/cam-methods.md.
/// </summary>
internal sealed class CamExplainer : Explainer
{
    private readonly Architecture _architecture;
    private readonly string _deepLayer;

    public CamExplainer(Model model, ExplainOptions options, IReadOnlyList<string> layers, Architecture architecture)
        : base(model, options, layers)
    {
        _architecture = architecture;
        _deepLayer = architecture.DefaultLayer();
    }

    private bool UsesGradients => Options.Method is "gradcam" or "gradcam++" or "xgradcam" or "layercam" or "hirescam";

    private LayerFusion Fusion => Options.Fuse ?? (Options.Denoise is null ? LayerFusion.Mean : LayerFusion.Max);

    private protected override void Run(Tensor batch, TargetSelection selection, List<Explanation> results)
    {
        if (UsesGradients)
        {
            RunGradientWeighted(batch, selection, results);
            return;
        }

        var observed = Model.Forward(batch, [.. Layers]);
        try
        {
            var logits = observed[Model.OutputNames[0]];
            var targets = SelectTargets(logits, selection);
            for (var b = 0; b < targets.Length; b++)
            {
                var perTarget = targets[b].Select(_ => new List<(Tensor Raw, Tensor Map)>()).ToArray();
                foreach (var layer in Layers)
                {
                    using var maps = _architecture.Maps(layer, observed[layer]);
                    var activation = maps.Value;
                    var raws = Options.Method switch
                    {
                        "cam" => ClassifierWeighted(activation, b, targets[b], _architecture.ClassifierWeightsAfter(layer)),
                        "eigencam" => targets[b].Select(_ => PrincipalComponent(activation, b)).ToArray(),
                        "scorecam" => ScoreWeighted(batch, activation, b, targets[b]),
                        _ => AblationWeighted(batch, logits, layer, activation, b, targets[b]),
                    };
                    for (var t = 0; t < raws.Length; t++)
                    {
                        perTarget[t].Add((raws[t], LayerMap(raws[t], batch)));
                    }
                }

                for (var t = 0; t < perTarget.Length; t++)
                {
                    results.Add(Combine(logits, b, targets[b][t], perTarget[t]));
                }
            }
        }
        finally
        {
            foreach (var tensor in observed.Values)
            {
                tensor.Dispose();
            }
        }
    }

    private void RunGradientWeighted(Tensor batch, TargetSelection selection, List<Explanation> results)
    {
        var rules = Options.Denoise == DenoiseMode.Backprop ? new TruncationRules(Model, Layers, _deepLayer, Options.DenoiseQuantile) : null;
        // Truncation hooks values an activation fused into its producer would hide.
        using var record = Model.RecordForward(batch, Layers, Layers, fuseInRegion: rules is null);
        var logits = record.Value(Model.OutputNames[0]);
        var targets = SelectTargets(logits, selection);
        var slots = targets.Max(t => t.Count);
        for (var slot = 0; slot < slots; slot++)
        {
            var gradients = Model.Backward(record, Seed(logits, targets, slot), Layers, rules);
            try
            {
                for (var b = 0; b < targets.Length; b++)
                {
                    if (slot >= targets[b].Count)
                    {
                        continue;
                    }

                    var layers = new List<(Tensor Raw, Tensor Map)>();
                    foreach (var layer in Layers)
                    {
                        var truncate = Options.Denoise is not null && layer != _deepLayer;
                        using var activation = _architecture.Maps(layer, record.Value(layer));
                        using var gradient = _architecture.Maps(layer, gradients[layer]);
                        var raw = GradientWeighted(activation.Value, gradient.Value, b, truncate);
                        layers.Add((raw, LayerMap(raw, batch)));
                    }

                    results.Add(Combine(logits, b, targets[b][slot], layers));
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
    }

    /// <summary>The raw map Σ_k w_k·A_k (or the element-wise form) of image <paramref name="b"/> from its activations and gradients.</summary>
    private Tensor GradientWeighted(Tensor activations, Tensor gradients, int b, bool truncate)
    {
        var (k, h, w) = (activations.Dim(1), activations.Dim(2), activations.Dim(3));
        var plane = h * w;
        var a = activations.Span.Slice(b * k * plane, k * plane);
        var g = gradients.Span.Slice(b * k * plane, k * plane).ToArray();
        if (truncate)
        {
            // The backprop mode has already truncated along the way; the layer itself gets floor.
            Truncation.Apply(Options.Denoise == DenoiseMode.Backprop ? DenoiseMode.Floor : Options.Denoise!.Value, Options.DenoiseQuantile, g);
        }

        var raw = Tensor.Zeros(h, w);
        var map = raw.Span;
        var scratch = new float[plane];
        for (var c = 0; c < k; c++)
        {
            var ac = a.Slice(c * plane, plane);
            var gc = g.AsSpan(c * plane, plane);
            switch (Options.Method)
            {
                case "layercam":
                    TensorPrimitives.Max(gc, 0f, scratch);
                    TensorPrimitives.MultiplyAdd(scratch, ac, map, map);
                    break;
                case "hirescam":
                    TensorPrimitives.MultiplyAdd(gc, ac, map, map);
                    break;
                default:
                    TensorPrimitives.MultiplyAdd(ac, ChannelWeight(ac, gc, scratch), map, map);
                    break;
            }
        }

        return raw;
    }

    /// <summary>One channel's weight w_k, as pytorch-grad-cam computes it.</summary>
    private float ChannelWeight(ReadOnlySpan<float> a, ReadOnlySpan<float> g, Span<float> scratch)
    {
        switch (Options.Method)
        {
            case "gradcam":
                return TensorPrimitives.Sum(g) / g.Length;
            case "xgradcam":
                return TensorPrimitives.Dot(g, a) / (TensorPrimitives.Sum(a) + 1e-7f);
            default:
                // Grad-CAM++: α = G² / (2G² + ΣA·G³ + 1e-6), 0 where G = 0; w = Σ relu(G)·α.
                var sumA = TensorPrimitives.Sum(a);
                var weight = 0f;
                for (var i = 0; i < g.Length; i++)
                {
                    var gi = g[i];
                    if (gi > 0f)
                    {
                        var g2 = gi * gi;
                        weight += gi * (g2 / ((2 * g2) + (sumA * g2 * gi) + 1e-6f));
                    }
                }

                return weight;
        }
    }

    private static Tensor[] ClassifierWeighted(Tensor activations, int b, IReadOnlyList<int> targets, float[,] weights)
    {
        var (k, h, w) = (activations.Dim(1), activations.Dim(2), activations.Dim(3));
        var plane = h * w;
        var a = activations.Span.Slice(b * k * plane, k * plane);
        var raws = new Tensor[targets.Count];
        for (var t = 0; t < targets.Count; t++)
        {
            raws[t] = Tensor.Zeros(h, w);
            for (var c = 0; c < k; c++)
            {
                TensorPrimitives.MultiplyAdd(a.Slice(c * plane, plane), weights[targets[t], c], raws[t].Span, raws[t].Span);
            }
        }

        return raws;
    }

    /// <summary>Eigen-CAM: the activations projected on their first principal component (sign chosen so the largest magnitude is positive).</summary>
    private static Tensor PrincipalComponent(Tensor activations, int b)
    {
        var (k, h, w) = (activations.Dim(1), activations.Dim(2), activations.Dim(3));
        var plane = h * w;
        var a = activations.Span.Slice(b * k * plane, k * plane);

        // X = A reshaped to [h·w, K], each channel centred over the positions.
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

        var flip = projection.Max() < -projection.Min() ? -1.0 : 1.0;
        var raw = Tensor.Uninitialized(h, w);
        for (var i = 0; i < plane; i++)
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

    /// <summary>Score-CAM: w = softmax_k of the target's logit on the input masked by each upsampled, min-max scaled channel.</summary>
    private Tensor[] ScoreWeighted(Tensor batch, Tensor activations, int b, IReadOnlyList<int> targets)
    {
        var (k, h, w) = (activations.Dim(1), activations.Dim(2), activations.Dim(3));
        var (channels, height, width) = (batch.Dim(1), batch.Dim(2), batch.Dim(3));
        var plane = h * w;
        var imagePlane = height * width;
        var image = batch.Span.Slice(b * channels * imagePlane, channels * imagePlane);
        using var masks = Tensor.Uninitialized(k, height, width);
        Model.Backend.ResizeBilinear(k, h, w, activations.Span.Slice(b * k * plane, k * plane), height, width, masks.Span, alignCorners: true);
        for (var c = 0; c < k; c++)
        {
            var mask = masks.Span.Slice(c * imagePlane, imagePlane);
            var min = TensorPrimitives.Min(mask);
            TensorPrimitives.Subtract(mask, min, mask);
            TensorPrimitives.Multiply(mask, 1f / (TensorPrimitives.Max(mask) + 1e-8f), mask);
        }

        var scores = targets.Select(_ => new float[k]).ToArray();
        var used = Math.Min(k, Options.ChannelLimit ?? k);
        for (var start = 0; start < used; start += Options.InnerBatch)
        {
            var count = Math.Min(Options.InnerBatch, used - start);
            using var masked = Tensor.Uninitialized(count, channels, height, width);
            for (var j = 0; j < count; j++)
            {
                var mask = masks.Span.Slice((start + j) * imagePlane, imagePlane);
                for (var ch = 0; ch < channels; ch++)
                {
                    TensorPrimitives.Multiply(image.Slice(ch * imagePlane, imagePlane), mask, masked.Span.Slice(((j * channels) + ch) * imagePlane, imagePlane));
                }
            }

            using var logits = Model.Forward(masked);
            var classes = logits.Length / count;
            for (var t = 0; t < targets.Count; t++)
            {
                for (var j = 0; j < count; j++)
                {
                    scores[t][start + j] = logits.Span[(j * classes) + targets[t]];
                }
            }
        }

        return [.. scores.Select(s => WeightedSum(activations, b, Softmax(s)))];
    }

    /// <summary>Ablation-CAM: w_k = (y − y_k) / y, with y_k the target's logit when channel k of the layer is zeroed.</summary>
    private Tensor[] AblationWeighted(Tensor batch, Tensor logits, string layer, Tensor activations, int b, IReadOnlyList<int> targets)
    {
        var k = activations.Dim(1);
        var classes = logits.Length / logits.Dim(0);
        var imageSize = batch.Length / batch.Dim(0);
        var weights = targets.Select(_ => new float[k]).ToArray();
        var used = Math.Min(k, Options.ChannelLimit ?? k);
        for (var start = 0; start < used; start += Options.InnerBatch)
        {
            var count = Math.Min(Options.InnerBatch, used - start);
            using var copies = Tensor.Uninitialized([count, .. batch.Shape[1..]]);
            for (var j = 0; j < count; j++)
            {
                batch.Span.Slice(b * imageSize, imageSize).CopyTo(copies.Span.Slice(j * imageSize, imageSize));
            }

            var first = start;
            using var ablated = Model.Forward(copies, [layer], (name, value) =>
            {
                if (name == layer)
                {
                    // Copy j loses channel first + j.
                    var plane = value.Dim(2) * value.Dim(3);
                    for (var j = 0; j < count; j++)
                    {
                        value.Span.Slice(((j * k) + first + j) * plane, plane).Clear();
                    }
                }
            });
            for (var t = 0; t < targets.Count; t++)
            {
                var y = logits.Span[(b * classes) + targets[t]];
                for (var j = 0; j < count; j++)
                {
                    weights[t][start + j] = (y - ablated.Span[(j * classes) + targets[t]]) / y;
                }
            }
        }

        return [.. weights.Select(w => WeightedSum(activations, b, w))];
    }

    private static Tensor WeightedSum(Tensor activations, int b, float[] weights)
    {
        var (k, h, w) = (activations.Dim(1), activations.Dim(2), activations.Dim(3));
        var plane = h * w;
        var a = activations.Span.Slice(b * k * plane, k * plane);
        var raw = Tensor.Zeros(h, w);
        for (var c = 0; c < k; c++)
        {
            TensorPrimitives.MultiplyAdd(a.Slice(c * plane, plane), weights[c], raw.Span, raw.Span);
        }

        return raw;
    }

    private static float[] Softmax(float[] scores)
    {
        var result = new float[scores.Length];
        TensorPrimitives.SoftMax(scores, result);
        return result;
    }

    /// <summary>
    /// One layer's map at input resolution, as pytorch-grad-cam makes it: relu, min-max at the
    /// layer's resolution, resize. With denoising, the spec's integration instead: relu, divide by
    /// max + 1e-5, optional tanh(2·M), resize. <see cref="Combine"/> then fuses and min-maxes again.
    /// </summary>
    private Tensor LayerMap(Tensor raw, Tensor batch)
    {
        using var normalised = raw.Clone();
        var span = normalised.Span;
        MapMath.Relu(span);
        if (Options.Denoise is null)
        {
            MapMath.MinMax(span);
        }
        else
        {
            MapMath.DivideByMax(span, 1e-5f);
            if (Options.DenoiseTanh)
            {
                TensorPrimitives.Multiply(span, 2f, span);
                TensorPrimitives.Tanh(span, span);
            }
        }

        return MapMath.Resize(Model.Backend, span, raw.Dim(0), raw.Dim(1), batch.Dim(2), batch.Dim(3));
    }

    /// <summary>Fuses the layers' maps, renormalises, and keeps the last layer's raw map.</summary>
    private Explanation Combine(Tensor logits, int b, int targetClass, List<(Tensor Raw, Tensor Map)> layers)
    {
        for (var i = 0; i < layers.Count - 1; i++)
        {
            layers[i].Raw.Dispose();
        }

        var map = MapMath.Fuse([.. layers.Select(l => l.Map)], Fusion);
        MapMath.MinMax(map.Span);
        return Result(logits, b, targetClass, layers[^1].Raw, map);
    }
}
