using Salient.Engine.IO;

namespace Salient.Engine.Tests.Onnx;

/// <summary>Bad models and bad inputs fail with a <see cref="ModelException"/> that names the file and, where one is at fault, the node.</summary>
public sealed class BadModelTests
{
    [Theory]
    [InlineData("malformed.onnx", "not a valid ONNX file")]
    [InlineData("empty.onnx", "empty file")]
    [InlineData("not_a_model.onnx", "not a valid ONNX file")]
    public void Unreadable_files_are_rejected_naming_the_file(string file, string problem)
    {
        var e = Assert.Throws<ModelException>(() => Model.Load(Fixtures.Path("bad", file)));
        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unsupported_operator_is_rejected_at_load_naming_the_op_and_node()
    {
        var e = Assert.Throws<ModelException>(() => Model.Load(Fixtures.Path("bad", "unsupported_op.onnx")));
        Assert.Contains("unsupported_op.onnx", e.Message, StringComparison.Ordinal);
        Assert.Contains("'LRN'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'lrn_0'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var e = Assert.Throws<ModelException>(() => Model.Load(Fixtures.Path("bad", "nowhere.onnx")));
        Assert.Contains("nowhere.onnx", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_input_shape_is_rejected_with_the_expected_shape()
    {
        var model = Model.Load(Fixtures.Path("models", "resnet_basic.onnx"));
        using var input = Tensor.Zeros(1, 3, 64, 64);
        var e = Assert.Throws<ModelException>(() => model.Forward(input));
        Assert.Contains("resnet_basic.onnx", e.Message, StringComparison.Ordinal);
        Assert.Contains("[N,3,32,32]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[1,3,64,64]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void External_data_outside_the_model_folder_is_refused()
    {
        var dir = Directory.CreateTempSubdirectory("salient-ext-");
        try
        {
            var bytes = File.ReadAllBytes(Fixtures.Path("models", "resnet_basic_external.onnx"));
            var name = "resnet_basic_external.weights"u8.ToArray();
            var escaped = "../resnet_basic_externweights"u8.ToArray();

            // A same-length swap keeps the protobuf valid while pointing the location outside the folder.
            Assert.Equal(name.Length, escaped.Length);
            var patched = Replace(bytes, name, escaped);
            var path = System.IO.Path.Combine(dir.FullName, "escape.onnx");
            File.WriteAllBytes(path, patched);
            var e = Assert.Throws<ModelException>(() => Model.Load(path));
            Assert.Contains("outside the model's folder", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Theory]
    [InlineData(-1, "cannot read external data 'resnet_basic_external.weights'")]
    [InlineData(1000, "of 'resnet_basic_external.weights', which has 1000")]
    public void Missing_or_short_external_data_is_refused_naming_the_file(int keptBytes, string problem)
    {
        // keptBytes -1: the weights file is not beside the model at all; otherwise it is cut short.
        var dir = Directory.CreateTempSubdirectory("salient-ext-");
        try
        {
            File.Copy(Fixtures.Path("models", "resnet_basic_external.onnx"), System.IO.Path.Combine(dir.FullName, "resnet_basic_external.onnx"));
            if (keptBytes >= 0)
            {
                var weights = File.ReadAllBytes(Fixtures.Path("models", "resnet_basic_external.weights"));
                File.WriteAllBytes(System.IO.Path.Combine(dir.FullName, "resnet_basic_external.weights"), weights[..keptBytes]);
            }

            var e = Assert.Throws<ModelException>(() => Model.Load(System.IO.Path.Combine(dir.FullName, "resnet_basic_external.onnx")));
            Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Npy_inputs_round_trip_through_the_model()
    {
        var model = Model.Load(Fixtures.Path("models", "vgg_bn.onnx"));
        using var input = Npy.Read(Fixtures.Path("models", "vgg_bn.input.npy"));
        using var a = model.Forward(input);
        using var b = model.Forward(input);
        Assert.Equal(a.Span.ToArray(), b.Span.ToArray());
    }

    [Fact]
    public void Weights_shared_through_identity_nodes_fold_to_constants()
    {
        // torch.onnx.export deduplicates equal weights and feeds the copies through Identity nodes.
        var model = TinyModels.Load("shared", [1, 1, 2, 2],
            [TinyModels.Node("Identity", ["w"], "w2"), TinyModels.Node("Conv", ["x", "w2"], "y")],
            [TinyModels.Floats("w", [1, 1, 1, 1], 3f)], "y");
        using var input = Tensor.FromSpan([1, 2, 3, 4], 1, 1, 2, 2);
        using var output = model.Forward(input);
        Assert.Equal([3f, 6f, 9f, 12f], output.Span.ToArray());
    }

    [Fact]
    public void Weights_stay_in_the_bytes_the_parser_read_them_into()
    {
        // No second copy: raw_data initializers are views over the protobuf's own arrays.
        var model = Model.Load(Fixtures.Path("models", "resnet_bottleneck.onnx"));
        var weights = model.Graph.Initializers.Values.Where(c => c.Floats is not null && c.Floats.Length > 64).ToList();
        Assert.NotEmpty(weights);
        Assert.All(weights, c =>
        {
            Assert.False(c.Floats!.OwnsStorage);
            Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetMemoryManager<float, System.Buffers.MemoryManager<float>>(c.Floats.Memory, out _));
        });
    }

    private static byte[] Replace(byte[] data, byte[] find, byte[] with)
    {
        var copy = (byte[])data.Clone();
        var at = copy.AsSpan().IndexOf(find);
        Assert.True(at >= 0);
        with.CopyTo(copy, at);
        return copy;
    }
}
