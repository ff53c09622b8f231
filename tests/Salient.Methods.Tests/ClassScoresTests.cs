using Salient.Engine.IO;
using Salient.Imaging;

namespace Salient.Methods.Tests;

/// <summary>Class probabilities: softmax for single-label models, sigmoid per class for multi-label ones.</summary>
public sealed class ClassScoresTests
{
    private static readonly float[] Logits = [2f, -1f, 0.5f, 3f, -4f, 0.1f, 1f];

    [Fact]
    public void Softmax_sums_to_one_and_sigmoid_scores_each_class_alone()
    {
        var softmax = ClassScores.Softmax.Probabilities(Logits);
        var sigmoid = ClassScores.Sigmoid.Probabilities(Logits);

        Assert.Equal(1, softmax.Sum(), 12);
        var z = Logits.Sum(l => Math.Exp((double)l - 3));
        Assert.Equal(Math.Exp(2 - 3) / z, softmax[0], 12);
        for (var k = 0; k < Logits.Length; k++)
        {
            Assert.Equal(1 / (1 + Math.Exp(-Logits[k])), sigmoid[k], 12);
            Assert.Equal(sigmoid[k], ClassScores.Sigmoid.Probability(Logits, k), 12);
            Assert.Equal(softmax[k], ClassScores.Softmax.Probability(Logits, k), 12);
        }
    }

    [Fact]
    public void Top_lists_every_class_above_half_first_for_sigmoid_and_k_for_softmax()
    {
        // Five logits are positive: sigmoid's predicted set is larger than k = 3.
        Assert.Equal([3, 0, 6, 2, 5], ClassScores.Sigmoid.Top(ClassScores.Sigmoid.Probabilities(Logits), 3));
        Assert.Equal([3, 0, 6], ClassScores.Softmax.Top(ClassScores.Softmax.Probabilities(Logits), 3));
        Assert.Equal([3, 0, 6, 2, 5, 1], ClassScores.Sigmoid.Top(ClassScores.Sigmoid.Probabilities(Logits), 6));
    }

    [Fact]
    public void The_predicted_set_is_the_top_class_for_softmax_and_every_class_above_half_for_sigmoid()
    {
        Assert.Equal([3], ClassScores.Softmax.Predicted(ClassScores.Softmax.Probabilities(Logits)));
        Assert.Equal([3, 0, 6, 2, 5], ClassScores.Sigmoid.Predicted(ClassScores.Sigmoid.Probabilities(Logits)));
        Assert.Empty(ClassScores.Sigmoid.Predicted(ClassScores.Sigmoid.Probabilities([-1f, -2f])));
    }

    [Fact]
    public void The_card_chooses_the_scores()
    {
        Assert.Same(ClassScores.Softmax, ClassScores.For(new ModelCard { Channels = 3, Height = 8, Width = 8, Mean = [0, 0, 0], Std = [1, 1, 1] }));
        Assert.Same(ClassScores.Sigmoid, ClassScores.For(new ModelCard { Channels = 3, Height = 8, Width = 8, Mean = [0, 0, 0], Std = [1, 1, 1], MultiLabel = true }));
    }

    [Fact]
    public void Explanations_carry_the_probability_of_the_chosen_scores()
    {
        var model = Salient.Engine.Model.Load(Fixtures.Path("models", "resnet_basic.onnx"));
        using var batch = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        foreach (var scores in new[] { ClassScores.Softmax, ClassScores.Sigmoid })
        {
            var results = Explainer.Create(model, new ExplainOptions { Method = "gradcam", Scores = scores }).Explain(batch, TargetSelection.Top1);
            using var logits = model.Forward(batch);
            foreach (var r in results)
            {
                var row = logits.Span.Slice(r.Image * 10, 10);
                Assert.Equal(scores.Probability(row, r.Class), r.Probability, 5);
                r.Dispose();
            }
        }
    }
}
