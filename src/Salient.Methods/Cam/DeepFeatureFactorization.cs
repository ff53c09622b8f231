using Salient.Engine;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;
using Salient.Methods.Internal;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Cam;

/// <summary>
/// Deep Feature Factorization (Collins et al., ECCV 2018; pytorch-grad-cam's DeepFeatureFactorization):
/// one layer's activations of each image, shifted per channel to be non-negative, V = A − min ≈ W·H by
/// non-negative matrix factorisation into <c>components</c> concepts (W [C, K] the concepts' channel
/// vectors, H [K, h·w] where each concept is). Raw is H as [K, h, w], the same for every target; each
/// concept's class logits are the network from the layer on with the layer's value replaced by the
/// concept W_k + min at every position (for a GlobalAveragePool → Linear head, the head applied to the
/// concept) and come with the explanation (<see cref="Explanation.ConceptScores"/>); the map of a target
/// is the map of the concept that gives the target the highest probability. The factorisation is
/// deterministic (a fixed initial W and H, <c>iterations</c> multiplicative updates, in double).
/// </summary>
internal sealed class DeepFeatureFactorization : Explainer
{
    /// <summary>The golden ratio's fractional part: its multiples modulo 1 spread evenly, so the initial factors are varied yet fixed.</summary>
    private const double Golden = 0.6180339887498949;

    private readonly int _components;
    private readonly int _iterations;

    /// <summary>Whether the network is affine after the layer, so concept logits follow from its Jacobian.</summary>
    private readonly bool _affineTail;

    public DeepFeatureFactorization(Model model, ExplainOptions options)
        : this(model, options, new Architecture(model, options.Reshape))
    {
    }

    private DeepFeatureFactorization(Model model, ExplainOptions options, Architecture architecture)
        : base(model, options, architecture.ResolveLayers(options.Layers))
    {
        if (Layers.Count != 1)
        {
            throw new ArgumentException($"dff factorises one layer; {Layers.Count} were given (--layer).");
        }

        if (architecture.IsReshaped(Layers[0]))
        {
            throw new ArgumentException($"dff writes concepts into the layer in the model's own layout to score them; layer '{Layers[0]}' is reshaped to maps (--reshape), which it cannot write back.");
        }

        _affineTail = NetworkTail.FirstNonAffineNode(model, Layers[0], allowKinks: false) is null;
        _components = WholeParameter("components", 1);
        _iterations = WholeParameter("iterations", 1);
    }

    protected override void Run(Tensor batch, TargetSelection selection, List<Explanation> results)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(results);
        var layer = Layers[0];
        var output = Model.OutputNames[0];
        // Where the network is affine after the layer (global average pooling → linear), a concept's logits are
        // y + J·(concept − A): one forward-mode pass over the tail per concept for the whole batch, instead of a
        // forward pass of K copies of every image through the whole network.
        using var record = _affineTail ? Model.RecordForward(batch, [layer], []) : null;
        var observed = record is null ? Model.Forward(batch, [layer]) : null;
        try
        {
            var logits = record?.Value(output) ?? observed![output];
            var targets = SelectTargets(logits, selection);
            using var activations = OnHost(record?.Value(layer) ?? observed![layer]);
            var (h, w) = (activations.Value.Dim(2), activations.Value.Dim(3));
            var factors = new (double[][] Concepts, double[] Where)[targets.Length];
            Parallel.For(0, targets.Length, b => factors[b] = Factorize(activations.Value, b));
            var alongTail = record is null ? null : ConceptLogitsAlongTail(record, layer, activations.Value, factors);
            for (var b = 0; b < targets.Length; b++)
            {
                var (concepts, where) = factors[b];
                using var scores = alongTail?[b] ?? ConceptLogits(batch, b, layer, concepts);
                var classes = scores.Dim(1);
                foreach (var target in targets[b])
                {
                    var best = Enumerable.Range(0, _components)
                        .Select(k => (Concept: k, Probability: Options.Scores.Probability(scores.Span.Slice(k * classes, classes), target)))
                        .Aggregate((x, y) => y.Probability > x.Probability ? y : x).Concept;
                    var raw = Tensor.Uninitialized(_components, h, w);
                    for (var i = 0; i < raw.Length; i++)
                    {
                        raw.Span[i] = (float)where[i];
                    }

                    results.Add(Result(logits, b, target, raw, ConceptMap(raw, best, batch.Dim(2), batch.Dim(3)), scores.Clone()));
                }
            }
        }
        finally
        {
            foreach (var tensor in observed?.Values ?? [])
            {
                tensor.Dispose();
            }
        }
    }

    /// <summary>
    /// Image <paramref name="image"/>'s factorisation: the concepts [K][C] (W's columns plus each channel's
    /// minimum) and H [K·h·w]. V [C, P] = A − min per channel (NaN as 0) ≈ W·H, W and H starting at
    /// s·(0.5 + frac(i·golden)) with s = √(mean V / K) and i counting W's entries then H's, from 1; each
    /// iteration W ← W ⊙ VHᵀ / (WHHᵀ + 1e-12), then H ← H ⊙ WᵀV / (WᵀWH + 1e-12).
    /// </summary>
    private (double[][] Concepts, double[] Where) Factorize(Tensor activations, int image)
    {
        var (channels, plane) = (activations.Dim(1), activations.Dim(2) * activations.Dim(3));
        var k = _components;
        var a = activations.Span.Slice(image * channels * plane, channels * plane);
        var v = new double[channels * plane];
        var offset = new double[channels];
        var mean = 0.0;
        for (var c = 0; c < channels; c++)
        {
            var min = double.PositiveInfinity;
            for (var p = 0; p < plane; p++)
            {
                min = Math.Min(min, float.IsNaN(a[(c * plane) + p]) ? 0 : a[(c * plane) + p]);
            }

            offset[c] = min;
            for (var p = 0; p < plane; p++)
            {
                var value = float.IsNaN(a[(c * plane) + p]) ? 0 : a[(c * plane) + p];
                v[(c * plane) + p] = value - min;
                mean += value - min;
            }
        }

        var scale = Math.Sqrt(mean / v.Length / k);
        var factorW = new double[channels * k];
        var factorH = new double[k * plane];
        for (var i = 0; i < factorW.Length; i++)
        {
            factorW[i] = scale * (0.5 + ((i + 1) * Golden % 1.0));
        }

        for (var i = 0; i < factorH.Length; i++)
        {
            factorH[i] = scale * (0.5 + ((factorW.Length + i + 1) * Golden % 1.0));
        }

        for (var iteration = 0; iteration < _iterations; iteration++)
        {
            // W ← W ⊙ (V Hᵀ) / (W (H Hᵀ) + ε)
            var hht = Gram(factorH, k, plane);
            var updated = new double[k];
            for (var c = 0; c < channels; c++)
            {
                var row = factorW.AsSpan(c * k, k);
                for (var j = 0; j < k; j++)
                {
                    double numerator = 0, denominator = 0;
                    for (var p = 0; p < plane; p++)
                    {
                        numerator += v[(c * plane) + p] * factorH[(j * plane) + p];
                    }

                    for (var m = 0; m < k; m++)
                    {
                        denominator += row[m] * hht[(m * k) + j];
                    }

                    updated[j] = row[j] * numerator / (denominator + 1e-12);
                }

                updated.CopyTo(row);
            }

            // H ← H ⊙ (Wᵀ V) / ((Wᵀ W) H + ε)
            var wtw = new double[k * k];
            for (var c = 0; c < channels; c++)
            {
                for (var m = 0; m < k; m++)
                {
                    for (var j = 0; j < k; j++)
                    {
                        wtw[(m * k) + j] += factorW[(c * k) + m] * factorW[(c * k) + j];
                    }
                }
            }

            // Wᵀ V channel by channel, so V's and W's rows are read in order (the same sums, in the same order).
            var next = new double[k * plane];
            for (var c = 0; c < channels; c++)
            {
                var row = v.AsSpan(c * plane, plane);
                for (var j = 0; j < k; j++)
                {
                    var weight = factorW[(c * k) + j];
                    var sums = next.AsSpan(j * plane, plane);
                    for (var p = 0; p < plane; p++)
                    {
                        sums[p] += weight * row[p];
                    }
                }
            }

            for (var j = 0; j < k; j++)
            {
                for (var p = 0; p < plane; p++)
                {
                    double denominator = 0;
                    for (var m = 0; m < k; m++)
                    {
                        denominator += wtw[(j * k) + m] * factorH[(m * plane) + p];
                    }

                    next[(j * plane) + p] = factorH[(j * plane) + p] * next[(j * plane) + p] / (denominator + 1e-12);
                }
            }

            factorH = next;
        }

        var concepts = new double[k][];
        for (var j = 0; j < k; j++)
        {
            concepts[j] = [.. Enumerable.Range(0, channels).Select(c => factorW[(c * k) + j] + offset[c])];
        }

        return (concepts, factorH);
    }

    /// <summary>H Hᵀ [K, K] of H [K, P].</summary>
    private static double[] Gram(double[] factor, int k, int plane)
    {
        var gram = new double[k * k];
        for (var i = 0; i < k; i++)
        {
            for (var j = i; j < k; j++)
            {
                var sum = 0.0;
                for (var p = 0; p < plane; p++)
                {
                    sum += factor[(i * plane) + p] * factor[(j * plane) + p];
                }

                gram[(i * k) + j] = gram[(j * k) + i] = sum;
            }
        }

        return gram;
    }

    /// <summary>
    /// Every image's concept logits [K, classes] through an affine tail: y + J·(concept − A), with J·V from one
    /// forward-mode pass (<see cref="Model.Tangent"/>) per concept for the whole batch.
    /// </summary>
    private Tensor[] ConceptLogitsAlongTail(ForwardRecord record, string layer, Tensor activations, (double[][] Concepts, double[] Where)[] factors)
    {
        var (images, channels, plane) = (activations.Dim(0), activations.Dim(1), activations.Dim(2) * activations.Dim(3));
        using var logits = OnHost(record.Value(Model.OutputNames[0]));
        var classes = logits.Value.Length / images;
        var scores = new Tensor[images];
        for (var b = 0; b < images; b++)
        {
            scores[b] = Tensor.Uninitialized(_components, classes);
        }

        for (var k = 0; k < _components; k++)
        {
            using var step = Tensor.Uninitialized(activations.Shape);
            var from = activations.Span;
            var to = step.Span;
            for (var b = 0; b < images; b++)
            {
                var concept = factors[b].Concepts[k];
                for (var c = 0; c < channels; c++)
                {
                    var at = ((b * channels) + c) * plane;
                    for (var p = 0; p < plane; p++)
                    {
                        to[at + p] = (float)concept[c] - from[at + p];
                    }
                }
            }

            using var moved = Model.Tangent(record, layer, step)[Model.OutputNames[0]];
            using var change = OnHost(moved);
            for (var b = 0; b < images; b++)
            {
                var row = scores[b].Span.Slice(k * classes, classes);
                logits.Value.Span.Slice(b * classes, classes).CopyTo(row);
                for (var i = 0; i < classes; i++)
                {
                    row[i] += change.Value.Span[(b * classes) + i];
                }
            }
        }

        return scores;
    }

    /// <summary>The logits [K, classes] of the concepts: copies of image <paramref name="image"/> whose layer value is concept k at every position, <see cref="ExplainOptions.InnerBatch"/> per pass.</summary>
    private Tensor ConceptLogits(Tensor batch, int image, string layer, double[][] concepts)
    {
        var imageSize = batch.Length / batch.Dim(0);
        Tensor? scores = null;
        for (var start = 0; start < concepts.Length; start += Options.InnerBatch)
        {
            var count = Math.Min(Options.InnerBatch, concepts.Length - start);
            using var copies = Tensor.Uninitialized([count, .. batch.Shape[1..]]);
            for (var j = 0; j < count; j++)
            {
                batch.Span.Slice(image * imageSize, imageSize).CopyTo(copies.Span.Slice(j * imageSize, imageSize));
            }

            var first = start;
            using var logits = Model.Forward(copies, [layer], (name, value) =>
            {
                if (name == layer)
                {
                    // Written from the host, so the layer may live on a device.
                    var plane = value.Dim(2) * value.Dim(3);
                    var tiled = new float[value.Length];
                    for (var j = 0; j < count; j++)
                    {
                        var concept = concepts[first + j];
                        for (var c = 0; c < concept.Length; c++)
                        {
                            tiled.AsSpan(((j * concept.Length) + c) * plane, plane).Fill((float)concept[c]);
                        }
                    }

                    value.Data.CopyFrom(tiled);
                }
            });
            using var host = OnHost(logits);
            var classes = logits.Length / count;
            scores ??= Tensor.Uninitialized(concepts.Length, classes);
            host.Value.Span.CopyTo(scores.Span.Slice(start * classes, count * classes));
        }

        return scores!;
    }

    /// <summary>Concept <paramref name="concept"/>'s map at input resolution: min-max at the layer's resolution, resize, min-max (the CAM family's post-processing; H is non-negative).</summary>
    private static Tensor ConceptMap(Tensor raw, int concept, int height, int width)
    {
        var plane = raw.Dim(1) * raw.Dim(2);
        using var map = Tensor.FromSpan(raw.Span.Slice(concept * plane, plane), raw.Dim(1), raw.Dim(2));
        MapMath.MinMax(KernelBackends.Host, map);
        var resized = MapMath.Resize(KernelBackends.Host, map, height, width);
        MapMath.MinMax(KernelBackends.Host, resized);
        return resized;
    }
}
