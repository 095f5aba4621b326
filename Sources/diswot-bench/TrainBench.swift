import DiswotDistillation
import DiswotModels
import DiswotTensor

/// Training throughput at batch 64 on 32×32 inputs: a plain ResNet-20 step (forward,
/// backward, SGD) and a KD step with a ResNet-56 teacher (its inference forward added),
/// timed through the trainer's own step on random data.
///
/// FLOPs are direct-convolution FLOPs: the student's forward, input-gradient and
/// weight-gradient convolutions (3 × its forward conv work; the stem's input gradient is
/// skipped in training, a 1 % difference) plus the teacher's forward for KD.
enum TrainBench {
  struct Result: Encodable {
    var mode: String
    var batch: Int
    var imagesPerSecond: Double
    var convGFLOPS: Double
    var sgemmGFLOPS: Double
    var ratio: Double

    enum CodingKeys: String, CodingKey {
      case mode, batch, ratio
      case imagesPerSecond = "images_per_second", convGFLOPS = "conv_gflops", sgemmGFLOPS = "sgemm_gflops"
    }
  }

  static func convMACs(_ model: ResNetCIFAR) throws -> Double {
    let head = model.classifier
    return Double(try model.macs(height: 32, width: 32) - head.inFeatures * head.outFeatures)
  }

  static func run(batch: Int, steps: Int, sgemm: Double) throws -> [Result] {
    var rng = SeededGenerator(seed: 5)
    let images = Tensor.normal([batch, 3, 32, 32], using: &rng)
    let labels = (0..<batch).map { $0 % 10 }
    let student = try ResNetCIFAR(ModelZoo.description(named: "resnet20"))
    let teacher = try ResNetCIFAR(ModelZoo.description(named: "resnet56"))
    student.initialize(.kaimingNormalFanOut, using: &rng)
    teacher.initialize(.kaimingNormalFanOut, using: &rng)
    var results: [Result] = []
    for mode in ["plain", "kd"] {
      let kd = mode == "kd"
      var sgd = SGD.repDistillerCIFAR()
      let weights = LossWeights.cifarDefault(for: kd ? .kd : .none)
      let seconds = try Timing.best(of: steps) { () throws in
        student.zeroGradients()
        let out = try student.classify(images, mode: .trainingStep)
        let ce = try crossEntropyLoss(logits: out.logits, labels: labels)
        var dLogits = ce.logitsGradient
        scale(&dLogits, weights.crossEntropy)
        if kd {
          let t = try teacher.classify(images, mode: .inference)
          var g = try hintonKDLoss(studentLogits: out.logits, teacherLogits: t.logits, temperature: weights.temperature).gradient
          scale(&g, weights.kd)
          try add_forward(&dLogits, g)
        }
        _ = try student.backward(dLogits: dLogits)
        try sgd.step(learningRate: 0.05) { visit in try student.visitParameters(prefix: "", visit) }
      }
      let flop = 2 * Double(batch) * (3 * (try convMACs(student)) + (kd ? try convMACs(teacher) : 0))
      results.append(Result(
        mode: kd ? "kd (resnet20 ← resnet56)" : "plain resnet20", batch: batch, imagesPerSecond: Double(batch) / seconds,
        convGFLOPS: flop / seconds / 1e9, sgemmGFLOPS: sgemm, ratio: flop / seconds / 1e9 / sgemm))
    }
    return results
  }

  private static func scale(_ t: inout Tensor, _ w: Double) {
    t.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] *= Float(w) } }
  }
}
