namespace Salient.Training;

/// <summary>Classification scores of logits against labels.</summary>
internal static class ClassificationScores
{
    /// <summary>
    /// How many rows are right: the argmax is the label (single-label), or the set of classes
    /// with a positive logit is exactly the label set (multi-label subset accuracy).
    /// </summary>
    public static int Correct(ReadOnlySpan<float> logits, int classes, IReadOnlyList<IReadOnlyList<int>> labels, bool multiLabel)
    {
        var correct = 0;
        for (var r = 0; r < labels.Count; r++)
        {
            var row = logits.Slice(r * classes, classes);
            if (multiLabel)
            {
                var match = true;
                for (var c = 0; c < classes && match; c++)
                {
                    match = row[c] > 0 == labels[r].Contains(c);
                }

                correct += match ? 1 : 0;
            }
            else
            {
                correct += System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row) == labels[r][0] ? 1 : 0;
            }
        }

        return correct;
    }

    /// <summary>
    /// Each class's average precision: the mean, over its positives, of the precision at each
    /// positive's rank when rows are sorted by the class's score (scikit-learn's average_precision_score
    /// without ties); null for a class with no positive. The mAP is the mean of the non-null ones.
    /// </summary>
    public static double?[] AveragePrecisions(float[] scores, int classes, IReadOnlyList<IReadOnlyList<int>> labels)
    {
        var rows = labels.Count;
        var precisions = new double?[classes];
        for (var c = 0; c < classes; c++)
        {
            var order = Enumerable.Range(0, rows).OrderByDescending(r => scores[(r * classes) + c]).ThenBy(r => r).ToArray();
            var positives = 0;
            var sum = 0.0;
            for (var rank = 0; rank < order.Length; rank++)
            {
                if (labels[order[rank]].Contains(c))
                {
                    positives++;
                    sum += positives / (double)(rank + 1);
                }
            }

            precisions[c] = positives > 0 ? sum / positives : null;
        }

        return precisions;
    }
}
