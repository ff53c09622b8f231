using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Salient.Engine;
using Salient.Engine.IO;

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

    // Σ_k |G_k|·A_k, element-wise: unlike any built-in method.
    protected override void AddChannel(ReadOnlySpan<float> activation, ReadOnlySpan<float> gradient, Span<float> map, Span<float> scratch)
    {
        TensorPrimitives.Abs(gradient, scratch);
        TensorPrimitives.MultiplyAdd(scratch, activation, map, map);
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
