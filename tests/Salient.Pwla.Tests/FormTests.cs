using Salient.Pwla;

namespace Salient.Pwla.Tests;

public sealed class FormTests
{
    [Fact]
    public void Hinge_and_lattice_forms_agree_on_random_continuous_functions()
    {
        var random = new Random(7);
        var checkedCount = 0;
        for (var trial = 0; trial < 300; trial++)
        {
            var segments = 2 + (trial % 7);
            var f = RandomContinuous(random, segments);

            // Ill-conditioned cases (spec §2.4: tiny segments with huge slopes) are skipped.
            var shortest = Enumerable.Range(0, f.Segments).Min(k => f.Segment(k).End - f.Segment(k).Start);
            if (shortest < 1e-3)
            {
                continue;
            }

            var hinge = HingeForm.From(f);
            var lattice = LatticeForm.From(f);
            for (var i = 0; i <= 200; i++)
            {
                var x = f.A + ((f.B - f.A) * i / 200);
                Assert.Equal(f.Evaluate(x), hinge.Evaluate(x), 9);
                Assert.Equal(hinge.Evaluate(x), lattice.Evaluate(x), 9);
            }

            // And back: lattice → knots and lines → hinge gives the same function and knots.
            var back = lattice.ToPiecewiseLinear();
            Assert.Equal(f.Knots.Count, back.Knots.Count);
            for (var k = 0; k < f.Knots.Count; k++)
            {
                Assert.Equal(f.Knots[k], back.Knots[k], 9);
            }

            var roundTrip = HingeForm.From(back).ToPiecewiseLinear();
            for (var i = 0; i <= 50; i++)
            {
                var x = f.A + ((f.B - f.A) * i / 50);
                Assert.Equal(f.Evaluate(x), roundTrip.Evaluate(x), 9);
            }

            checkedCount++;
        }

        Assert.True(checkedCount > 250, $"only {checkedCount} cases were checked");
    }

    [Fact]
    public void Hinge_form_with_jumps_round_trips_discontinuous_functions()
    {
        var f = new PiecewiseLinear(0, 3, [1, 2], [1, -2, 0.5], [0, 4, -1]);
        var hinge = HingeForm.From(f);

        Assert.Equal(f.Jump(0), hinge.Jumps[0], 12);
        var back = hinge.ToPiecewiseLinear();
        foreach (var x in new[] { 0, 0.5, 0.999, 1, 1.5, 2, 2.7, 3 })
        {
            Assert.Equal(f.Evaluate(x), hinge.Evaluate(x), 12);
            Assert.Equal(f.Evaluate(x), back.Evaluate(x), 12);
        }

        Assert.Throws<ArgumentException>(() => LatticeForm.From(f));
    }

    private static PiecewiseLinear RandomContinuous(Random random, int segments)
    {
        var a = (random.NextDouble() * 4) - 2;
        var b = a + 0.5 + (random.NextDouble() * 5);
        var knots = Enumerable.Range(0, segments - 1).Select(_ => a + ((b - a) * random.NextDouble())).Order().ToArray();
        var slopes = Enumerable.Range(0, segments).Select(_ => (random.NextDouble() * 6) - 3).ToArray();

        // Consecutive slopes must differ, or the "knot" is not one and cannot come back from the lattice.
        for (var k = 1; k < segments; k++)
        {
            if (Math.Abs(slopes[k] - slopes[k - 1]) < 0.05)
            {
                slopes[k] += 0.5;
            }
        }

        var intercepts = new double[segments];
        intercepts[0] = (random.NextDouble() * 2) - 1;
        for (var k = 1; k < segments; k++)
        {
            // Continuity at knot k−1.
            intercepts[k] = intercepts[k - 1] + ((slopes[k - 1] - slopes[k]) * knots[k - 1]);
        }

        return new PiecewiseLinear(a, b, knots, slopes, intercepts);
    }
}
