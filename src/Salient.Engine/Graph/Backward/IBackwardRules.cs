namespace Salient.Engine.Graph.Backward;

/// <summary>
/// How an explanation method changes the backward pass (guided backprop, TSGB, gradient
/// truncation) without copying the executor: per-step rule overrides and per-value gradient hooks.
/// </summary>
internal interface IBackwardRules
{
    /// <summary>Computes the step's input gradients its own way and returns true, or returns false for the ordinary vector-Jacobian product.</summary>
    bool TryBackward(Step step, BackwardContext context);

    /// <summary>
    /// Sees the complete gradient of <paramref name="value"/> before it flows further back, and may
    /// change it in place (e.g. truncation at a block output).
    /// </summary>
    void OnGradient(string value, Tensor gradient);
}
