using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Engine.IO;
using Salient.Engine.Kernels;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Tests;

/// <summary>
/// A method that lives only in this test project: one class, registered with one line, that runs
/// through <see cref="Explainer"/> like the built-in ones (and through the shared tests that
/// iterate <see cref="Explainer.MethodNames"/>).
/// </summary>
internal sealed class AbsoluteGradCam(Model model, ExplainOptions options) : GradientWeightedCam(model, options)
{
    public const string Name = "test-absolute-gradcam";

    [ModuleInitializer]
    internal static void Register() => ExplanationMethods.Register(new(Name, MethodOptions.None, (m, o) => new AbsoluteGradCam(m, o)));

    // Σ_k |G_k|·A_k, element-wise: unlike any built-in method, made of backend operations.
    protected override void CombineChannels(IKernelBackend backend, int channels, int plane, BufferView activations, BufferView gradients, BufferView map)
    {
        using var magnitudes = Tensor.Uninitialized(backend, channels * plane);
        backend.Map(new MapFunction(MapFunctionKind.Abs), gradients, magnitudes.Data);
        backend.ChannelProductSum(ChannelProduct.Product, channels, plane, activations, magnitudes.Data, map);
    }
}

public sealed class PluginMethodTests
{
    private static readonly Lazy<Model> ResNet = new(() => Model.Load(Fixtures.Path("models", "resnet_basic.onnx")));

    [Fact]
    public void A_method_registered_from_outside_runs_through_the_explainer()
    {
        var explainer = Explainer.Create(ResNet.Value, new ExplainOptions { Method = AbsoluteGradCam.Name });
        Assert.IsType<AbsoluteGradCam>(explainer);
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var results = explainer.Explain(pair, TargetSelection.Classes(3));
        try
        {
            Assert.Equal(2, results.Count);
            Assert.All(results, r =>
            {
                Assert.Equal(3, r.Class);
                Assert.Equal([32, 32], r.Map.ShapeArray());
                Assert.True(r.IsFinite);
                Assert.InRange(TensorPrimitives.Max(r.Map.Span), 0.99f, 1f);
            });
        }
        finally
        {
            foreach (var r in results)
            {
                r.Dispose();
            }
        }
    }

    [Fact]
    public void The_registry_lists_it_refuses_a_second_one_of_the_same_name_and_its_options_are_checked()
    {
        Assert.Contains(AbsoluteGradCam.Name, Explainer.MethodNames);
        var unknown = Assert.Throws<ArgumentException>(() => ExplanationMethods.Find("no-such-method"));
        Assert.Contains(AbsoluteGradCam.Name, unknown.Message);
        Assert.Contains("gradcam", unknown.Message);
        Assert.Throws<ArgumentException>(() => ExplanationMethods.Register(new(AbsoluteGradCam.Name, MethodOptions.None, (m, o) => new AbsoluteGradCam(m, o))));
        var denoise = Assert.Throws<ArgumentException>(() => Explainer.Create(ResNet.Value, new ExplainOptions { Method = AbsoluteGradCam.Name, Denoise = DenoiseMode.Floor }));
        Assert.Contains(AbsoluteGradCam.Name, denoise.Message);
    }
}
