namespace Salient.Engine;

/// <summary>One step of a forward pass and the mean time it took (<see cref="Model.ProfileForward"/>).</summary>
/// <param name="Node">The ONNX node the step runs (its name, or its operator and output when unnamed).</param>
/// <param name="Kind">The operator plus what the planner fused into it, e.g. <c>Conv+Add+Relu</c>.</param>
/// <param name="Output">The value the step writes, by ONNX name.</param>
/// <param name="Shape">That value's shape.</param>
/// <param name="Elapsed">Mean time per pass.</param>
public sealed record StepTiming(string Node, string Kind, string Output, IReadOnlyList<int> Shape, TimeSpan Elapsed);
