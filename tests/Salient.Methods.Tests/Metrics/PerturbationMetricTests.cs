using Salient.Engine;
using Salient.Methods.Internal;
using Salient.Methods.Metrics;
using static Salient.Tests.TinyModels;

namespace Salient.Methods.Tests.Metrics;

/// <summary>Deletion, insertion, ROAD and the noisy linear imputer, on tiny models whose outputs are known in closed form.</summary>
public sealed class PerturbationMetricTests
{
    /// <summary>logits = [Σ pixels, 0] for a 1×S×S image, so p(class 0) = sigmoid(Σ pixels).</summary>
    private static Model SumModel(int side) => Load($"sum{side}", [1, 1, side, side],
        [Node("Flatten", ["x"], "flat"), Node("Gemm", ["flat", "w", "b"], "logits", Int("transB", 1))],
        [Floats("w", [2, side * side], [.. Enumerable.Repeat(1f, side * side), .. new float[side * side]]), Floats("b", [2], 0, 0)], "logits");

    /// <summary>Logits [0, 1, 2] whatever the input.</summary>
    private static Model ConstantModel(int side) => Load($"constant{side}", [1, 3, side, side],
        [Node("Flatten", ["x"], "flat"), Node("Gemm", ["flat", "w", "b"], "logits", Int("transB", 1))],
        [Floats("w", [3, 3 * side * side], new float[9 * side * side]), Floats("b", [3], 0, 1, 2)], "logits");

    [Fact]
    public void Deletion_and_insertion_follow_the_map_order_step_by_step()
    {
        var model = SumModel(2);
        using var batch = Tensor.FromSpan([1, 2, 3, 4], 1, 1, 2, 2);
        using var explanation = Explain(0, 0, [0.1f, 0.9f, 0.5f, 0.3f]);

        var deletion = DeletionInsertion.Curves(model, batch, [explanation], insertion: false, steps: 4)[0];
        var insertion = DeletionInsertion.Curves(model, batch, [explanation], insertion: true, PerturbationBaseline.Zero, steps: 4, innerBatch: 3)[0];

        // Pixels go in the order 2, 3, 4, 1 (values), so the remaining sums are 10, 8, 5, 1, 0 and the inserted ones 0, 2, 5, 9, 10.
        Assert.Equal(new[] { 10.0, 8, 5, 1, 0 }.Select(Sigmoid), deletion, new Tolerance(1e-6));
        Assert.Equal(new[] { 0.0, 2, 5, 9, 10 }.Select(Sigmoid), insertion, new Tolerance(1e-6));
        Assert.Equal([0, 0.25, 0.5, 0.75, 1], DeletionInsertion.Fractions(4));
    }

    [Fact]
    public void A_model_that_ignores_its_input_gives_flat_curves()
    {
        var model = ConstantModel(6);
        using var batch = Tensor.FromSpan([.. Enumerable.Range(0, 2 * 108).Select(i => MathF.Sin(i))], 2, 3, 6, 6);
        using var first = Explain(0, 2, [.. Enumerable.Range(0, 36).Select(i => i / 36f)]);
        using var second = Explain(1, 0, [.. Enumerable.Range(0, 36).Select(i => 1 - (i / 36f))]);
        var p2 = Math.Exp(2) / (1 + Math.E + Math.Exp(2));
        var p0 = 1 / (1 + Math.E + Math.Exp(2));

        foreach (var baseline in Enum.GetValues<PerturbationBaseline>())
        {
            var curves = DeletionInsertion.Curves(model, batch, [first, second], insertion: false, baseline, steps: 6, innerBatch: 5);
            Assert.All(curves[0], p => Assert.Equal(p2, p, 6));
            Assert.All(curves[1], p => Assert.Equal(p0, p, 6));
            Assert.Equal(p2, DeletionInsertion.Auc(curves[0]), 6);
        }

        var road = Road.Curves(model, batch, [first, second], RoadOrder.MostRelevantFirst, [10, 50, 90]);
        Assert.All(road[0], p => Assert.Equal(p2, p, 6));
    }

    [Fact]
    public void The_auc_is_the_trapezoid_area_over_the_unit_interval() =>
        Assert.Equal(1 / 3.0, DeletionInsertion.Auc([1, 0.5, 0, 0]), 12); // (0.75 + 0.25 + 0) / 3

    [Fact]
    public void Noisy_linear_imputation_solves_the_neighbour_mean_system()
    {
        const int Height = 12, Width = 10;
        var random = new Random(3);
        var image = Enumerable.Range(0, 3 * Height * Width).Select(_ => (float)random.NextDouble()).ToArray();
        var original = (float[])image.Clone();
        var imputed = Enumerable.Range(0, Height * Width).Select(_ => random.NextDouble() < 0.4).ToArray();
        imputed[0] = imputed[Width - 1] = imputed[^1] = true; // corners: fewer neighbours

        NoisyLinearImputer.Impute(image, Height, Width, imputed, noise: 0, new Random(1));

        for (var c = 0; c < 3; c++)
        {
            var channel = image.AsSpan(c * Height * Width, Height * Width);
            for (var p = 0; p < imputed.Length; p++)
            {
                if (!imputed[p])
                {
                    Assert.Equal(original[(c * Height * Width) + p], channel[p]);
                    continue;
                }

                // The imputed value is the weighted mean of its in-image neighbours (4-neighbours 1/6, diagonals 1/12).
                double sum = 0, weights = 0;
                for (var dy = -1; dy <= 1; dy++)
                {
                    for (var dx = -1; dx <= 1; dx++)
                    {
                        int y = (p / Width) + dy, x = (p % Width) + dx;
                        if ((dx, dy) != (0, 0) && y >= 0 && y < Height && x >= 0 && x < Width)
                        {
                            var w = dx == 0 || dy == 0 ? 1.0 / 6 : 1.0 / 12;
                            sum += w * channel[(y * Width) + x];
                            weights += w;
                        }
                    }
                }

                Assert.Equal(sum / weights, channel[p], 5);
            }
        }

        // The solver's own residual on the assembled system.
        var (matrix, unknowns) = NoisyLinearImputer.System(imputed, Height, Width);
        var rhs = new double[unknowns.Length];
        NoisyLinearImputer.RightHandSide(original.AsSpan(0, Height * Width), imputed, Height, Width, unknowns, rhs);
        var solution = new double[unknowns.Length];
        matrix.SolveConjugateGradient(rhs, solution, 1e-10);
        var product = new double[unknowns.Length];
        matrix.Multiply(solution, product);
        Assert.True(product.Zip(rhs, (a, b) => Math.Abs(a - b)).Max() < 1e-9);
    }

    [Fact]
    public void Noise_is_added_only_to_imputed_pixels_and_a_constant_image_imputes_to_itself()
    {
        var image = Enumerable.Repeat(0.5f, 64).ToArray();
        var imputed = Enumerable.Range(0, 64).Select(p => p % 3 == 0).ToArray();

        NoisyLinearImputer.Impute(image, 8, 8, imputed, noise: 0.01, new Random(7));

        Assert.All(Enumerable.Range(0, 64).Where(p => !imputed[p]), p => Assert.Equal(0.5f, image[p]));
        Assert.All(Enumerable.Range(0, 64).Where(p => imputed[p]), p => Assert.InRange(image[p], 0.45f, 0.55f));
        Assert.Contains(Enumerable.Range(0, 64).Where(p => imputed[p]), p => image[p] != 0.5f);
    }

    [Fact]
    public void Road_scores_an_item_the_same_alone_and_in_a_batch()
    {
        var model = SumModel(6);
        var pixels = Enumerable.Range(0, 36).Select(i => MathF.Cos(i) / 10).ToArray();
        using var alone = Tensor.FromSpan(pixels, 1, 1, 6, 6);
        using var pair = Tensor.FromSpan([.. Enumerable.Range(0, 36).Select(i => i / 100f), .. pixels], 2, 1, 6, 6);
        var map = Enumerable.Range(0, 36).Select(i => (float)Math.Abs(Math.Sin(i))).ToArray();
        using var first = Explain(0, 0, map);
        using var inPair = Explain(1, 0, map);
        using var other = Explain(0, 0, [.. map.Reverse()]);

        var single = Road.Curves(model, alone, [first], RoadOrder.LeastRelevantFirst, seed: 5)[0];
        var batched = Road.Curves(model, pair, [other, inPair], RoadOrder.LeastRelevantFirst, seed: 5, innerBatch: 4)[1];

        Assert.Equal(Road.DefaultPercentages.Count, single.Length);
        Assert.Equal(single, batched, new Tolerance(1e-6));
    }

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    private static Explanation Explain(int image, int target, float[] map)
    {
        var side = (int)Math.Sqrt(map.Length);
        return new Explanation(image, target, 0, 0, Tensor.FromSpan(map, side, side), Tensor.FromSpan(map, side, side));
    }

    private sealed class Tolerance(double epsilon) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= epsilon;

        public int GetHashCode(double obj) => 0;
    }
}
