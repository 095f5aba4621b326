#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DiswotTensor

/// Attention transfer (Zagoruyko & Komodakis, ICLR 2017, "Paying More Attention to
/// Attention"): the student should look where the teacher looks.
///
/// The attention map of a feature map F [B, C, H, W] is a(F) = normalize(mean_c F^p),
/// one L2-normalised vector of H·W values per sample, and
///
///   loss = (1 / (B·H·W)) Σ_b Σ_x (a_S[b, x] − a_T[b, x])².
///
/// Reduction as RepDistiller's `Attention.at_loss` (HobbitLong/RepDistiller
/// `distiller_zoo/AT.py`, p = 2): `F.normalize(f.pow(p).mean(1).view(B, -1))`, then
/// `(at(f_s) − at(f_t)).pow(2).mean()` — the mean over all B·H·W entries. RepDistiller
/// sums it over the pairs `feat[1:-1]` (every block output; `helper/loops.py`); this
/// function is one pair, so a trainer adds the pairs it uses.
///
/// Channel counts may differ (the map averages over channels); H and W must agree. The
/// stored RepDistiller `AT.py` instead adaptive-average-pools the larger map down to the
/// smaller's (square) size when heights differ; this function does not pool and reports
/// the mismatch, so pool first if you need that behaviour.
///
/// Gradient: da_S = 2 (a_S − a_T)/(B·H·W); with m = mean_c F^p and a = m/‖m‖,
/// dm = (da − a (a·da))/‖m‖ (0 when m = 0); dF[c, x] = dm[x] · p F[c, x]^(p−1) / C.
/// studentFeatures: [B, C_S, H, W], teacherFeatures: [B, C_T, H, W]; p ≥ 1 (2 in RepDistiller)
public func attentionTransferLoss(
  studentFeatures: Tensor, teacherFeatures: Tensor, p: Int = 2
) throws(LossError) -> LossResult {
  guard studentFeatures.rank == 4, teacherFeatures.rank == 4,
    studentFeatures.shape[0] == teacherFeatures.shape[0],
    studentFeatures.count > 0, teacherFeatures.count > 0
  else {
    throw .shapeMismatch("attention transfer needs non-empty [B, C, H, W] student \(studentFeatures.shape) and teacher \(teacherFeatures.shape) features with the same B")
  }
  guard studentFeatures.shape[2] == teacherFeatures.shape[2], studentFeatures.shape[3] == teacherFeatures.shape[3] else {
    throw .shapeMismatch("attention transfer compares spatial maps position by position: student is \(studentFeatures.shape[2])×\(studentFeatures.shape[3]) and the teacher \(teacherFeatures.shape[2])×\(teacherFeatures.shape[3]); average-pool the larger to the smaller size first (as RepDistiller's AT.py does)")
  }
  guard p >= 1 else { throw .invalidArgument("attention power p = \(p) must be at least 1") }
  let (b, cS, cT) = (studentFeatures.shape[0], studentFeatures.shape[1], teacherFeatures.shape[1])
  let spatial = studentFeatures.shape[2] * studentFeatures.shape[3]
  let core = LossMath.attentionTransfer(
    student: LossMath.doubles(studentFeatures), teacher: LossMath.doubles(teacherFeatures),
    batch: b, studentChannels: cS, teacherChannels: cT, spatial: spatial, p: p)
  return LossResult(value: core.value, gradient: LossMath.tensor(studentFeatures.shape, core.gradient))
}

extension LossMath {
  /// a(F) = rownorm(mean_c F^p) per sample, with the unnormalised maps' norms.
  /// f: [B, C, S] -> maps [B, S] (normalised), norms [B]
  static func attentionMaps(
    _ f: [Double], batch b: Int, channels c: Int, spatial s: Int, p: Int
  ) -> (maps: [Double], norms: [Double]) {
    var maps = [Double](repeating: 0, count: b * s)
    var norms = [Double](repeating: 0, count: b)
    for n in 0..<b {
      for ch in 0..<c {
        let base = (n * c + ch) * s
        for x in 0..<s { maps[n * s + x] += power(f[base + x], p) }
      }
      var sq = 0.0
      for x in 0..<s {
        maps[n * s + x] /= Double(c)
        sq += maps[n * s + x] * maps[n * s + x]
      }
      guard sq > 0 else { continue }
      norms[n] = sq.squareRoot()
      for x in 0..<s { maps[n * s + x] /= norms[n] }
    }
    return (maps, norms)
  }

  /// Attention transfer in Double; see `attentionTransferLoss`.
  /// student: [B, C_S, S], teacher: [B, C_T, S] -> value, gradient [B, C_S, S]
  static func attentionTransfer(
    student: [Double], teacher: [Double], batch b: Int, studentChannels cS: Int,
    teacherChannels cT: Int, spatial s: Int, p: Int
  ) -> (value: Double, gradient: [Double]) {
    let (aS, normS) = attentionMaps(student, batch: b, channels: cS, spatial: s, p: p)
    let (aT, _) = attentionMaps(teacher, batch: b, channels: cT, spatial: s, p: p)
    let count = Double(b * s)
    var sum = 0.0
    var gradient = [Double](repeating: 0, count: student.count)
    var dm = [Double](repeating: 0, count: s)
    for n in 0..<b {
      var dot = 0.0
      for x in 0..<s {
        let d = aS[n * s + x] - aT[n * s + x]
        sum += d * d
        dm[x] = 2 * d / count
        dot += aS[n * s + x] * dm[x]
      }
      guard normS[n] > 0 else { continue }
      for x in 0..<s { dm[x] = (dm[x] - aS[n * s + x] * dot) / normS[n] }
      for ch in 0..<cS {
        let base = (n * cS + ch) * s
        for x in 0..<s {
          gradient[base + x] = dm[x] * Double(p) * power(student[base + x], p - 1) / Double(cS)
        }
      }
    }
    return (sum / count, gradient)
  }

  /// x^p for a small non-negative integer p (x^0 = 1), exact for p ≤ 2.
  static func power(_ x: Double, _ p: Int) -> Double {
    switch p {
    case 0: return 1
    case 1: return x
    case 2: return x * x
    default:
      var result = 1.0
      for _ in 0..<p { result *= x }
      return result
    }
  }
}
