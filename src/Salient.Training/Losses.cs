namespace Salient.Training;

/// <summary>Classification losses on [N, C] logits, each returning the mean loss and writing its gradient.</summary>
public static class Losses
{
    /// <summary>Softmax cross-entropy with one class per row, averaged over rows (PyTorch's CrossEntropyLoss).</summary>
    public static float SoftmaxCrossEntropy(ReadOnlySpan<float> logits, int classes, ReadOnlySpan<int> labels, Span<float> gradient)
    {
        var rows = Check(logits, classes, gradient);
        if (labels.Length != rows)
        {
            throw new ArgumentException($"Cross-entropy over {rows} rows got {labels.Length} labels.");
        }

        double total = 0;
        for (var r = 0; r < rows; r++)
        {
            var label = labels[r];
            if ((uint)label >= (uint)classes)
            {
                throw new ArgumentException($"Label {label} of row {r} is outside the model's {classes} classes.");
            }

            var row = logits.Slice(r * classes, classes);
            var target = gradient.Slice(r * classes, classes);
            System.Numerics.Tensors.TensorPrimitives.SoftMax(row, target);
            total -= Math.Log(Math.Max(target[label], 1e-30f));
            target[label] -= 1f;
            System.Numerics.Tensors.TensorPrimitives.Divide(target, rows, target);
        }

        return (float)(total / rows);
    }

    /// <summary>
    /// Sigmoid binary cross-entropy against 0/1 targets, averaged over every (row, class) entry
    /// (PyTorch's BCEWithLogitsLoss), computed in the overflow-free form.
    /// </summary>
    public static float SigmoidBinaryCrossEntropy(ReadOnlySpan<float> logits, int classes, ReadOnlySpan<float> targets, Span<float> gradient)
    {
        Check(logits, classes, gradient);
        if (targets.Length != logits.Length)
        {
            throw new ArgumentException($"Binary cross-entropy over {logits.Length} logits got {targets.Length} targets.");
        }

        double total = 0;
        var count = logits.Length;
        for (var i = 0; i < count; i++)
        {
            var z = logits[i];
            var y = targets[i];
            total += Math.Max(z, 0) - (z * y) + Math.Log(1 + Math.Exp(-Math.Abs(z)));
            gradient[i] = ((1f / (1f + MathF.Exp(-z))) - y) / count;
        }

        return (float)(total / count);
    }

    private static int Check(ReadOnlySpan<float> logits, int classes, Span<float> gradient)
    {
        if (classes <= 0 || logits.Length % classes != 0 || gradient.Length != logits.Length)
        {
            throw new ArgumentException($"Loss over {classes} classes got {logits.Length} logits and {gradient.Length} gradient slots.");
        }

        return logits.Length / classes;
    }
}
