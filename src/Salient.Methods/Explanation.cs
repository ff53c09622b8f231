using Salient.Engine;

namespace Salient.Methods;

/// <summary>
/// One explanation: a map for one target class of one image. Owns its tensors.
/// <see cref="Raw"/> is the method's raw output (layer resolution h×w for the CAM family, C×H×W for
/// gradient methods, signed H×W for TSGB); <see cref="Map"/> is the post-processed H×W map in [0, 1]
/// at the model input's resolution. A method that factors an image into concepts (<c>dff</c>) adds
/// each concept's class logits (<see cref="ConceptScores"/>).
/// </summary>
public sealed class Explanation : IDisposable
{
    /// <summary>An explanation of <paramref name="targetClass"/> for image <paramref name="image"/> of a batch, taking over <paramref name="raw"/>, <paramref name="map"/> and <paramref name="conceptScores"/>.</summary>
    public Explanation(int image, int targetClass, float logit, float probability, Tensor raw, Tensor map, Tensor? conceptScores = null)
    {
        ConceptScores = conceptScores;
        Image = image;
        Class = targetClass;
        Logit = logit;
        Probability = probability;
        Raw = raw;
        Map = map;
    }

    /// <summary>The image's index in the batch.</summary>
    public int Image { get; }

    /// <summary>The target class.</summary>
    public int Class { get; }

    /// <summary>The target's logit.</summary>
    public float Logit { get; }

    /// <summary>The target's probability: softmax, or sigmoid for a multi-label model (<see cref="ExplainOptions.Scores"/>).</summary>
    public float Probability { get; }

    /// <summary>The raw map.</summary>
    public Tensor Raw { get; }

    /// <summary>The map at input resolution, in [0, 1].</summary>
    public Tensor Map { get; }

    /// <summary>The class logits [concepts, classes] of each concept the method factored the image into; null for methods that do not.</summary>
    public Tensor? ConceptScores { get; }

    /// <summary>False when the raw map or the map holds NaN or infinity (report it; do not write it).</summary>
    public bool IsFinite => Internal.MapMath.AllFinite(Raw.Span) && Internal.MapMath.AllFinite(Map.Span);

    /// <summary>Returns the tensors' storage to the pool.</summary>
    public void Dispose()
    {
        Raw.Dispose();
        Map.Dispose();
        ConceptScores?.Dispose();
    }
}
