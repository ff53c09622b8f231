namespace Salient.Pwla;

/// <summary>Gauss–Legendre nodes and weights on [−1, 1], computed by Newton iteration on the Legendre polynomial.</summary>
internal sealed class GaussLegendre
{
    private GaussLegendre(int order)
    {
        Nodes = new double[order];
        Weights = new double[order];
        for (var i = 0; i < order; i++)
        {
            var x = Math.Cos(Math.PI * (i + 0.75) / (order + 0.5));
            double derivative;
            var iterations = 0;
            double step;
            do
            {
                (var p, derivative) = Legendre(order, x);
                step = p / derivative;
                x -= step;
            }
            while (Math.Abs(step) > 1e-16 && ++iterations < 100);

            (_, derivative) = Legendre(order, x);
            Nodes[order - 1 - i] = x;
            Weights[order - 1 - i] = 2 / ((1 - (x * x)) * derivative * derivative);
        }
    }

    /// <summary>Exact for polynomials up to degree 15: ample for smooth f on cells 1/16 of the interval.</summary>
    public static GaussLegendre Rule8 { get; } = new(8);

    public double[] Nodes { get; }

    public double[] Weights { get; }

    private static (double Value, double Derivative) Legendre(int order, double x)
    {
        double previous = 1, current = x;
        for (var k = 2; k <= order; k++)
        {
            (previous, current) = (current, (((2 * k) - 1) * x * current - ((k - 1) * previous)) / k);
        }

        return (current, order * ((x * current) - previous) / ((x * x) - 1));
    }
}
