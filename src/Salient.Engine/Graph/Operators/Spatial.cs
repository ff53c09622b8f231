namespace Salient.Engine.Graph.Operators;

/// <summary>Attribute parsing shared by Conv and the pools: kernel, strides, dilations and padding (auto_pad included).</summary>
internal static class Spatial
{
    public static int[] Ints(GraphNode node, string name, int[] fallback)
    {
        var values = node.GetInts(name);
        if (values is null)
        {
            return fallback;
        }

        if (values.Length != 2 || values.Any(v => v <= 0 || v > int.MaxValue))
        {
            throw new ModelException($"{node.Describe()}: attribute {name} = [{string.Join(',', values)}] is not two positive integers (only 2-D windows are supported).");
        }

        return [(int)values[0], (int)values[1]];
    }

    /// <summary>Padding as [top, left, bottom, right].</summary>
    public static int[] Pads(GraphNode node, PlanContext context, int[] x, int[] kernel, int[] strides, int[] dilations)
    {
        var autoPad = node.GetString("auto_pad") ?? "NOTSET";
        switch (autoPad)
        {
            case "NOTSET":
                var pads = node.GetInts("pads") ?? [0, 0, 0, 0];
                if (pads.Length != 4 || pads.Any(p => p < 0 || p > int.MaxValue))
                {
                    throw context.Error(node, $"pads [{string.Join(',', pads)}] are not four non-negative integers");
                }

                return [(int)pads[0], (int)pads[1], (int)pads[2], (int)pads[3]];
            case "VALID":
                return [0, 0, 0, 0];
            case "SAME_UPPER":
            case "SAME_LOWER":
                var result = new int[4];
                for (var d = 0; d < 2; d++)
                {
                    var size = x[2 + d];
                    var outSize = (size + strides[d] - 1) / strides[d];
                    var total = Math.Max(0, ((outSize - 1) * strides[d]) + ((kernel[d] - 1) * dilations[d]) + 1 - size);
                    var small = total / 2;
                    (result[d], result[d + 2]) = autoPad == "SAME_UPPER" ? (small, total - small) : (total - small, small);
                }

                return result;
            default:
                throw context.Error(node, $"auto_pad '{autoPad}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
        }
    }
}
