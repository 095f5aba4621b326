import DiswotTensor
import DiswotTestSupport
import Foundation
import XCTest

/// Teachers for the teacher-ranking and multi-teacher tests: the trained ResNet-20 fixture,
/// and the same architecture with formula weights (`GeneratedWeights`) in every
/// convolution, a teacher that knows nothing about CIFAR-10.
enum FormulaTeacher {
  static var trained: String {
    get throws {
      try XCTUnwrap(Bundle.module.url(
        forResource: "cifar10-resnet20-pytorch", withExtension: "safetensors", subdirectory: "Fixtures")).path
    }
  }

  /// Writes the untrained ResNet-20 with `classes` classes to `path`.
  static func writeUntrained(to path: String, classes: Int) throws {
    let file = try SafetensorsFile.read(path: try trained)
    var tensors: [(name: String, tensor: Tensor)] = []
    for name in file.names {
      let tensor = file.tensors[name]!
      switch name {
      case "linear.weight": tensors.append((name, GeneratedWeights.tensor(named: name, shape: [classes, tensor.shape[1]])))
      case "linear.bias": tensors.append((name, GeneratedWeights.tensor(named: name, shape: [classes])))
      case _ where tensor.shape.count == 4: tensors.append((name, GeneratedWeights.tensor(named: name, shape: tensor.shape)))
      default: tensors.append((name, tensor))
      }
    }
    try SafetensorsFile.write(path: path, tensors: tensors, metadata: [:])
  }
}
