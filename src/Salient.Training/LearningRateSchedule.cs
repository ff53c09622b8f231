namespace Salient.Training;

/// <summary>How the learning rate moves over training.</summary>
public enum ScheduleKind
{
    /// <summary>The base rate throughout.</summary>
    Constant,

    /// <summary>Multiplied by <see cref="LearningRateSchedule.Gamma"/> at each milestone epoch (PyTorch's MultiStepLR).</summary>
    Step,

    /// <summary>Cosine decay from the base rate to <see cref="LearningRateSchedule.Minimum"/> over the epochs (CosineAnnealingLR), per iteration.</summary>
    Cosine,
}

/// <summary>A learning-rate schedule with an optional linear warm-up.</summary>
public sealed record LearningRateSchedule(ScheduleKind Kind, float BaseRate, int Epochs)
{
    public IReadOnlyList<int> Milestones { get; init; } = [];

    public float Gamma { get; init; } = 0.1f;

    public float Minimum { get; init; }

    /// <summary>Epochs of linear warm-up from zero, at the start.</summary>
    public double WarmupEpochs { get; init; }

    /// <summary>The rate at <paramref name="epoch"/>, a fractional epoch count (2.5 = half-way through the third epoch).</summary>
    public float At(double epoch)
    {
        var rate = Kind switch
        {
            ScheduleKind.Step => BaseRate * MathF.Pow(Gamma, Milestones.Count(m => m <= Math.Floor(epoch))),
            ScheduleKind.Cosine => Minimum + (0.5f * (BaseRate - Minimum) * (1 + (float)Math.Cos(Math.PI * Math.Min(epoch, Epochs) / Math.Max(1, Epochs)))),
            _ => BaseRate,
        };
        return epoch < WarmupEpochs ? rate * (float)(epoch / WarmupEpochs) : rate;
    }

    /// <summary>Parses "constant", "cosine", or "step:30,60" (milestones; gamma 0.1).</summary>
    public static LearningRateSchedule Parse(string text, float baseRate, int epochs)
    {
        ArgumentNullException.ThrowIfNull(text);
        var (name, arguments) = text.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0 ? (text[..colon], text[(colon + 1)..]) : (text, string.Empty);
        switch (name)
        {
            case "constant":
                return new(ScheduleKind.Constant, baseRate, epochs);
            case "cosine":
                return new(ScheduleKind.Cosine, baseRate, epochs);
            case "step":
                var milestones = arguments.Length == 0
                    ? [epochs / 2, epochs * 3 / 4]
                    : arguments.Split(',').Select(m => int.TryParse(m, out var v) && v > 0 ? v : throw new FormatException($"Schedule '{text}': milestone '{m}' is not a positive epoch number.")).ToArray();
                return new(ScheduleKind.Step, baseRate, epochs) { Milestones = milestones };
            default:
                throw new FormatException($"Unknown learning-rate schedule '{text}' (use constant, cosine or step[:E1,E2,...]).");
        }
    }
}
