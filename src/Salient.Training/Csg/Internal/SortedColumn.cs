namespace Salient.Training.Csg.Internal;

/// <summary>One feature column with the sample indices in ascending order of value, sorted once and reused for every target.</summary>
internal sealed class SortedColumn
{
    public SortedColumn(double[] values)
    {
        Values = values;
        Order = new int[values.Length];
        for (var i = 0; i < Order.Length; i++)
        {
            Order[i] = i;
        }

        var keys = (double[])values.Clone();
        Array.Sort(keys, Order);
    }

    public double[] Values { get; }

    public int[] Order { get; }
}
