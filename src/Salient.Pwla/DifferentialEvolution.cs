using System.Diagnostics;

namespace Salient.Pwla;

/// <summary>Settings of the pwlf-style baseline; defaults are SciPy's differential_evolution defaults that pwlf inherits.</summary>
public sealed record DifferentialEvolutionOptions
{
    /// <summary>Population = this × number of knots.</summary>
    public int PopulationFactor { get; init; } = 15;

    /// <summary>Generation cap.</summary>
    public int MaxGenerations { get; init; } = 1000;

    /// <summary>Converged when std(energies) ≤ Tolerance × |mean(energies)|.</summary>
    public double Tolerance { get; init; } = 0.01;

    /// <summary>Crossover probability.</summary>
    public double Crossover { get; init; } = 0.7;

    /// <summary>Finish with a local gradient polish (SciPy polishes with L-BFGS-B; here BFGS with the analytic gradient).</summary>
    public bool Polish { get; init; } = true;

    /// <summary>Seed of the Latin-hypercube start and the mutations.</summary>
    public int Seed { get; init; }
}

/// <summary>
/// The pwlf baseline (Jekel): differential evolution ("best1bin", dithered mutation 0.5–1, binomial crossover,
/// Latin-hypercube start, immediate updating) over the knots, each candidate scored by the exact least-squares error
/// of its best lines.
/// </summary>
public static class DifferentialEvolution
{
    /// <summary>Fits <paramref name="problem"/> (continuous or not).</summary>
    public static PwlaFit Fit(PwlaProblem problem, DifferentialEvolutionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(problem);
        options ??= new DifferentialEvolutionOptions();
        var clock = Stopwatch.StartNew();
        var model = new HingeModel(problem.Target, problem.Segments, problem.Continuous);
        var dimension = model.KnotCount;
        var coefficients = new double[model.CoefficientCount];
        double Energy(double[] knots) => KnotSearch.ProjectedError(model, knots, coefficients);
        var random = new Random(options.Seed);
        double[] best;
        if (dimension == 0)
        {
            best = [];
        }
        else
        {
            var size = Math.Max(options.PopulationFactor * dimension, 5);
            var population = LatinHypercube(size, dimension, random);
            var energies = population.Select(Energy).ToArray();
            var bestIndex = Array.IndexOf(energies, energies.Min());
            var trial = new double[dimension];
            for (var generation = 0; generation < options.MaxGenerations; generation++)
            {
                var scale = 0.5 + (0.5 * random.NextDouble());
                for (var i = 0; i < size; i++)
                {
                    int r1, r2;
                    do
                    {
                        r1 = random.Next(size);
                    }
                    while (r1 == i);

                    do
                    {
                        r2 = random.Next(size);
                    }
                    while (r2 == i || r2 == r1);

                    var forced = random.Next(dimension);
                    for (var d = 0; d < dimension; d++)
                    {
                        var value = d == forced || random.NextDouble() < options.Crossover
                            ? population[bestIndex][d] + (scale * (population[r1][d] - population[r2][d]))
                            : population[i][d];

                        // SciPy re-draws out-of-bounds coordinates uniformly inside the bounds.
                        trial[d] = value is >= 0 and <= 1 ? value : random.NextDouble();
                    }

                    var energy = Energy(trial);
                    if (energy <= energies[i])
                    {
                        Array.Copy(trial, population[i], dimension);
                        energies[i] = energy;
                        if (energy <= energies[bestIndex])
                        {
                            bestIndex = i;
                        }
                    }
                }

                var mean = energies.Average();
                var spread = Math.Sqrt(energies.Average(e => (e - mean) * (e - mean)));
                if (spread <= options.Tolerance * Math.Abs(mean))
                {
                    break;
                }
            }

            best = population[bestIndex];
        }

        if (options.Polish)
        {
            var (polished, error) = KnotSearch.Polish(model, best);
            if (error < Energy(best))
            {
                best = polished;
            }
        }

        var final = model.Solve(best, coefficients);
        return new PwlaFit("de", model.ToFunction(best, coefficients), final, clock.Elapsed, model.Evaluations);
    }

    private static double[][] LatinHypercube(int size, int dimension, Random random)
    {
        var population = new double[size][];
        for (var i = 0; i < size; i++)
        {
            population[i] = new double[dimension];
        }

        for (var d = 0; d < dimension; d++)
        {
            var strata = Enumerable.Range(0, size).ToArray();
            random.Shuffle(strata);
            for (var i = 0; i < size; i++)
            {
                population[i][d] = (strata[i] + random.NextDouble()) / size;
            }
        }

        return population;
    }
}
