namespace Salient.Training.Csg;

/// <summary>
/// The class-specific gate's training schedule and penalty (docs/csg.md). Epoch e
/// (0-based) is a CSG epoch when e ≥ <see cref="WarmupEpochs"/> and e mod <see cref="Period"/> ≥
/// <see cref="PhaseStart"/>; other epochs train the standard path.
/// </summary>
public sealed record CsgOptions
{
    /// <summary>λ, the weight of the hinge sparsity term λ·max(0, ‖G‖₁ − μ·K·C).</summary>
    public float Lambda { get; init; } = 1e-3f;

    /// <summary>μ, the target gate density of the hinge.</summary>
    public float Mu { get; init; } = 0.2f;

    /// <summary>Standard epochs before the first CSG epoch.</summary>
    public int WarmupEpochs { get; init; } = 3;

    public int Period { get; init; } = 3;

    public int PhaseStart { get; init; } = 2;

    /// <summary>A constant learning rate for CSG epochs (the authors' CSG schedule never decays); null to follow the standard schedule (the spec's advice when training from scratch).</summary>
    public float? LearningRate { get; init; }

    public bool IsCsgEpoch(int epoch) => epoch >= WarmupEpochs && epoch % Period >= PhaseStart;
}
