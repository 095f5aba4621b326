import DiswotModels
import DiswotTensor
import Foundation

/// Whole-network forward throughput: ResNet-56 on 32×32 images, the engine
/// benchmark, or any named model at any size (torchvision's ResNet-18 and ResNet-50 at
/// 224×224). Counts direct-convolution FLOPs (2 · conv MACs) over the time of the full
/// forward pass, batch norm, ReLU, pooling, shortcuts and classifier included.
enum EngineBench {
  struct Result: Encodable {
    var mode: String
    var batch: Int
    var seconds: Double
    var imagesPerSecond: Double
    var convGFLOP: Double
    var convGFLOPS: Double
    var sgemmGFLOPS: Double
    var ratio: Double

    enum CodingKeys: String, CodingKey {
      case mode, batch, seconds, ratio
      case imagesPerSecond = "images_per_second", convGFLOP = "conv_gflop"
      case convGFLOPS = "conv_gflops", sgemmGFLOPS = "sgemm_gflops"
    }
  }

  static func run(model name: String, size: Int, batch: Int, repeats: Int, sgemm: Double) throws -> [Result] {
    let model = try ModelName(parsing: name).resolve().build().model
    var rng = SeededGenerator(seed: 3)
    model.initialize(.kaimingNormalFanOut, using: &rng)
    let x = Tensor.normal([batch, model.inputChannels, size, size], using: &rng)
    let headMACs = (model.children.last?.layer as? Linear).map { $0.inFeatures * $0.outFeatures } ?? 0
    let convMACs = try model.macs(height: size, width: size) - headMACs
    let flop = 2 * Double(convMACs * batch)
    var results: [Result] = []
    for (label, mode) in [("inference", ForwardMode.inference),
                          ("training-bn", .training(updateRunningStatistics: false))] {
      let seconds = try Timing.best(of: repeats) { () throws(TensorError) in _ = try model.forward(x, mode: mode) }
      results.append(Result(
        mode: label, batch: batch, seconds: seconds, imagesPerSecond: Double(batch) / seconds,
        convGFLOP: flop / 1e9, convGFLOPS: flop / seconds / 1e9, sgemmGFLOPS: sgemm,
        ratio: flop / seconds / 1e9 / sgemm))
    }
    return results
  }
}
