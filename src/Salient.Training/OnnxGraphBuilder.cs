using System.Runtime.InteropServices;
using Google.Protobuf;
using Salient.Engine.Onnx.Protos;

namespace Salient.Training;

/// <summary>
/// Writes a CNN as a standard ONNX graph (opset 13: Conv, BatchNormalization, Relu, MaxPool,
/// Add, GlobalAveragePool, Flatten, Gemm) with freshly initialized weights drawn from a seeded
/// generator. Each layer's output value is named after the layer, so users can name layers.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private const string InputName = "input";
    private readonly GraphProto _graph = new();
    private readonly Random _random;
    private readonly Dictionary<string, int[]> _shapes = new(StringComparer.Ordinal);

    public OnnxGraphBuilder(string name, int channels, int height, int width, int seed)
    {
        _graph.Name = name;
        _random = new Random(seed);
        var type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto() } };
        type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N" });
        foreach (var d in new[] { channels, height, width })
        {
            type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        _graph.Input.Add(new ValueInfoProto { Name = InputName, Type = type });
        _shapes[InputName] = [channels, height, width];
        Input = InputName;
    }

    /// <summary>The image input's value name.</summary>
    public string Input { get; }

    /// <summary>The channel count of a value.</summary>
    public int Channels(string value) => _shapes[value][0];

    /// <summary>Conv (no bias: batch norm follows) with He-normal weights, then BatchNormalization.</summary>
    public string ConvBn(string name, string input, int outChannels, int kernel, int stride)
    {
        var inShape = _shapes[input];
        var fanIn = inShape[0] * kernel * kernel;
        var weight = Initializer($"{name}.weight", [outChannels, inShape[0], kernel, kernel], Normal(outChannels * fanIn, MathF.Sqrt(2f / fanIn)));
        var pad = kernel / 2;
        var conv = Node("Conv", $"{name}.conv", [input, weight], $"{name}.conv",
            Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride), Ints("pads", pad, pad, pad, pad));
        _shapes[conv] = [outChannels, Out(inShape[1], kernel, stride, pad), Out(inShape[2], kernel, stride, pad)];
        return BatchNorm($"{name}.bn", conv);
    }

    public string BatchNorm(string name, string input)
    {
        var channels = _shapes[input][0];
        var scale = Initializer($"{name}.weight", [channels], Filled(channels, 1f));
        var shift = Initializer($"{name}.bias", [channels], Filled(channels, 0f));
        var mean = Initializer($"{name}.running_mean", [channels], Filled(channels, 0f));
        var variance = Initializer($"{name}.running_var", [channels], Filled(channels, 1f));
        var output = Node("BatchNormalization", name, [input, scale, shift, mean, variance], name,
            new AttributeProto { Name = "epsilon", Type = AttributeProto.Types.AttributeType.Float, F = 1e-5f },
            new AttributeProto { Name = "momentum", Type = AttributeProto.Types.AttributeType.Float, F = 0.9f });
        _shapes[output] = _shapes[input];
        return output;
    }

    public string Relu(string name, string input) => Same(Node("Relu", name, [input], name), input);

    public string Add(string name, string a, string b) => Same(Node("Add", name, [a, b], name), a);

    public string MaxPool(string name, string input, int kernel, int stride)
    {
        var shape = _shapes[input];
        var output = Node("MaxPool", name, [input], name, Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride));
        _shapes[output] = [shape[0], Out(shape[1], kernel, stride, 0), Out(shape[2], kernel, stride, 0)];
        return output;
    }

    /// <summary>GlobalAveragePool → Flatten → Gemm: the GAP→Linear head that CAM and CSG need.</summary>
    public string Classifier(string input, int classes)
    {
        var channels = _shapes[input][0];
        var pooled = Node("GlobalAveragePool", "pool", [input], "pool");
        var flat = Node("Flatten", "flatten", [pooled], "flatten", new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        var bound = 1f / MathF.Sqrt(channels);
        var weight = Initializer("fc.weight", [classes, channels], Uniform(classes * channels, bound));
        var bias = Initializer("fc.bias", [classes], Uniform(classes, bound));
        var logits = Node("Gemm", "fc", [flat, weight, bias], "logits", new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        _graph.Output.Add(new ValueInfoProto { Name = logits });
        return logits;
    }

    public ModelProto Build()
    {
        var model = new ModelProto { IrVersion = 7, ProducerName = "salient", Graph = _graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 13 });
        return model;
    }

    private string Same(string output, string input)
    {
        _shapes[output] = _shapes[input];
        return output;
    }

    private static int Out(int size, int kernel, int stride, int pad) => ((size + (2 * pad) - kernel) / stride) + 1;

    private string Node(string op, string name, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return output;
    }

    private string Initializer(string name, int[] dims, float[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Dims.AddRange(dims.Select(d => (long)d));
        _graph.Initializer.Add(tensor);
        return name;
    }

    private static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    private static float[] Filled(int count, float value) => Enumerable.Repeat(value, count).ToArray();

    private float[] Uniform(int count, float bound) =>
        [.. Enumerable.Range(0, count).Select(_ => (float)(((_random.NextDouble() * 2) - 1) * bound))];

    // Box–Muller on the seeded generator: the same seed gives the same weights on every machine.
    private float[] Normal(int count, float std)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            var u = 1 - _random.NextDouble();
            var v = _random.NextDouble();
            values[i] = (float)(std * Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v));
        }

        return values;
    }
}
