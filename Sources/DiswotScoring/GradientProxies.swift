#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DiswotModels
import DiswotTensor

// Gradient-based zero-cost proxies as Abdelfattah et al. (ICLR 2021, "Zero-Cost Proxies
// for Lightweight NAS") define them in their reference code, SamsungLabs/zero-cost-nas:
// foresight/pruners/measures/{grad_norm,snip,synflow,fisher,jacob_cov}.py, with the
// per-layer arrays of p_utils.py's `get_layer_metric_array` (every nn.Conv2d and
// nn.Linear module, weights only) summed by predictive.py's `sum_arr` (jacob_cov is
// already a scalar). Every measure runs on a copy of the network in training mode
// (`get_prunable_copy` → `train()`), with `F.cross_entropy` (batch mean) as the loss and
// the whole probe batch at once (`split_data` = 1):
//
// - grad_norm = Σ_layers ‖∂L/∂W‖₂ (`l.weight.grad.norm()`), batch norm on batch statistics.
// - snip = Σ_layers Σ |∂L/∂W ⊙ W| (the gradient of a weight mask of ones, `weight_mask`).
// - fisher = Σ_layers fanIn · Σ_k ½·mean_n (Σ_spatial a ⊙ ∂L/∂a)²_{n,k}, a the Conv2d's
//   or Linear's output (before batch norm) on channel k: `hook_factory`'s
//   `del_k = g_nk.pow(2).mean(0).mul(0.5)`, broadcast by `reshape_elements` over the
//   layer's `weight.shape[1:]` elements per channel before `sum_arr` sums them, hence the
//   fan-in factor (in/groups · kH · kW, or in_features).
// - jacob_cov = −Σ_i log(λ_i + k) + 1/(λ_i + k), k = 1e-5, λ the eigenvalues of
//   `np.corrcoef` of J, J[n] = ∂(Σ logits)/∂x_n flattened (`y.backward(ones_like(y))`,
//   batch norm on batch statistics, so J is the gradient of the batch's summed logits).
// - synflow = Σ_layers Σ |∂R/∂W ⊙ W| on a copy with batch norm removed (`bn=False`:
//   `copynet` makes every BatchNorm's forward the identity), every state tensor replaced
//   by its absolute value, one all-ones image (batch 1) in double precision, and R the sum
//   of the logits. See `synflowScore` for how this runs in Float.
// - log_synflow = the same pass with each gradient remapped by log(1 + g) before the
//   product, Σ |W ⊙ log(1 + ∂R/∂W)| (Cavagnero et al., "FreeREA", 2022: their
//   metrics/synflow.py with `remap='log'`).
//
// The engine has no copies of networks: the proxies run on the model itself, and leave its
// weights and batch-norm statistics exactly as they were (training-mode batch norm that
// does not update running statistics; synflow restores every state tensor it changed).
// Gradient buffers are zeroed before and left zeroed after (allocated if they did not
// exist), and layers keep the records of the last recording forward pass (synflow's
// batch-1 pass when it was requested) until their next forward pass.

/// The recording forward pass the probe batch's backward passes (grad_norm, snip, fisher,
/// jacob_cov) start from: batch norm on batch statistics without updating the running
/// ones, recorded, with Fisher's observer when it is wanted; nil when none of `proxies`
/// needs one. Its backward passes accumulate parameter gradients only when grad_norm or
/// snip reads them: fisher reads the observed activations' gradients and jacob_cov the
/// input's, so without those two the weight gradients, as costly as the input's, are
/// skipped. A caller that runs this pass anyway (`CandidateScorer`, for its own proxies)
/// hands its logits to `gradientProxyScores` and saves a forward pass.
func gradientForwardMode(_ proxies: [Proxy]) -> (mode: ForwardMode, fisher: FisherObserver?)? {
  let wanted = Set(proxies)
  guard !wanted.isDisjoint(with: [.gradNorm, .snip, .fisher, .jacobCov]) else { return nil }
  let fisher = wanted.contains(.fisher) ? FisherObserver() : nil
  let mode = ForwardMode(
    batchNorm: .training(updateRunningStatistics: false), recordsForBackward: true, backwardObserver: fisher,
    parameterGradients: !wanted.isDisjoint(with: [.gradNorm, .snip]))
  return (mode, fisher)
}

/// The gradient-based proxies among `proxies` of one network on one probe batch.
/// images: [B, C, H, W], labels: B values in 0..<model.classCount
public func gradientProxyScores(
  _ proxies: [Proxy], model: any Classifier, images: Tensor, labels: [Int]
) throws -> [Proxy: Double] {
  try gradientProxyScores(proxies, model: model, images: images, labels: labels, recorded: nil)
}

/// `gradientProxyScores`, from the logits of the pass `gradientForwardMode(proxies)`
/// describes when the caller made it on `images` as the model's last forward pass
/// (`recorded`, with its Fisher observer); nil runs that pass here.
func gradientProxyScores(
  _ proxies: [Proxy], model: any Classifier, images: Tensor, labels: [Int],
  recorded: (logits: Tensor, fisher: FisherObserver?)?
) throws -> [Proxy: Double] {
  let wanted = Set(proxies.filter(\.isGradientBased))
  guard !wanted.isEmpty else { return [:] }
  guard images.rank == 4, images.shape[0] > 0, images.shape[1] == model.inputChannels else {
    throw ScoringError.shapeMismatch("images \(images.shape) for a network over \(model.inputChannels) channels")
  }
  guard labels.count == images.shape[0] else {
    throw ScoringError.shapeMismatch("\(labels.count) labels for a batch of \(images.shape[0])")
  }
  if let bad = labels.first(where: { !(0..<model.classCount).contains($0) }) {
    throw ScoringError.invalidArgument("label \(bad) outside 0..<\(model.classCount)")
  }
  var scores: [Proxy: Double] = [:]
  model.zeroGradients()
  defer { model.zeroGradients() }
  let lossProxies = wanted.intersection([.gradNorm, .snip, .fisher])
  if let forward = gradientForwardMode(proxies) {
    // One recording forward pass serves both backward passes (a backward pass leaves the
    // record as it is); the reference's separate copies would each compute the same one.
    let (logits, fisher) = try recorded ?? (model.classify(images, mode: forward.mode).logits, forward.fisher)
    if !lossProxies.isEmpty {
      let dLogits = try meanCrossEntropyGradient(logits: logits, labels: labels)
      _ = try model.backward(dLogits: dLogits, dFeatures: nil, computeInputGradient: false)
      fisher?.isCollecting = false
      var gradNorm = 0.0, snip = 0.0
      for (weight, gradient) in weightsAndGradients(model) {
        guard let gradient else { continue }  // never reached by a backward pass: zero
        var squares = 0.0, saliency = 0.0
        weight.withUnsafeBufferPointer { w in
          gradient.withUnsafeBufferPointer { g in
            for i in 0..<w.count {
              let gi = Double(g[i])
              squares += gi * gi
              saliency += abs(gi * Double(w[i]))
            }
          }
        }
        gradNorm += squares.squareRoot()
        snip += saliency
      }
      if wanted.contains(.gradNorm) { scores[.gradNorm] = gradNorm }
      if wanted.contains(.snip) { scores[.snip] = snip }
      if let fisher { scores[.fisher] = try fisher.score() }
    }
    if wanted.contains(.jacobCov) {
      model.zeroGradients()
      let ones = Tensor(zeros: logits.shape, value: 1)
      guard let jacobian = try model.backward(dLogits: ones, dFeatures: nil, computeInputGradient: true) else {
        throw ScoringError.invalidArgument("the network returned no input gradient")
      }
      scores[.jacobCov] = try jacobianCovarianceScore(jacobian)
    }
  }
  if wanted.contains(.synflow) || wanted.contains(.logSynflow) {
    let saliency = try synflowSaliency(model, imageShape: Array(images.shape.dropFirst()))
    if wanted.contains(.synflow) { scores[.synflow] = saliency.synflow }
    if wanted.contains(.logSynflow) { scores[.logSynflow] = saliency.logSynflow }
  }
  return scores
}

/// ∂/∂z of the batch's mean cross-entropy, `F.cross_entropy(z, y)`: (softmax(z) −
/// onehot(y)) / B, in Double with each row's maximum subtracted.
/// logits: [B, K], labels: B values in 0..<K -> [B, K]
func meanCrossEntropyGradient(logits: Tensor, labels: [Int]) throws(ScoringError) -> Tensor {
  guard logits.rank == 2, logits.shape[0] == labels.count, logits.shape[0] > 0, logits.shape[1] > 0 else {
    throw .shapeMismatch("logits \(logits.shape) for \(labels.count) labels")
  }
  let (b, k) = (logits.shape[0], logits.shape[1])
  if let bad = labels.first(where: { !(0..<k).contains($0) }) {
    throw .invalidArgument("label \(bad) outside 0..<\(k)")
  }
  var gradient = Tensor(zeros: [b, k])
  var row = [Double](repeating: 0, count: k)
  for i in 0..<b {
    var top = -Double.infinity
    for j in 0..<k { top = max(top, Double(logits.storage[i * k + j])) }
    var sum = 0.0
    for j in 0..<k {
      row[j] = exp(Double(logits.storage[i * k + j]) - top)
      sum += row[j]
    }
    for j in 0..<k {
      let target = j == labels[i] ? 1.0 : 0.0
      gradient.storage[i * k + j] = Float((row[j] / sum - target) / Double(b))
    }
  }
  return gradient
}

/// Every layer of a network once, depth first in `sublayers` order.
func allLayers(_ root: Layer) -> [Layer] {
  var seen = Set<ObjectIdentifier>()
  var layers: [Layer] = []
  func visit(_ layer: Layer) {
    guard seen.insert(ObjectIdentifier(layer)).inserted else { return }
    layers.append(layer)
    for child in layer.sublayers { visit(child) }
  }
  visit(root)
  return layers
}

/// The weight and weight gradient (nil before any backward pass reached it) of every
/// Conv2d and Linear: the layers `get_layer_metric_array` scores, biases excluded.
func weightsAndGradients(_ model: Layer) -> [(weight: Tensor, gradient: Tensor?)] {
  allLayers(model).compactMap { layer in
    if let conv = layer as? Conv2d { return (conv.weight, conv.weightGradient) }
    if let linear = layer as? Linear { return (linear.weight, linear.weightGradient) }
    return nil
  }
}

/// The Fisher proxy from each Conv2d's and Linear's output a and gradient ∂L/∂a, as the
/// reference's backward hook computes it (see the notes at the top of this file):
/// fanIn · Σ_k ½·mean_n (Σ_spatial a·∂L/∂a)², accumulated in Double over layers.
final class FisherObserver: BackwardObserver {
  /// Cleared after the loss's backward pass, so that a later backward pass of the same
  /// record (jacob_cov's) is not counted.
  var isCollecting = true
  private(set) var total = 0.0
  private var failure: ScoringError?

  func observeOutputGradient(layer: Layer, output: Tensor, dOutput: Tensor) {
    guard isCollecting, failure == nil else { return }
    guard output.shape == dOutput.shape, output.rank == 2 || output.rank == 4, output.shape[0] > 0 else {
      failure = .shapeMismatch("layer output \(output.shape) with gradient \(dOutput.shape) in a Fisher pass")
      return
    }
    let fanIn: Int
    if let conv = layer as? Conv2d {
      fanIn = conv.weight.count / conv.geometry.outChannels
    } else if let linear = layer as? Linear {
      fanIn = linear.inFeatures
    } else {
      failure = .invalidArgument("a Fisher pass saw a layer that is neither Conv2d nor Linear")
      return
    }
    let (n, c) = (output.shape[0], output.shape[1])
    let spatial = output.count / (n * c)
    var layerTotal = 0.0
    output.withUnsafeBufferPointer { a in
      dOutput.withUnsafeBufferPointer { d in
        for k in 0..<c {
          var squares = 0.0
          for i in 0..<n {
            let base = (i * c + k) * spatial
            var g = 0.0
            for p in 0..<spatial { g += Double(a[base + p]) * Double(d[base + p]) }
            squares += g * g
          }
          layerTotal += 0.5 * squares / Double(n)
        }
      }
    }
    total += Double(fanIn) * layerTotal
  }

  func score() throws(ScoringError) -> Double {
    if let failure { throw failure }
    return total
  }
}

/// Mellor et al.'s first jacob_cov (v1 of "Neural Architecture Search without Training",
/// the reference's `eval_score`): C = `np.corrcoef` of the rows of J (Pearson correlation
/// of each pair of samples' input gradients, clipped to [−1, 1] as numpy does), and
/// −Σ_i log(λ_i + k) + 1/(λ_i + k) over C's eigenvalues, k = 1e-5.
///
/// Both sums are spectral functions of A = C + kI, so they are computed without an
/// eigendecomposition: Σ log(λ_i + k) = log det A and Σ 1/(λ_i + k) = trace A⁻¹, from the
/// Cholesky factor A = LLᵀ (log det A = 2 Σ log L_ii, trace A⁻¹ = ‖L⁻¹‖²_F), all in
/// Double. A row with zero variance (numpy: NaN correlations, and the reference's
/// exception handler returns NaN) or an A that is not positive definite (some λ ≤ −k,
/// where numpy's log gives NaN) gives NaN.
/// jacobian: [B, …] (one row per sample) -> score
public func jacobianCovarianceScore(_ jacobian: Tensor, k: Double = 1e-5) throws(ScoringError) -> Double {
  guard jacobian.rank >= 2, jacobian.shape[0] > 0, jacobian.count > 0 else {
    throw .invalidArgument("jacob_cov needs a non-empty [B, …] Jacobian, got \(jacobian.shape)")
  }
  let b = jacobian.shape[0], d = jacobian.count / b
  var centred = [Double](repeating: 0, count: b * d)
  jacobian.withUnsafeBufferPointer { j in
    for i in 0..<b {
      var mean = 0.0
      for m in 0..<d { mean += Double(j[i * d + m]) }
      mean /= Double(d)
      for m in 0..<d { centred[i * d + m] = Double(j[i * d + m]) - mean }
    }
  }
  // Upper triangle of the (unnormalised) covariance XXᵀ: [B, B]
  var covariance = [Double](repeating: 0, count: b * b)
  centred.withUnsafeBufferPointer { x in
    covariance.withUnsafeMutableBufferPointer { c in
      BLAS.dsyrkUpper(n: b, k: d, a: x.baseAddress, lda: d, c: c.baseAddress, ldc: b)
    }
  }
  var a = [Double](repeating: 0, count: b * b)
  for i in 0..<b {
    for j in i..<b {
      let r = covariance[i * b + j] / (covariance[i * b + i] * covariance[j * b + j]).squareRoot()
      guard r.isFinite else { return .nan }
      let clipped = min(1, max(-1, r))
      a[i * b + j] = clipped
      a[j * b + i] = clipped
    }
    a[i * b + i] += k
  }
  // Cholesky, lower triangle in place.
  var logDet = 0.0
  for j in 0..<b {
    var pivot = a[j * b + j]
    for m in 0..<j { pivot -= a[j * b + m] * a[j * b + m] }
    guard pivot > 0 else { return .nan }
    let l = pivot.squareRoot()
    a[j * b + j] = l
    logDet += 2 * log(l)
    for i in (j + 1)..<b {
      var s = a[i * b + j]
      for m in 0..<j { s -= a[i * b + m] * a[j * b + m] }
      a[i * b + j] = s / l
    }
  }
  // trace A⁻¹ = Σ_ij (L⁻¹)²_ij, L⁻¹ by forward substitution one column at a time.
  var traceInverse = 0.0
  var column = [Double](repeating: 0, count: b)
  for j in 0..<b {
    for i in j..<b {
      var s = i == j ? 1.0 : 0.0
      for m in j..<i { s -= a[i * b + m] * column[m] }
      column[i] = s / a[i * b + i]
      traceInverse += column[i] * column[i]
    }
  }
  return -(logDet + traceInverse)
}

/// How synflow keeps its Float pass inside Float's exponent range.
public enum SynflowScaling: Sendable, Equatable {
  /// The reference's pass (input of ones, gradient of ones) while it fits, otherwise
  /// power-of-two scaling chosen from the network's magnitude (see `synflowScore`).
  case automatic
  /// Input 2^inputExponent everywhere and ∂R/∂logits = 2^gradientExponent; the result is
  /// divided by 2^(inputExponent + gradientExponent). Exact rescaling for networks that
  /// are positively homogeneous (ReLU, no convolution biases) or for inputExponent = 0.
  case fixed(inputExponent: Int, gradientExponent: Int)
}

/// SynFlow (Tanaka et al., NeurIPS 2020) as zero-cost-nas's synflow.py computes it:
/// every state tensor replaced by its absolute value, batch norm removed, one all-ones
/// image [1, C, H, W], R = Σ logits, score = Σ over Conv2d and Linear weights of
/// |W ⊙ ∂R/∂W|. The model is restored bit for bit afterwards (and its gradients zeroed).
///
/// Batch norm: the reference bypasses it (its forward becomes the identity); here every
/// BatchNorm2d runs in inference mode with weight 1, bias 0, running mean 0 and running
/// variance v chosen so that sqrt(v + eps) is exactly 1 in Float, which makes it exactly
/// the identity forwards and backwards.
///
/// Precision: the reference runs in double (`net.double()`) because the signal grows by
/// every layer's gain (products of positive weights): the score, about R times the
/// number of layers, is about 2^84 for a CIFAR ResNet-20 (Kaiming initialisation), 2^135
/// for a ResNet-32 and 2^237 for a ResNet-56, beyond Float's range (2^128) from
/// ResNet-32 on. This runs in Float and keeps the passes in range by exact
/// power-of-two scaling (`.automatic`), M being the forward pass's magnitude (largest
/// activation, logit or |Σ logits|):
/// - M < 2^64: the all-ones pass and a gradient of ones, the reference's computation in Float;
/// - a finite pass with M ≥ 2^64: ∂R/∂logits = 2^(64 − ⌈log₂ M⌉) instead of ones, and the
///   sum divided by it. Exact for every network, since a backward pass is linear in its
///   incoming gradient;
/// - a pass that overflows: the input is scaled down as well, to 2^−⌈log₂ M / 2⌉ with the
///   same gradient scale, M measured by a pass on 2^−120, and the sum divided by both. A
///   network of ReLUs, linear layers without bias, pooling and sums is positively
///   homogeneous, so every weight gradient scales by exactly the input's factor (the
///   classifier's bias, the only bias in diswot's networks, adds to R but not to any
///   weight's gradient). This is checked on the pooled features of the two passes, and the
///   score is NaN when they disagree (a network that is not homogeneous, e.g. with biased
///   convolutions, cannot be rescaled; MobileNetV2's ReLU6 bounds its activations, so it
///   never gets here). Float's exponent range then still limits M to about 2^250
///   (ResNet-56 fits; the widest and deepest networks of the resnet-cifar space do not):
///   beyond it the score is +infinity.
/// imageShape: [C, H, W]
public func synflowScore(
  _ model: any Classifier, imageShape: [Int], scaling: SynflowScaling = .automatic
) throws -> Double {
  try synflowSaliency(model, imageShape: imageShape, scaling: scaling).synflow
}

/// Synflow and log-synflow of one synflow pass.
public struct SynflowSaliency: Sendable, Equatable {
  /// Σ |W ⊙ g|, g = ∂R/∂W (Tanaka et al.).
  public var synflow: Double
  /// Σ |W ⊙ log(1 + g)| (FreeREA's LogSynflow): the log keeps the few layers whose
  /// gradients explode with depth from drowning every other layer's contribution, so the
  /// sum counts how much of the network carries signal rather than how large it grows.
  public var logSynflow: Double
}

/// Both synflow sums from one pass; see `synflowScore` for the pass and its scaling. The
/// log remap is applied to the unscaled gradient, in Double (g · 2^−(p+q) can exceed Float).
public func synflowSaliency(
  _ model: any Classifier, imageShape: [Int], scaling: SynflowScaling = .automatic
) throws -> SynflowSaliency {
  guard imageShape.count == 3, imageShape.allSatisfy({ $0 > 0 }), imageShape[0] == model.inputChannels else {
    throw ScoringError.shapeMismatch("synflow image shape \(imageShape) for a network over \(model.inputChannels) channels")
  }
  var saved: [Tensor] = []
  model.visitState(prefix: "") { _, _, t in saved.append(t) }
  model.zeroGradients()
  defer {
    var index = 0
    model.visitState(prefix: "") { _, _, t in
      t = saved[index]
      index += 1
    }
    model.zeroGradients()
  }
  // linearize(): the absolute value of every state tensor (batch norm's are then replaced).
  model.visitState(prefix: "") { _, _, t in
    for i in 0..<t.count { t.storage[i] = abs(t.storage[i]) }
  }
  for layer in allLayers(model) {
    guard let bn = layer as? BatchNorm2d else { continue }
    var state = BatchNormState(channels: bn.state.channels)
    let v = unitVariance(eps: bn.eps)
    for c in 0..<state.channels { state.runningVar.storage[c] = v }
    bn.state = state
  }

  let shape = [1] + imageShape
  func pass(inputExponent: Int, record: Bool) throws -> (pooled: Tensor, logits: Tensor, magnitude: Double?) {
    let watch = LargestActivation()
    let x = Tensor(zeros: shape, value: Float(sign: .plus, exponent: inputExponent, significand: 1))
    let output = try model.classify(x, mode: ForwardMode(batchNorm: .inference, observer: watch, recordsForBackward: record))
    var largest = Double(watch.largest), sum = 0.0
    var finite = watch.finite
    for z in output.logits.storage {
      if !z.isFinite { finite = false }
      largest = max(largest, Double(abs(z)))
      sum += Double(z)
    }
    return (output.pooled, output.logits, finite ? max(largest, abs(sum)) : nil)
  }
  func saliency(logitsShape: [Int], inputExponent: Int, gradientExponent: Int) throws -> SynflowSaliency {
    model.zeroGradients()
    let dLogits = Tensor(zeros: logitsShape, value: Float(sign: .plus, exponent: gradientExponent, significand: 1))
    _ = try model.backward(dLogits: dLogits, dFeatures: nil, computeInputGradient: false)
    let unscale = Double(sign: .plus, exponent: -(inputExponent + gradientExponent), significand: 1)
    var total = 0.0, logTotal = 0.0
    for (weight, gradient) in weightsAndGradients(model) {
      guard let gradient else { continue }
      weight.withUnsafeBufferPointer { w in
        gradient.withUnsafeBufferPointer { g in
          for i in 0..<w.count {
            let wi = Double(w[i]), gi = Double(g[i])
            total += abs(wi * gi)
            logTotal += abs(wi * log1p(gi * unscale))
          }
        }
      }
    }
    return SynflowSaliency(synflow: total * unscale, logSynflow: logTotal)
  }

  switch scaling {
  case .fixed(let p, let q):
    let run = try pass(inputExponent: p, record: true)
    return try saliency(logitsShape: run.logits.shape, inputExponent: p, gradientExponent: q)
  case .automatic:
    let run = try pass(inputExponent: 0, record: true)
    if let magnitude = run.magnitude {
      let bits = magnitude > 0 ? log2(magnitude) : 0
      let q = bits >= 64 ? 64 - Int(bits.rounded(.up)) : 0
      return try saliency(logitsShape: run.logits.shape, inputExponent: 0, gradientExponent: q)
    }
    let probeExponent = -120
    let probe = try pass(inputExponent: probeExponent, record: false)
    let unbounded = SynflowSaliency(synflow: .infinity, logSynflow: .infinity)
    guard let probeMagnitude = probe.magnitude, probeMagnitude > 0 else { return unbounded }
    let bits = log2(probeMagnitude) - Double(probeExponent)
    guard bits < 250 else { return unbounded }
    let half = Int((bits / 2).rounded(.up))
    let scaled = try pass(inputExponent: -half, record: true)
    guard scaled.magnitude != nil,
          homogeneous(scaled.pooled, exponent: -half, probe.pooled, exponent: probeExponent)
    else { return SynflowSaliency(synflow: .nan, logSynflow: .nan) }
    return try saliency(logitsShape: scaled.logits.shape, inputExponent: -half, gradientExponent: -half)
  }
}

/// Whether a·2^−p and b·2^−q agree to 1e-4 relatively (the pooled features of one
/// positively homogeneous network on inputs 2^p and 2^q).
private func homogeneous(_ a: Tensor, exponent p: Int, _ b: Tensor, exponent q: Int) -> Bool {
  guard a.shape == b.shape else { return false }
  for i in 0..<a.count {
    let x = Double(a.storage[i]) * Double(sign: .plus, exponent: -p, significand: 1)
    let y = Double(b.storage[i]) * Double(sign: .plus, exponent: -q, significand: 1)
    guard abs(x - y) <= 1e-4 * max(abs(x), abs(y)) else { return false }
  }
  return true
}

/// A running variance v with sqrt(v + eps) == 1 exactly in Float, so that batch norm in
/// inference mode with weight 1, bias 0 and mean 0 multiplies by exactly 1.
func unitVariance(eps: Float) -> Float {
  var v = 1 - eps
  for _ in 0..<64 {
    let s = (v + eps).squareRoot()
    if s == 1 { return v }
    v = s > 1 ? v.nextDown : v.nextUp
  }
  preconditionFailure("no running variance gives a unit batch-norm scale for eps \(eps)")
}

/// The largest |activation| of a forward pass and whether all were finite.
private final class LargestActivation: ForwardObserver {
  private(set) var largest: Float = 0
  private(set) var finite = true

  func observeActivation(_ output: Tensor) {
    output.withUnsafeBufferPointer { x in
      for v in x {
        if !v.isFinite { finite = false } else { largest = max(largest, abs(v)) }
      }
    }
  }

  func observeBatchNorm(variance: [Float]) {}
}
