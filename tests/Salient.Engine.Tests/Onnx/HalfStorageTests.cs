using Google.Protobuf;
using Salient.Engine.Onnx;
using Salient.Engine.Onnx.Protos;

namespace Salient.Engine.Tests.Onnx;

public sealed class HalfStorageTests
{
    private static readonly int Float = (int)TensorProto.Types.DataType.Float;
    private static readonly int Float16 = (int)TensorProto.Types.DataType.Float16;

    private static ModelProto Original() => OnnxImporter.ReadProto(Fixtures.Path("models", "resnet_basic.onnx"));

    private static float[] Floats(TensorProto tensor) => tensor.RawData.IsEmpty
        ? [.. tensor.FloatData]
        : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray();

    private static float[] Logits(ModelProto proto)
    {
        var model = Model.FromProto(proto, "resnet_basic.onnx", Salient.Engine.Kernels.KernelBackends.Default);
        var random = new Random(4);
        using var input = Tensor.Uninitialized(2, 3, 32, 32);
        for (var i = 0; i < input.Length; i++)
        {
            input.Span[i] = (float)random.NextDouble();
        }

        using var output = model.Forward(input);
        return output.Span.ToArray();
    }

    [Fact]
    public void Large_weights_go_to_half_precision_behind_casts_and_the_model_still_runs_in_float()
    {
        var original = Original();
        var narrowed = OnnxHalfStorage.Narrowed(original);

        var large = original.Graph.Initializer.Where(t => t.DataType == Float && t.Dims.Aggregate(1L, (a, d) => a * d) >= OnnxHalfStorage.MinElements).ToList();
        Assert.NotEmpty(large);
        Assert.All(large, t => Assert.Contains(narrowed.Graph.Initializer, h => h.Name == t.Name + OnnxHalfStorage.Suffix && h.DataType == Float16));
        Assert.Equal(large.Count, narrowed.Graph.Node.Count(n => n.OpType == "Cast"));
        // Batch-norm statistics and biases stay in float.
        Assert.Contains(narrowed.Graph.Initializer, t => t.DataType == Float);
        Assert.True(narrowed.CalculateSize() < 0.6 * original.CalculateSize(), $"{narrowed.CalculateSize()} of {original.CalculateSize()} bytes");
        Assert.Equal(Original().ToByteArray(), original.ToByteArray());

        var (expected, actual) = (Logits(original), Logits(narrowed));
        var scale = expected.Max(Math.Abs);
        Assert.All(expected.Zip(actual), p => Assert.Equal(p.First, p.Second, 5e-3f * scale));
    }

    [Fact]
    public void Widening_gives_back_float_initializers_of_the_rounded_values_with_the_same_logits()
    {
        var original = Original();
        var narrowed = OnnxHalfStorage.Narrowed(original);
        var widened = OnnxHalfStorage.Widened(narrowed);

        Assert.DoesNotContain(widened.Graph.Node, n => n.OpType == "Cast");
        Assert.Equal(original.Graph.Initializer.Select(t => t.Name).Order(), widened.Graph.Initializer.Select(t => t.Name).Order());
        Assert.All(widened.Graph.Initializer, t => Assert.Equal(Float, t.DataType));
        foreach (var tensor in original.Graph.Initializer)
        {
            var before = Floats(tensor);
            var after = Floats(widened.Graph.Initializer.Single(t => t.Name == tensor.Name));
            var small = before.Length < OnnxHalfStorage.MinElements;
            Assert.Equal(small ? before : [.. before.Select(v => (float)(Half)v)], after);
        }

        Assert.Equal(Logits(narrowed), Logits(widened));
        Assert.Same(original, OnnxHalfStorage.Widened(original));
    }

    [Fact]
    public void A_model_stored_in_half_trains_the_same_parameters_as_the_float_one()
    {
        var original = Original();
        using var full = Salient.Engine.Training.TrainableModel.FromProto(original, "float.onnx");
        using var half = Salient.Engine.Training.TrainableModel.FromProto(OnnxHalfStorage.Narrowed(original), "half.onnx");
        Assert.Equal(full.Parameters.Select(p => p.Name), half.Parameters.Select(p => p.Name));
        Assert.DoesNotContain(half.Export().Graph.Node, n => n.OpType == "Cast");
    }

    [Fact]
    public void A_weight_beyond_half_precision_is_named()
    {
        var original = Original();
        var tensor = original.Graph.Initializer.First(t => t.DataType == Float && t.Dims.Aggregate(1L, (a, d) => a * d) >= OnnxHalfStorage.MinElements);
        var values = Floats(tensor);
        values[3] = 1e6f;
        tensor.FloatData.Clear();
        tensor.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));

        var e = Assert.Throws<ModelException>(() => OnnxHalfStorage.Narrowed(original));
        Assert.Contains($"'{tensor.Name}'", e.Message, StringComparison.Ordinal);
    }
}
