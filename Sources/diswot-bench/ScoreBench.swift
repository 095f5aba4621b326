import DiswotModels
import DiswotScoring
import DiswotTensor

/// Scoring throughput: every `resnet-cifar-depth` candidate against a ResNet-56 teacher
/// at batch 64, the loop a search runs. Convolution FLOPs are the students' direct
/// convolution work (2 · conv MACs · batch); the teacher's single forward pass happens
/// before the loop and is not counted.
enum ScoreBench {
  struct Result: Encodable {
    var candidates: Int
    var seconds: Double
    var candidatesPerSecond: Double
    var convGFLOPS: Double
    var sgemmGFLOPS: Double
    var ratio: Double

    enum CodingKeys: String, CodingKey {
      case candidates, seconds, ratio
      case candidatesPerSecond = "candidates_per_second", convGFLOPS = "conv_gflops", sgemmGFLOPS = "sgemm_gflops"
    }
  }

  static func run(space: String, teacher: String, batch: Int, sgemm: Double) throws -> Result {
    let session = try ScoringSession(spec: ScoringSpec(space: space, teacher: .init(name: teacher), batch: batch, proxies: [.diswot]))
    let candidates = try session.space.enumerate()
    var evaluations: [ScoringSession.Evaluation] = []
    let seconds = try Timing.seconds { () throws in
      for g in candidates { evaluations.append(try session.evaluate(g)) }
    }
    var convMACs = 0
    for (g, evaluation) in zip(candidates, evaluations) { convMACs += evaluation.macs - classifierMACs(session, g) }
    let flop = 2 * Double(convMACs) * Double(batch)
    return Result(
      candidates: candidates.count, seconds: seconds, candidatesPerSecond: Double(candidates.count) / seconds,
      convGFLOPS: flop / seconds / 1e9, sgemmGFLOPS: sgemm, ratio: flop / seconds / 1e9 / sgemm)
  }

  /// MACs of the final linear layer (features × classes), which is not convolution work.
  private static func classifierMACs(_ session: ScoringSession, _ g: Genotype) -> Int {
    guard let model = try? session.space.build(g, classCount: session.classCount) else { return 0 }
    return model.stateDict().last { $0.name.hasSuffix("weight") && $0.tensor.rank == 2 }.map { $0.tensor.count } ?? 0
  }
}
