using Salient.Engine.Devices;

namespace Salient.Engine.Kernels;

/// <summary>
/// The compute primitives of one device: the extension point for a new device (docs/architecture.md,
/// "Devices and backends"). One implementation per device kind: the CPU one
/// (<see cref="Cpu.CpuBackend"/>) now; a backend is registered by device kind in
/// <see cref="KernelBackends"/> and a model takes its backend at load
/// (<see cref="Model.Load(string, Device)"/>); steps reach it through
/// <see cref="Graph.StepContext.Backend"/> and <see cref="Graph.Backward.RecordedStepContext.Backend"/>.
/// <para>
/// A backend owns its device's memory: it allocates buffers from its own pool
/// (<see cref="Allocate"/>), and every operation reads and writes <see cref="BufferView"/>s of
/// its own buffers, dense row-major float32, so a chain of operations never passes through the
/// host. An operation handed a view of another device's buffer throws; the one exception is
/// read-only parameters in caller memory, which arrive as host views (<see cref="BufferView.Host"/>,
/// a <see cref="CpuBuffer"/> that is not pooled): the model's constants (convolution weights, folded
/// batch-norm scales and shifts), which are the same buffer objects for the life of a plan, so a
/// device backend uploads each once and keeps it keyed by the buffer, and small values a method
/// computes on the host (a CAM's channel weights). Outputs are always the backend's own buffers.
/// An empty <c>bias</c> view means no bias. Operations run in order on one stream: a
/// device backend may return before the work is done, as long as a later operation, a copy to
/// the host or <see cref="Synchronize"/> sees it finished.
/// </para>
/// Implementations may use up to <see cref="Environment.ProcessorCount"/> threads.
/// </summary>
public interface IKernelBackend
{
    /// <summary>A short name for logs and benchmarks, e.g. "cpu/openblas" or "cpu/managed".</summary>
    string Name { get; }

    /// <summary>The device whose memory this backend's buffers are.</summary>
    Device Device { get; }

    /// <summary>A buffer of at least <paramref name="length"/> floats from the backend's pool; contents unspecified. Disposing it returns it.</summary>
    DeviceBuffer Allocate(int length);

    /// <summary>Sets every element of <paramref name="target"/> to <paramref name="value"/>.</summary>
    void Fill(BufferView target, float value);

    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/> (same length, both on this device).</summary>
    void Copy(BufferView source, BufferView destination);

    /// <summary>Waits until every operation issued so far has finished (timing; the CPU backend runs synchronously).</summary>
    void Synchronize();

    /// <summary>C = alpha·op(A)·op(B) + beta·C, row-major, op = transpose when the flag is set.</summary>
    void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        BufferView a, int lda, BufferView b, int ldb, float beta, BufferView c, int ldc);

    /// <summary>
    /// 2-D convolution of NCHW input with [OC, C/groups, KH, KW] weights, plus bias, then
    /// <paramref name="activation"/>. With <paramref name="accumulate"/> the output already holds a
    /// residual that joins the sum before the activation: output = act(conv + bias + output).
    /// <paramref name="prepared"/>, when given, is where the backend may keep the weights in its
    /// kernels' form across calls; only a caller whose weights stay unchanged while it lives passes it.
    /// </summary>
    void Conv2d(in Conv2dGeometry g, BufferView input, BufferView weight, BufferView bias,
        BufferView output, in FusedActivation activation, bool accumulate = false, PreparedWeights? prepared = null);

    /// <summary>Max pooling; padded cells never win.</summary>
    void MaxPool2d(in Pool2dGeometry g, BufferView input, BufferView output);

    /// <summary>Average pooling; with <paramref name="countIncludePad"/> padded cells count in the divisor.</summary>
    void AvgPool2d(in Pool2dGeometry g, bool countIncludePad, BufferView input, BufferView output);

    /// <summary>Mean over the spatial extent of each of <paramref name="planes"/> planes of <paramref name="planeSize"/> values.</summary>
    void GlobalAvgPool(int planes, int planeSize, BufferView input, BufferView output);

    /// <summary>
    /// y = x·scale[c] + shift[c] over [N, C, spatial] data, then <paramref name="activation"/>
    /// (inference batch norm with its statistics folded into scale and shift).
    /// </summary>
    void ChannelAffine(int n, int channels, int spatial, BufferView input, BufferView scale,
        BufferView shift, BufferView output, in FusedActivation activation);

    /// <summary>
    /// Training batch norm over [N, C, spatial]: normalizes each channel with its batch mean and
    /// biased variance (written to <paramref name="mean"/> and <paramref name="variance"/>), then scales and shifts.
    /// </summary>
    void BatchNormTraining(int n, int channels, int spatial, BufferView input, BufferView gamma, BufferView beta,
        float epsilon, BufferView output, BufferView mean, BufferView variance);

    /// <summary>Elementwise activation; input and output may be the same buffer.</summary>
    void Activate(in FusedActivation activation, BufferView input, BufferView output);

    /// <summary>
    /// Elementwise binary op with numpy broadcasting of shapes <paramref name="aShape"/> and
    /// <paramref name="bShape"/> to <paramref name="outShape"/>, then <paramref name="activation"/>
    /// (a residual Add followed by ReLU is one pass).
    /// </summary>
    void Binary(BinaryOp op, BufferView a, ReadOnlySpan<int> aShape, BufferView b, ReadOnlySpan<int> bShape,
        BufferView output, ReadOnlySpan<int> outShape, in FusedActivation activation = default);

    /// <summary>Softmax over the last axis of <paramref name="rows"/> rows of <paramref name="cols"/> values.</summary>
    void Softmax(int rows, int cols, BufferView input, BufferView output);

    // Backward: vector-Jacobian products. Each overwrites its gradient output.

    /// <summary>
    /// The input gradient of <see cref="Conv2d"/> (no bias or activation): a transposed convolution of
    /// <paramref name="outputGradient"/> with the weights; <paramref name="prepared"/> as for <see cref="Conv2d"/>.
    /// </summary>
    void Conv2dBackwardData(in Conv2dGeometry g, BufferView weight, BufferView outputGradient, BufferView inputGradient, PreparedWeights? prepared = null);

    /// <summary>The weight gradient of <see cref="Conv2d"/>, [OC, C/groups, KH, KW], summed over the batch; the bias gradient (when not empty) is the output gradient summed per channel.</summary>
    void Conv2dBackwardWeights(in Conv2dGeometry g, BufferView input, BufferView outputGradient, BufferView weightGradient, BufferView biasGradient);

    /// <summary>The input, scale and shift gradients of <see cref="BatchNormTraining"/>, recomputing the batch statistics from the input.</summary>
    void BatchNormTrainingBackward(int n, int channels, int spatial, BufferView input, BufferView gamma, float epsilon,
        BufferView outputGradient, BufferView inputGradient, BufferView gammaGradient, BufferView betaGradient);

    /// <summary>
    /// The input gradient of max pooling, given the forward's input and output: each output's gradient
    /// goes to its window's first maximum (PyTorch's tie rule), accumulating where windows share one.
    /// </summary>
    void MaxPool2dBackward(in Pool2dGeometry g, BufferView input, BufferView output, BufferView outputGradient,
        BufferView inputGradient);

    /// <summary>
    /// Max pooling's Jacobian-vector product: each output takes <paramref name="inputTangent"/> at its
    /// window's maximum in <paramref name="input"/>, the element <see cref="MaxPool2dBackward"/> routes the
    /// gradient to (the same tie rule).
    /// </summary>
    void MaxPool2dTangent(in Pool2dGeometry g, BufferView input, BufferView output, BufferView inputTangent, BufferView outputTangent);

    /// <summary>The input gradient of <see cref="GlobalAvgPool"/>: each plane gets its output's gradient divided by the plane size.</summary>
    void GlobalAvgPoolBackward(int planes, int planeSize, BufferView outputGradient, BufferView inputGradient);

    /// <summary>The input gradient of <see cref="AvgPool2d"/> with the same divisor rule.</summary>
    void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, BufferView outputGradient, BufferView inputGradient);

    /// <summary>
    /// The input gradient of an activation, given its forward input and output. Relu, LeakyRelu
    /// and Clip pass the gradient where PyTorch does (Relu: output &gt; 0; Clip: min &lt; x &lt; max).
    /// <paramref name="inputGradient"/> may be <paramref name="outputGradient"/> (in place).
    /// </summary>
    void ActivateBackward(in FusedActivation activation, BufferView input, BufferView output,
        BufferView outputGradient, BufferView inputGradient);

    /// <summary>Sums <paramref name="input"/> of shape <paramref name="inShape"/> over the axes it was broadcast along to reach it from <paramref name="outShape"/> (the backward of broadcasting).</summary>
    void ReduceToShape(BufferView input, ReadOnlySpan<int> inShape, BufferView output, ReadOnlySpan<int> outShape);

    /// <summary>
    /// Bilinear resize of <paramref name="planes"/> planes. Half-pixel centres with edge
    /// replication (OpenCV INTER_LINEAR, PyTorch align_corners=False, no antialias) or, with
    /// <paramref name="alignCorners"/>, corner-aligned sampling (PyTorch align_corners=True).
    /// </summary>
    void ResizeBilinear(int planes, int inHeight, int inWidth, BufferView input, int outHeight, int outWidth,
        BufferView output, bool alignCorners);

    // Map arithmetic of the explanation methods (docs/methods.md), so a map leaves the device only to be written.

    /// <summary>
    /// <paramref name="output"/>[p] = Σ_c <paramref name="weights"/>[c]·<paramref name="maps"/>[c·plane + p]
    /// over <paramref name="channels"/> planes of <paramref name="plane"/> values, channels summed in order (a CAM's weighted sum).
    /// </summary>
    void WeightedSum(int channels, int plane, BufferView maps, BufferView weights, BufferView output);

    /// <summary><paramref name="output"/>[c] = mean of plane c of <paramref name="input"/>, as Σ/plane (Grad-CAM's weights; <see cref="GlobalAvgPool"/> keeps the model's rounding).</summary>
    void PlaneMeans(int channels, int plane, BufferView input, BufferView output);

    /// <summary><paramref name="output"/>[p] = max over the <paramref name="channels"/> planes of |<paramref name="input"/>| (the gradient methods' map).</summary>
    void ChannelMaxAbs(int channels, int plane, BufferView input, BufferView output);

    /// <summary>An elementwise function of each value, in place or into another view of the same length.</summary>
    void Map(MapFunction map, BufferView input, BufferView output);

    /// <summary>Normalises each of <paramref name="planes"/> planes (of <c>map.Length / planes</c> values) in place.</summary>
    void Normalize(MapNormalization normalization, float epsilon, int planes, BufferView map);

    /// <summary><paramref name="accumulator"/> = <paramref name="accumulator"/> ⊕ <paramref name="addend"/> elementwise, ⊕ the fusion's sum, max or product.</summary>
    void Accumulate(MapFusion fusion, BufferView addend, BufferView accumulator);

    // Method arithmetic: the explanation methods' channel rules, gradient truncation, ratios and noise (docs/methods.md).

    /// <summary>
    /// One weight per channel, <paramref name="weights"/>[c], from channel c's planes of <paramref name="activations"/>
    /// and <paramref name="gradients"/> (each <paramref name="channels"/> planes of <paramref name="plane"/> values), by
    /// <paramref name="weighting"/>: the weights of the CAMs that sum whole channels (then <see cref="WeightedSum"/>).
    /// </summary>
    void ChannelWeights(ChannelWeighting weighting, int channels, int plane, BufferView activations, BufferView gradients, BufferView weights);

    /// <summary>
    /// <paramref name="output"/>[p] = Σ_c f(g[c·plane + p], a[c·plane + p]) over <paramref name="channels"/> planes of
    /// <paramref name="plane"/> values of <paramref name="gradients"/> g and <paramref name="activations"/> a, channels
    /// summed in order, f by <paramref name="product"/>: the element-wise CAMs' map, and any channel sum of products.
    /// </summary>
    void ChannelProductSum(ChannelProduct product, int channels, int plane, BufferView activations, BufferView gradients, BufferView output);

    /// <summary>
    /// Truncates the positive values of each of <paramref name="segments"/> equal segments of <paramref name="values"/>,
    /// in place, at τ: the <paramref name="quantile"/>-quantile (0 ≤ q ≤ 1) of that segment's positive values, linearly
    /// interpolated between order statistics as numpy does. Values ≤ 0 and NaN stay; a segment without positive values
    /// is unchanged (denoising's gradient truncation, docs/methods.md).
    /// </summary>
    void TruncatePositives(QuantileTruncation truncation, float quantile, int segments, BufferView values);

    /// <summary>
    /// <paramref name="target"/>[r·n + i] += <paramref name="scales"/>[r]·<paramref name="pattern"/>[i] for each row r of
    /// n = <c>pattern.Length</c> values, one row per scale: one pattern added to every row at that row's scale
    /// (SmoothGrad's noise, one σ per image).
    /// </summary>
    void AddScaled(BufferView pattern, BufferView scales, BufferView target);

    /// <summary>
    /// <paramref name="destination"/>[i] = <paramref name="mean"/> + <paramref name="deviation"/>·zᵢ, zᵢ the i-th standard
    /// normal of the counter-based generator <see cref="CounterRandom"/> under (<paramref name="seed"/>, <paramref name="stream"/>):
    /// the methods' noise patterns (SmoothGrad's copies, GradientSHAP's noise, DeepLIFT-SHAP's baselines), drawn on the device.
    /// Counter-based because each value is a pure function of (seed, stream, i): a device draws them all at once, in
    /// any order, and every backend gives the same numbers however the work is split (bitwise on the CPU backend and
    /// kernels run on the CPU; a GPU's fast log, sin and cos move them by a few millionths, see <see cref="CounterRandom"/>); a method derives the stream from what
    /// the pattern is for (its sample's index), never from a batch position, so maps do not depend on batching.
    /// </summary>
    void FillNormal(ulong seed, ulong stream, float mean, float deviation, BufferView destination);

    /// <summary>
    /// <paramref name="output"/>[(i·channels + c)·plane + p] = sign(<paramref name="x"/>[(i·channels + c)·plane + p])·<paramref name="map"/>[i·plane + p]
    /// with sign(0) = 0, for <paramref name="images"/> images of <paramref name="channels"/> planes of <paramref name="plane"/>
    /// values: one map per image spread to its channels by their signs (TSGB's convolution rule).
    /// </summary>
    void SignTimes(int images, int channels, int plane, BufferView x, BufferView map, BufferView output);

    /// <summary>
    /// The input gradient of a linear layer y = W·x (no bias) under the sign-split rule of TSGB's final layer
    /// (docs/methods.md, "TSGB"): for each of <paramref name="rows"/> rows, g_x[j] = Σ_k g_k·(W_kj if W_kj &gt; 0, else β_k·W_kj),
    /// β_k = <paramref name="gamma"/>·(W⁺x)_k / |(W⁻x)_k|, outputs whose gradient g_k is 0 left out. <paramref name="weights"/>
    /// is [outputs, inputs] when <paramref name="weightsTransposed"/>, else [inputs, outputs]; <paramref name="input"/> is
    /// [rows, inputs], <paramref name="outputGradient"/> [rows, outputs], <paramref name="inputGradient"/> [rows, inputs] (overwritten).
    /// </summary>
    void SignSplitLinearBackward(int rows, int inputs, int outputs, bool weightsTransposed, float gamma, BufferView input, BufferView weights,
        BufferView outputGradient, BufferView inputGradient);

    /// <summary>
    /// Writes one copy of <paramref name="source"/> ([channels, plane]) per limit into <paramref name="output"/>
    /// ([limits, channels, plane]): copy k takes <paramref name="replacement"/>'s values, in every channel, at the
    /// positions p whose rank (<paramref name="ranks"/>[p], a whole number) is below <paramref name="limits"/>[k], and
    /// <paramref name="source"/>'s elsewhere (deletion and insertion's perturbed images, pixels taken in the map's order).
    /// </summary>
    void SpliceByRank(int channels, int plane, BufferView source, BufferView replacement, BufferView ranks, BufferView limits, BufferView output);
    // Data-movement and normalisation operators (docs/architecture.md, "Operators on a device"): the
    // general operations behind Concat, Split, Slice, Gather, Pad, Transpose, Expand, Tile, the
    // reductions, softmax on any axis, LogSoftmax, layer and instance norm, the unary functions, Where,
    // the comparisons, Pow, Resize and Einsum, forward and backward.

    /// <summary>
    /// For every index i of <paramref name="shape"/>: destination[destinationOffset + Σ i_d·destinationStrides[d]]
    /// = (or, with <paramref name="accumulate"/>, +=) source[sourceOffset + Σ i_d·sourceStrides[d]]. Strides may
    /// be 0 (broadcast reads, summing writes) or negative (reversed slices). Without
    /// <paramref name="accumulate"/> no two indices may write the same place; with it, values that meet sum
    /// (in row-major order on the CPU, in an unspecified order on a device).
    /// </summary>
    void StridedCopy(ReadOnlySpan<int> shape, BufferView source, int sourceOffset, ReadOnlySpan<int> sourceStrides,
        BufferView destination, int destinationOffset, ReadOnlySpan<int> destinationStrides, bool accumulate);

    /// <summary>
    /// <paramref name="output"/>[i] = <paramref name="input"/>[indices[i]], or <paramref name="fill"/> where the
    /// index is negative (Pad's index map). <paramref name="indices"/> is the same array for the life of a plan:
    /// a device backend uploads it once per array.
    /// </summary>
    void IndexedGather(int[] indices, float fill, BufferView input, BufferView output);

    /// <summary>The adjoint of <see cref="IndexedGather"/>: <paramref name="target"/>[indices[i]] += <paramref name="gradient"/>[i] where the index is not negative.</summary>
    void IndexedScatterAdd(int[] indices, BufferView gradient, BufferView target);

    /// <summary>Reduces each of <paramref name="rows"/> rows of <paramref name="cols"/> values to one.</summary>
    void ReduceRows(RowReduction reduction, int rows, int cols, BufferView input, BufferView output);

    /// <summary>
    /// The input gradient of <see cref="ReduceRows"/>, given its input and output: Sum copies each row's gradient
    /// to its values, Mean divides it by <paramref name="cols"/>, Max and Min send it to the row's extreme values,
    /// split between ties, or with <paramref name="firstOnly"/> all to the first (max pooling's rule).
    /// </summary>
    void ReduceRowsBackward(RowReduction reduction, bool firstOnly, int rows, int cols, BufferView input, BufferView output,
        BufferView outputGradient, BufferView inputGradient);

    /// <summary>Log-softmax over the last axis of <paramref name="rows"/> rows of <paramref name="cols"/> values; output may be the input.</summary>
    void LogSoftmax(int rows, int cols, BufferView input, BufferView output);

    /// <summary>
    /// The input gradient of <see cref="Softmax"/> (dx = y ⊙ (dy − Σ dy·y)) or, with <paramref name="log"/>, of
    /// <see cref="LogSoftmax"/> (dx = dy − exp(y)·Σ dy), row by row, given the forward output.
    /// </summary>
    void SoftmaxBackward(bool log, int rows, int cols, BufferView output, BufferView outputGradient, BufferView inputGradient);

    /// <summary>
    /// Normalises each of <paramref name="rows"/> rows of <paramref name="cols"/> values to zero mean and unit
    /// biased variance (ε inside the root), then scales and shifts by <paramref name="affine"/>'s rule (an empty
    /// scale or bias is none). Output may be the input.
    /// </summary>
    void NormalizeRows(RowAffine affine, int rows, int cols, float epsilon, BufferView input, BufferView scale, BufferView bias, BufferView output);

    /// <summary>
    /// The gradients of <see cref="NormalizeRows"/>, recomputing the statistics from the input: the input's
    /// (dx = (g − mean g − x̂·mean(g·x̂))/σ, g = dy·scale) and, where the views are not empty, the scale's and bias's.
    /// </summary>
    void NormalizeRowsBackward(RowAffine affine, int rows, int cols, float epsilon, BufferView input, BufferView scale,
        BufferView outputGradient, BufferView inputGradient, BufferView scaleGradient, BufferView biasGradient);

    /// <summary>An elementwise function of the engine's unary operators; output may be the input.</summary>
    void Unary(UnaryFunction unary, BufferView input, BufferView output);

    /// <summary>
    /// The input gradient of <see cref="Unary"/>, given its forward input and output (each function reads the one
    /// its derivative needs), into other storage than <paramref name="outputGradient"/>.
    /// </summary>
    void UnaryBackward(UnaryFunction unary, BufferView input, BufferView output, BufferView outputGradient, BufferView inputGradient);

    /// <summary>
    /// <paramref name="output"/>[i] = <paramref name="condition"/>[i] ≠ 0 ? <paramref name="whenTrue"/>[i] : <paramref name="whenFalse"/>[i]
    /// (Where, on operands broadcast to one shape); an empty branch reads as zeros (Where's gradients).
    /// </summary>
    void Choose(BufferView condition, BufferView whenTrue, BufferView whenFalse, BufferView output);

    /// <summary><paramref name="output"/>[i] = 1 where <paramref name="a"/>[i] and <paramref name="b"/>[i] compare as asked, else 0 (Equal, Less, Greater on operands broadcast to one shape).</summary>
    void Compare(Comparison comparison, BufferView a, BufferView b, BufferView output);

    /// <summary>
    /// <paramref name="output"/>[i] = x[i] to the power exponent[i], or exponent[0] for a one-value exponent
    /// (2, 1 and 0.5 computed as x·x, x and √x).
    /// </summary>
    void Pow(BufferView x, BufferView exponent, BufferView output);

    /// <summary>
    /// The gradients of <see cref="Pow"/> with an exponent per value, where the views are not empty: x's
    /// (b·x^(b−1)·dy) and the exponent's (ln x·x^b·dy).
    /// </summary>
    void PowBackward(BufferView x, BufferView exponent, BufferView outputGradient, BufferView xGradient, BufferView exponentGradient);

    /// <summary>
    /// Resamples one axis (Resize in nearest and linear modes, one axis at a time): the input as [outer, inSize, inner]
    /// becomes the output [outer, outSize, inner], output index j summing its taps' weight·input (see <see cref="AxisResampling"/>).
    /// </summary>
    void ResampleAxis(AxisResampling resampling, BufferView input, BufferView output);

    /// <summary>The adjoint of <see cref="ResampleAxis"/>: overwrites <paramref name="inputGradient"/> with each output gradient added back, weighted, to the inputs it read.</summary>
    void ResampleAxisBackward(AxisResampling resampling, BufferView outputGradient, BufferView inputGradient);

    /// <summary>
    /// A contraction (Einsum of one or two operands): for every index of <paramref name="shape"/>, whose first
    /// <paramref name="keptAxes"/> axes are the output's (dense, row-major) and whose others are summed,
    /// output[kept] = Σ a[Σ index·aStrides]·b[Σ index·bStrides] over the summed axes in row-major order; an empty
    /// <paramref name="b"/> leaves a alone.
    /// </summary>
    void Contract(ReadOnlySpan<int> shape, int keptAxes, BufferView a, ReadOnlySpan<int> aStrides, BufferView b, ReadOnlySpan<int> bStrides, BufferView output);
}

/// <summary>An elementwise function of <see cref="IKernelBackend.Map"/>; the parameter is <see cref="Parameter"/>.</summary>
/// <param name="Kind">Which function.</param>
/// <param name="Parameter">Its parameter: the factor of <see cref="MapFunctionKind.Scale"/> and <see cref="MapFunctionKind.ScaledTanh"/>.</param>
public readonly record struct MapFunction(MapFunctionKind Kind, float Parameter = 1f);

/// <summary>The functions of <see cref="MapFunction"/>.</summary>
public enum MapFunctionKind
{
    /// <summary>max(x, 0).</summary>
    Relu,

    /// <summary>|x|.</summary>
    Abs,

    /// <summary>x·p.</summary>
    Scale,

    /// <summary>x·x.</summary>
    Square,

    /// <summary>tanh(p·x).</summary>
    ScaledTanh,
}

/// <summary>The normalisations of <see cref="IKernelBackend.Normalize"/> (docs/methods.md).</summary>
public enum MapNormalization
{
    /// <summary>(a − min a) / (max(a − min a) + eps).</summary>
    MinMax,

    /// <summary>a / (max a + eps).</summary>
    DivideByMax,
}

/// <summary>How <see cref="IKernelBackend.Accumulate"/> combines maps.</summary>
public enum MapFusion
{
    /// <summary>The sum (a mean once scaled).</summary>
    Sum,

    /// <summary>The elementwise maximum.</summary>
    Max,

    /// <summary>The product.</summary>
    Product,
}

// Method arithmetic: the rules of the methods' operations.

/// <summary>The channel weights of <see cref="IKernelBackend.ChannelWeights"/>, from activations A and gradients G of one channel's plane.</summary>
public enum ChannelWeighting
{
    /// <summary>w = ΣG / plane (Grad-CAM).</summary>
    GradientMean,

    /// <summary>w = Σ_{G&gt;0} G·α, α = G² / (2G² + ΣA·G³ + 1e-6), summed in plane order (Grad-CAM++).</summary>
    PositiveGradientAlpha,

    /// <summary>w = Σ G·A / (ΣA + 1e-7) (XGrad-CAM).</summary>
    ActivationNormalizedGradient,
}

/// <summary>The function f(g, a) of <see cref="IKernelBackend.ChannelProductSum"/>.</summary>
public enum ChannelProduct
{
    /// <summary>g·a (HiResCAM; TSGB's signed sums).</summary>
    Product,

    /// <summary>max(g, 0)·a (LayerCAM).</summary>
    RectifiedGradient,

    /// <summary>max(g·a, 0) (element-wise Grad-CAM).</summary>
    RectifiedProduct,
}

/// <summary>What <see cref="IKernelBackend.TruncatePositives"/> does to the positive values on the wrong side of τ.</summary>
public enum QuantileTruncation
{
    /// <summary>Positives below τ become 0 (ties at τ stay).</summary>
    Floor,

    /// <summary>Positives above τ become τ.</summary>
    Ceil,
}

/// <summary>Elementwise binary operations with broadcasting.</summary>
public enum BinaryOp
{
    Add,
    Sub,
    Mul,
    Div,
}

/// <summary>Activations that can run alone or fused into the end of another kernel.</summary>
public enum ActivationKind
{
    None,
    Relu,
    LeakyRelu,
    Clip,
    Sigmoid,
    HardSigmoid,
    HardSwish,
}

/// <summary>
/// An activation with its parameters: LeakyRelu uses <see cref="Alpha"/> as the slope; Clip uses
/// <see cref="Alpha"/> and <see cref="Beta"/> as min and max; HardSigmoid computes
/// max(0, min(1, Alpha·x + Beta)).
/// </summary>
public readonly record struct FusedActivation(ActivationKind Kind, float Alpha = 0f, float Beta = 0f)
{
    public static FusedActivation None => default;
}

/// <summary>Shapes and hyper-parameters of one 2-D convolution (NCHW).</summary>
public readonly record struct Conv2dGeometry(
    int Batch, int InChannels, int InHeight, int InWidth,
    int OutChannels, int KernelHeight, int KernelWidth,
    int StrideHeight, int StrideWidth,
    int PadTop, int PadLeft, int PadBottom, int PadRight,
    int DilationHeight, int DilationWidth, int Groups)
{
    public int OutHeight => (InHeight + PadTop + PadBottom - (DilationHeight * (KernelHeight - 1)) - 1) / StrideHeight + 1;

    public int OutWidth => (InWidth + PadLeft + PadRight - (DilationWidth * (KernelWidth - 1)) - 1) / StrideWidth + 1;

    /// <summary>
    /// Throws unless the hyper-parameters describe a valid convolution and the buffer lengths are the ones it
    /// needs (a bias length of 0 means no bias): the one rule every backend applies, with one set of messages.
    /// </summary>
    public void Validate(long inputLength, long weightLength, long biasLength, long outputLength)
    {
        if (Batch < 0 || InChannels <= 0 || OutChannels <= 0 || InHeight <= 0 || InWidth <= 0
            || KernelHeight <= 0 || KernelWidth <= 0 || StrideHeight <= 0 || StrideWidth <= 0
            || DilationHeight <= 0 || DilationWidth <= 0 || Groups <= 0
            || PadTop < 0 || PadLeft < 0 || PadBottom < 0 || PadRight < 0)
        {
            throw new ArgumentException($"Invalid convolution geometry {this}.");
        }

        if (InChannels % Groups != 0 || OutChannels % Groups != 0)
        {
            throw new ArgumentException($"Channels {InChannels}→{OutChannels} do not divide into {Groups} groups.");
        }

        if (OutHeight <= 0 || OutWidth <= 0)
        {
            throw new ArgumentException($"Convolution {this} has an empty output.");
        }

        Require("input", inputLength, (long)Batch * InChannels * InHeight * InWidth);
        Require("weight", weightLength, (long)OutChannels * (InChannels / Groups) * KernelHeight * KernelWidth);
        Require("output", outputLength, (long)Batch * OutChannels * OutHeight * OutWidth);
        if (biasLength != 0)
        {
            Require("bias", biasLength, OutChannels);
        }

        static void Require(string name, long length, long needed)
        {
            if (length != needed)
            {
                throw new ArgumentException($"Convolution {name} has {length} values, the geometry needs {needed}.");
            }
        }
    }
}

/// <summary>Shapes and hyper-parameters of one 2-D pooling window (NCHW).</summary>
public readonly record struct Pool2dGeometry(
    int Batch, int Channels, int InHeight, int InWidth,
    int KernelHeight, int KernelWidth, int StrideHeight, int StrideWidth,
    int PadTop, int PadLeft, int PadBottom, int PadRight,
    int DilationHeight, int DilationWidth, bool CeilMode)
{
    public int OutHeight => OutExtent(InHeight, KernelHeight, StrideHeight, PadTop, PadBottom, DilationHeight);

    public int OutWidth => OutExtent(InWidth, KernelWidth, StrideWidth, PadLeft, PadRight, DilationWidth);

    // As ONNX and PyTorch: with ceil_mode the last window may start in the padding on the end,
    // but never past it (it must start inside the input or the leading padding).
    private int OutExtent(int size, int kernel, int stride, int padBegin, int padEnd, int dilation)
    {
        var span = size + padBegin + padEnd - (dilation * (kernel - 1)) - 1;
        var outSize = (CeilMode ? (span + stride - 1) / stride : span / stride) + 1;
        if (CeilMode && (outSize - 1) * stride >= size + padBegin)
        {
            outSize--;
        }

        return outSize;
    }

    /// <summary>
    /// Taps of one window axis that count in an average's divisor: those inside the input, or with
    /// count_include_pad also those in the padding, never those past the padded bounds. Plain arithmetic,
    /// so device kernels call it too.
    /// </summary>
    public static int DivisorTaps(int start, int kernel, int dilation, int size, int padBegin, int padEnd, bool countIncludePad)
    {
        int lo = countIncludePad ? -padBegin : 0, hi = countIncludePad ? size + padEnd : size;
        var count = 0;
        for (var k = 0; k < kernel; k++)
        {
            var i = start + (k * dilation);
            if (i >= lo && i < hi)
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Throws unless the hyper-parameters describe a valid pooling and the buffer lengths are the ones it needs.</summary>
    public void Validate(long inputLength, long outputLength)
    {
        if (Batch < 0 || Channels < 0 || InHeight <= 0 || InWidth <= 0 || KernelHeight <= 0 || KernelWidth <= 0
            || StrideHeight <= 0 || StrideWidth <= 0 || DilationHeight <= 0 || DilationWidth <= 0
            || PadTop < 0 || PadLeft < 0 || PadBottom < 0 || PadRight < 0)
        {
            throw new ArgumentException($"Invalid pooling geometry {this}.");
        }

        if (OutHeight <= 0 || OutWidth <= 0)
        {
            throw new ArgumentException($"Pooling {this} has an empty output.");
        }

        var planes = (long)Batch * Channels;
        if (inputLength != planes * InHeight * InWidth || outputLength != planes * OutHeight * OutWidth)
        {
            throw new ArgumentException($"Pooling {this} needs {planes * InHeight * InWidth} inputs and {planes * OutHeight * OutWidth} outputs, got {inputLength} and {outputLength}.");
        }
    }
}

// Data-movement and normalisation operators: the parameters of their backend operations.

/// <summary>How <see cref="IKernelBackend.ReduceRows"/> reduces a row.</summary>
public enum RowReduction
{
    /// <summary>The sum.</summary>
    Sum,

    /// <summary>The sum divided by the row's length.</summary>
    Mean,

    /// <summary>The maximum.</summary>
    Max,

    /// <summary>The minimum.</summary>
    Min,
}

/// <summary>Where the scale and bias of <see cref="IKernelBackend.NormalizeRows"/> come from.</summary>
public enum RowAffine
{
    /// <summary>One per column, the same for every row (layer norm over the trailing axes).</summary>
    PerColumn,

    /// <summary>One per row, repeating every scale.Length rows (instance norm: rows are (image, channel) planes).</summary>
    PerRow,
}

/// <summary>The functions of <see cref="IKernelBackend.Unary"/>.</summary>
public enum UnaryFunction
{
    /// <summary>The error function (a Chebyshev fit, fractional error below 1.2e-7).</summary>
    Erf,

    /// <summary>√x.</summary>
    Sqrt,

    /// <summary>1/x.</summary>
    Reciprocal,

    /// <summary>−x.</summary>
    Neg,

    /// <summary>eˣ.</summary>
    Exp,

    /// <summary>ln x.</summary>
    Log,

    /// <summary>tanh x.</summary>
    Tanh,

    /// <summary>|x| (gradient sign(x), 0 at 0).</summary>
    Abs,

    /// <summary>GELU, 0.5·x·(1 + erf(x/√2)).</summary>
    Gelu,
}

/// <summary>The comparisons of <see cref="IKernelBackend.Compare"/>.</summary>
public enum Comparison
{
    /// <summary>a = b.</summary>
    Equal,

    /// <summary>a &lt; b.</summary>
    Less,

    /// <summary>a &gt; b.</summary>
    Greater,
}

/// <summary>
/// One axis of a resampling (<see cref="IKernelBackend.ResampleAxis"/>): data [<see cref="Outer"/>, <see cref="InSize"/>,
/// <see cref="Inner"/>] becomes [Outer, <see cref="OutSize"/>, Inner], output index j reading input indices
/// <see cref="Indices"/>[j·<see cref="Taps"/> + t] with weights <see cref="Weights"/>[j·Taps + t], taps summed in order.
/// A plan keeps one instance per resized axis, so a device backend uploads its tables once.
/// </summary>
public sealed class AxisResampling
{
    /// <summary>Checks and keeps the tables.</summary>
    public AxisResampling(int outer, int inSize, int outSize, int inner, int taps, int[] indices, float[] weights)
    {
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(weights);
        if (outer < 0 || inSize <= 0 || outSize <= 0 || inner < 0 || taps <= 0 || indices.Length != outSize * taps || weights.Length != indices.Length
            || indices.Any(i => i < 0 || i >= inSize))
        {
            throw new ArgumentException($"A resampling of {inSize} to {outSize} with {taps} taps needs {outSize * taps} indices in 0..{inSize - 1} and as many weights.");
        }

        (Outer, InSize, OutSize, Inner, Taps, Indices) = (outer, inSize, outSize, inner, taps, indices);
        Weights = BufferView.Host(weights);
    }

    public int Outer { get; }

    public int InSize { get; }

    public int OutSize { get; }

    public int Inner { get; }

    public int Taps { get; }

    /// <summary>The input index of each output index's taps.</summary>
    public int[] Indices { get; }

    /// <summary>The weight of each tap, as a host view the backend reads (one buffer for the plan's life).</summary>
    public BufferView Weights { get; }

    /// <summary>Throws unless the views hold the input and output this resampling reads and writes.</summary>
    public void Validate(long inputLength, long outputLength)
    {
        if (inputLength != (long)Outer * InSize * Inner || outputLength != (long)Outer * OutSize * Inner)
        {
            throw new ArgumentException($"A resampling of [{Outer},{InSize},{Inner}] to [{Outer},{OutSize},{Inner}] got {inputLength} inputs and {outputLength} outputs.");
        }
    }
}

/// <summary>
/// Argument checks of the data-movement operations, the one rule every backend applies (as
/// <see cref="Conv2dGeometry.Validate"/> is for convolutions).
/// </summary>
public static class DataMovementChecks
{
    /// <summary>Throws unless both sides of a <see cref="IKernelBackend.StridedCopy"/> stay inside their views; returns the number of indices.</summary>
    public static long StridedCopy(ReadOnlySpan<int> shape, long sourceLength, int sourceOffset, ReadOnlySpan<int> sourceStrides,
        long destinationLength, int destinationOffset, ReadOnlySpan<int> destinationStrides)
    {
        if (sourceStrides.Length != shape.Length || destinationStrides.Length != shape.Length)
        {
            throw new ArgumentException($"A strided copy of rank {shape.Length} got {sourceStrides.Length} source and {destinationStrides.Length} destination strides.");
        }

        long count = 1;
        foreach (var extent in shape)
        {
            if (extent < 0)
            {
                throw new ArgumentException($"A strided copy has a negative extent {extent}.");
            }

            count *= extent;
        }

        if (count != 0)
        {
            Inside("source", shape, sourceLength, sourceOffset, sourceStrides);
            Inside("destination", shape, destinationLength, destinationOffset, destinationStrides);
        }

        return count;
    }

    /// <summary>Throws unless a contraction's operands and output fit their strides over <paramref name="shape"/>; returns the output's length.</summary>
    public static long Contraction(ReadOnlySpan<int> shape, int keptAxes, long aLength, ReadOnlySpan<int> aStrides, long bLength, ReadOnlySpan<int> bStrides, long outputLength)
    {
        if (keptAxes < 0 || keptAxes > shape.Length)
        {
            throw new ArgumentException($"A contraction over {shape.Length} axes cannot keep {keptAxes}.");
        }

        var kept = shape[..keptAxes];
        var dense = new int[keptAxes];
        var length = StridedCopy(kept, outputLength, 0, dense, outputLength, 0, dense);
        if (length != outputLength)
        {
            throw new ArgumentException($"A contraction keeping {length} values got room for {outputLength}.");
        }

        var zeros = new int[shape.Length];
        StridedCopy(shape, aLength, 0, aStrides, aLength, 0, zeros);
        if (bLength != 0)
        {
            StridedCopy(shape, bLength, 0, bStrides, bLength, 0, zeros);
        }

        return length;
    }

    /// <summary>Throws unless an index map fits its input and output (<see cref="IKernelBackend.IndexedGather"/>).</summary>
    public static void Indexed(int[] indices, long inputLength, long outputLength)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Length != outputLength)
        {
            throw new ArgumentException($"An index map of {indices.Length} entries got {outputLength} outputs.");
        }

        foreach (var index in indices)
        {
            if (index >= inputLength)
            {
                throw new ArgumentException($"Index {index} is outside an input of {inputLength} values.");
            }
        }
    }

    /// <summary>Throws unless <paramref name="rows"/>×<paramref name="cols"/> values fit the input and output of a row operation.</summary>
    public static void Rows(string operation, int rows, int cols, long inputLength, long outputLength, long expectedOutput)
    {
        if (rows < 0 || cols <= 0 || inputLength != (long)rows * cols || outputLength != expectedOutput)
        {
            throw new ArgumentException($"{operation} of {rows}×{cols} got {inputLength} inputs and room for {outputLength}.");
        }
    }

    /// <summary>Throws unless a scale of <paramref name="scale"/> and a bias of <paramref name="bias"/> values (0: none) fit <paramref name="affine"/>'s rule over <paramref name="rows"/>×<paramref name="cols"/>.</summary>
    public static void Affine(RowAffine affine, int rows, int cols, int scale, int bias)
    {
        var fits = affine switch
        {
            RowAffine.PerColumn => (scale == 0 || scale == cols) && (bias == 0 || bias == cols),
            RowAffine.PerRow => (scale == 0 || rows % scale == 0) && (bias == 0 || (scale != 0 ? bias == scale : rows % bias == 0)),
            _ => throw new ArgumentOutOfRangeException(nameof(affine), affine, "Unknown affine rule."),
        };
        if (!fits)
        {
            throw new ArgumentException($"A {affine} scale of {scale} and bias of {bias} do not fit {rows}×{cols} rows.");
        }
    }

    private static void Inside(string side, ReadOnlySpan<int> shape, long length, int offset, ReadOnlySpan<int> strides)
    {
        long low = offset, high = offset;
        for (var d = 0; d < shape.Length; d++)
        {
            var reach = (long)strides[d] * (shape[d] - 1);
            if (reach < 0)
            {
                low += reach;
            }
            else
            {
                high += reach;
            }
        }

        if (low < 0 || high >= length)
        {
            throw new ArgumentException($"A strided copy reaches {side} elements {low}..{high}, outside a view of {length}.");
        }
    }
}
