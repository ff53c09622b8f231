using Salient.Imaging;

namespace Salient.Methods;

/// <summary>
/// How a classifier's logits become the class probabilities that reports show: one softmax over
/// the classes for single-label models, an independent sigmoid per class for multi-label ones
/// (model card <c>"multi_label": true</c>). Probabilities are computed in double, so tiny ones do
/// not round to zero before ranking.
/// </summary>
public abstract class ClassScores
{
    private protected ClassScores()
    {
    }

    /// <summary>softmax(logits): the classes exclude each other.</summary>
    public static ClassScores Softmax { get; } = new SoftmaxScores();

    /// <summary>sigmoid(logit) per class: each class is present or not on its own.</summary>
    public static ClassScores Sigmoid { get; } = new SigmoidScores();

    /// <summary>The name reports use: <c>softmax</c> or <c>sigmoid</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The scores of a model described by <paramref name="card"/>: sigmoid when it is multi-label, softmax otherwise.</summary>
    public static ClassScores For(ModelCard card)
    {
        ArgumentNullException.ThrowIfNull(card);
        return card.MultiLabel ? Sigmoid : Softmax;
    }

    /// <summary>The probability of every class.</summary>
    public abstract double[] Probabilities(ReadOnlySpan<float> logits);

    /// <summary>The probability of class <paramref name="target"/>.</summary>
    public abstract double Probability(ReadOnlySpan<float> logits, int target);

    /// <summary>
    /// The classes to report, best first: the <paramref name="count"/> most probable, and for
    /// sigmoid scores every class above 0.5 (the predicted set) even when there are more of them.
    /// Ties keep class order.
    /// </summary>
    public IReadOnlyList<int> Top(ReadOnlySpan<double> probabilities, int count)
    {
        var values = probabilities.ToArray();
        var order = Enumerable.Range(0, values.Length).OrderByDescending(i => values[i]).ThenBy(i => i).ToArray();
        return [.. order.Take(Math.Max(count, order.Count(i => IsPredicted(values[i]))))];
    }

    /// <summary>The predicted classes, best first: the most probable for softmax, every class above 0.5 (perhaps none) for sigmoid.</summary>
    public IReadOnlyList<int> Predicted(ReadOnlySpan<double> probabilities) => Top(probabilities, AlwaysPredicted);

    /// <summary>How many classes are predicted whatever their probabilities.</summary>
    private protected virtual int AlwaysPredicted => 1;

    /// <summary>True when a class with this probability belongs to the predicted set of a multi-label model.</summary>
    private protected virtual bool IsPredicted(double probability) => false;

    private sealed class SoftmaxScores : ClassScores
    {
        public override string Name => "softmax";

        public override double[] Probabilities(ReadOnlySpan<float> logits)
        {
            // Shifted by the maximum so exp cannot overflow.
            var max = double.NegativeInfinity;
            foreach (var v in logits)
            {
                max = Math.Max(max, v);
            }

            var result = new double[logits.Length];
            var sum = 0.0;
            for (var i = 0; i < logits.Length; i++)
            {
                result[i] = Math.Exp(logits[i] - max);
                sum += result[i];
            }

            for (var i = 0; i < result.Length; i++)
            {
                result[i] /= sum;
            }

            return result;
        }

        public override double Probability(ReadOnlySpan<float> logits, int target) => Probabilities(logits)[target];
    }

    private sealed class SigmoidScores : ClassScores
    {
        public override string Name => "sigmoid";

        public override double[] Probabilities(ReadOnlySpan<float> logits)
        {
            var result = new double[logits.Length];
            for (var i = 0; i < logits.Length; i++)
            {
                result[i] = Of(logits[i]);
            }

            return result;
        }

        public override double Probability(ReadOnlySpan<float> logits, int target) => Of(logits[target]);

        private protected override int AlwaysPredicted => 0;

        private protected override bool IsPredicted(double probability) => probability > 0.5;

        private static double Of(double logit) => 1 / (1 + Math.Exp(-logit));
    }
}
