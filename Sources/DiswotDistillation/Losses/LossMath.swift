#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DiswotScoring
import DiswotTensor

/// Double-precision building blocks shared by the losses.
///
/// Every loss is computed in Double from Float inputs: the values are sums of many
/// small squared differences (after row normalisation) whose Float rounding would be
/// visible in the loss and, more importantly, would make finite-difference checks of
/// the analytic gradients meaningless. Gradients are rounded to Float only at the end.
enum LossMath {
  /// The elements of `t` widened to Double.
  static func doubles(_ t: Tensor) -> [Double] {
    t.withUnsafeBufferPointer { p in p.map { Double($0) } }
  }

  /// A Float tensor of `shape` from Double values (rounded to nearest).
  static func tensor(_ shape: [Int], _ values: [Double]) -> Tensor {
    var t = Tensor(zeros: shape)
    t.withUnsafeMutableBufferPointer { p in
      for i in 0..<values.count { p[i] = Float(values[i]) }
    }
    return t
  }

  /// Row-wise softmax of a [rows, columns] matrix at temperature `temperature`, with the
  /// row's log-sum-exp also returned so log-probabilities are x/T − lse (stable: each
  /// row's maximum is subtracted before exponentiation).
  /// x: [rows, columns] -> probabilities [rows, columns], logSumExp [rows] (of x/T)
  static func softmaxRows(
    _ x: [Double], rows: Int, columns: Int, temperature: Double = 1
  ) -> (probabilities: [Double], logSumExp: [Double]) {
    var p = [Double](repeating: 0, count: rows * columns)
    var lse = [Double](repeating: 0, count: rows)
    for r in 0..<rows {
      let base = r * columns
      var top = -Double.infinity
      for j in 0..<columns { top = max(top, x[base + j] / temperature) }
      var sum = 0.0
      for j in 0..<columns {
        let e = exp(x[base + j] / temperature - top)
        p[base + j] = e
        sum += e
      }
      for j in 0..<columns { p[base + j] /= sum }
      lse[r] = top + log(sum)
    }
    return (p, lse)
  }

  /// scale · ‖rownorm(X Xᵀ) − Q_T‖²_F and its gradient with respect to X (written to dX),
  /// through the relation Gram's forward and backward (DiswotScoring's RelationGram.swift).
  ///
  /// The one kernel behind SP, ICKD (per sample), the DisWOT relation loss and the
  /// class-Gram form of the DisWOT semantic loss; they differ only in what the rows of X
  /// are (samples, channels, classes) and in `scale` (1/B², 1/(C·B), 1/K²).
  /// x: [rows, length], teacherQ: [rows, rows] -> value; dX: [rows, length]
  static func normalizedGramMatch(
    _ x: UnsafePointer<Double>, rows: Int, length: Int, teacherQ: UnsafePointer<Double>,
    scale: Double, into dX: UnsafeMutablePointer<Double>
  ) -> Double {
    let gram = relation_gram_forward(x, rows: rows, length: length)
    var dQ = [Double](repeating: 0, count: rows * rows)
    var sum = 0.0
    for i in 0..<(rows * rows) {
      let d = gram.q[i] - teacherQ[i]
      sum += d * d
      dQ[i] = 2 * scale * d
    }
    relation_gram_backward(gram, dQ: dQ, x: x, length: length, into: dX)
    return sum * scale
  }
}
