import DiswotModels
import DiswotTensor
import DiswotTestSupport
import XCTest


/// A fresh CIFAR ResNet with Kaiming fan-out weights drawn from `seed`.
func randomResNet(_ description: ResNetDescription, seed: UInt64) -> ResNetCIFAR {
  let model = try! ResNetCIFAR(description)
  var rng = SeededGenerator(seed: seed)
  model.initialize(.kaimingNormalFanOut, using: &rng)
  return model
}

/// Batch statistics without touching running statistics: how scoring runs networks.
var scoringMode: ForwardMode { .training(updateRunningStatistics: false) }
