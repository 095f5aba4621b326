import DiswotCommandLine
import DiswotDistillation
import DiswotScoring
import Foundation

/// `--teacher-mix`: how much of the KD term each of several teachers gets.
///
/// - `w1,w2,…`: given weights (≥ 0, not all 0), one per teacher, normalised to sum 1;
/// - `ranked[:T]`: derived from `diswot teachers`' score s_t of each teacher on the run's
///   training images (its defaults: 256 evenly spaced images, k = 10, the `auto` measure),
///   mix_t = exp(s_t/T) / Σ_u exp(s_u/T) (DistillWeighted's softmax over task
///   similarities, Borup et al. 2023); T → ∞ is the plain average, T → 0 the best teacher
///   alone. The default T depends on what the scores are:
///   - mean log-likelihoods of the labels (every teacher has the data's classes): T = 1
///     nat, so mix_t is proportional to exp(s_t), the geometric mean of the probability the
///     teacher gives the true label — a teacher twice as likely per image gets twice the
///     weight;
///   - kNN accuracies in [0, 1] (some teacher has other classes): T = 0.05, since good
///     teachers differ by a few points: 0.05 (5 points) better gets e ≈ 2.7 times the
///     weight, 0.15 better e³ ≈ 20 times;
/// - absent: the plain average, 1/n each.
///
/// The numbers go into the spec (`teacher_mix`), so a resumed run or a daemon job uses
/// exactly these and never ranks again.
enum TeacherMix {
  /// The default T for each measure's scores (above).
  static func defaultTemperature(measure: String) -> Double {
    measure == TeacherRankingMeasure.likelihood.reportName ? 1 : 0.05
  }
  static let temperatureRange = 1e-4...100.0

  static func resolve(_ text: String?, teachers: [String], data: String, args: ParsedArguments) throws -> [Double] {
    let n = teachers.count
    guard let text else { return Array(repeating: 1 / Double(n), count: n) }
    if text == "ranked" || text.hasPrefix("ranked:") {
      var given: Double?
      if text != "ranked" {
        guard let t = Double(text.dropFirst("ranked:".count)), temperatureRange.contains(t) else {
          throw args.usageError("--teacher-mix ranked:T needs a temperature T between \(temperatureRange.lowerBound) and \(temperatureRange.upperBound), got '\(text)'")
        }
        given = t
      }
      let (scores, measure) = try rank(teachers, data: data)
      let temperature = given ?? defaultTemperature(measure: measure)
      let top = scores.max()!
      let exponentials = scores.map { exp(($0 - top) / temperature) }
      let sum = exponentials.reduce(0, +)
      let mix = exponentials.map { $0 / sum }
      for (t, file) in teachers.enumerated() {
        Log.info(String(format: "teacher %@: %@ %.4f, mix %.4f (T = %g)", file, measure, scores[t], mix[t], temperature))
      }
      return mix
    }
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    let weights = parts.compactMap(Double.init)
    guard weights.count == parts.count, weights.count == n else {
      throw args.usageError("--teacher-mix needs \(n) comma-separated weights (one per teacher) or ranked[:T], got '\(text)'")
    }
    let sum = weights.reduce(0, +)
    guard weights.allSatisfy({ $0.isFinite && $0 >= 0 }), sum > 0 else {
      throw args.usageError("--teacher-mix weights must be ≥ 0 and not all 0, got '\(text)'")
    }
    return weights.map { $0 / sum }
  }

  /// `diswot teachers`' scores of `files` on the training split of `data` with its
  /// defaults (the same `TeacherRanking`), in the order given, and the measure they are.
  private static func rank(_ files: [String], data: String) throws -> (scores: [Double], measure: String) {
    let report = try TeacherRanking(TeacherRankingSpec(data: data, candidates: files)).run()
    return (files.map { file in report.candidates.first { $0.weights == file }!.score }, report.measure)
  }
}
