namespace Salient.Engine.Graph;

/// <summary>
/// What a <see cref="Step"/> computes, as backward rules need to know it (guided backpropagation
/// changes activations, TSGB convolutions, batch norms, pools and the last linear layer). Steps of
/// operators no rule singles out are <see cref="Other"/>; a kind names the step's own operator, not
/// what was fused into it (a Conv+Relu step is a <see cref="Convolution"/> with
/// <see cref="Step.Activation"/> set).
/// </summary>
public enum StepKind
{
    /// <summary>Any operator not listed here (shape changes, reductions, normalisations other than batch norm, ...).</summary>
    Other,

    /// <summary>A 2-D convolution (Conv); <see cref="Step.ConvolutionGeometry"/> holds its shapes; inputs: data, weights, optional bias.</summary>
    Convolution,

    /// <summary>An inference batch norm, y = x·scale[c] + shift[c] with folded statistics; input 0 is the data.</summary>
    BatchNorm,

    /// <summary>A training batch norm (batch statistics); inputs: data, scale, shift, running mean, running variance.</summary>
    BatchNormTraining,

    /// <summary>A standalone elementwise activation (Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid, HardSwish); <see cref="Step.Activation"/> says which.</summary>
    Activation,

    /// <summary>Max pooling; <see cref="Step.PoolGeometry"/> holds the window.</summary>
    MaxPool,

    /// <summary>Average pooling; <see cref="Step.PoolGeometry"/> holds the window.</summary>
    AveragePool,

    /// <summary>Global average pooling over H and W.</summary>
    GlobalAveragePool,

    /// <summary>A matrix product with weights (Gemm, 2-D MatMul): input 0 the data, input 1 the weights (layout: <see cref="Step.WeightsTransposed"/>), input 2 an optional bias.</summary>
    Linear,

    /// <summary>An elementwise binary operation with broadcasting (Add, Sub, Mul, Div), a residual sum among them.</summary>
    Elementwise,
}
