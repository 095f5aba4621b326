import DiswotModels
import DiswotTensor
import XCTest

/// Every walk over a network — `visitState`, `visitParameters`, `sublayers`,
/// `zeroGradients`, `initialize` — is derived from each composite's one `children` list,
/// so none of them can skip a child another one reaches. Pinned for every family (the
/// PyTorch fixtures' networks: both ResNet shortcuts, every NAS-Bench-201 operation,
/// MobileNetV2 blocks with and without expansion).
final class LayerStructureTests: XCTestCase {
  /// Every layer once, depth first in `sublayers` order.
  private func allLayers(_ root: Layer) -> [Layer] {
    [root] + root.sublayers.flatMap(allLayers)
  }

  func testEveryParameterIsStateAndEveryLeafIsReachedOnce() throws {
    for (family, build) in PyTorchStateDictTests.families {
      let model = try build()
      var state: [(name: String, kind: StateKind, shape: [Int])] = []
      model.visitState(prefix: "") { name, kind, t in state.append((name, kind, t.shape)) }
      var parameters: [(name: String, shape: [Int], gradientShape: [Int])] = []
      model.visitParameters(prefix: "") { name, value, gradient in parameters.append((name, value.shape, gradient.shape)) }

      XCTAssertEqual(Set(state.map(\.name)).count, state.count, "\(family): a state name twice")
      let stateParameters = state.filter { $0.kind == .parameter }
      XCTAssertEqual(parameters.map(\.name), stateParameters.map(\.name), "\(family): visitParameters ≠ visitState's parameters")
      XCTAssertEqual(parameters.map(\.shape), stateParameters.map(\.shape), family)
      XCTAssertEqual(parameters.map(\.gradientShape), parameters.map(\.shape), family)
      XCTAssertEqual(model.parameterNames, parameters.map(\.name), family)

      // The leaves `sublayers` reaches own exactly the network's state, each once.
      let layers = allLayers(model)
      XCTAssertEqual(Set(layers.map(ObjectIdentifier.init)).count, layers.count, "\(family): a layer reached twice")
      let leaves = layers.filter(\.children.isEmpty)
      XCTAssertTrue(leaves.allSatisfy { $0 is Conv2d || $0 is BatchNorm2d || $0 is Linear }, family)
      XCTAssertEqual(leaves.map { $0.stateDict().count }.reduce(0, +), state.count, "\(family): state outside the leaves")
      // Children names are what visitState prefixes: every state name starts with one.
      for (name, child) in model.children {
        let own = child.stateDict().map { name + "." + $0.name }
        XCTAssertTrue(own.allSatisfy { n in state.contains { $0.name == n } }, "\(family): \(name)")
      }
    }
  }

  func testInitializationAndZeroingReachEveryParameter() throws {
    for (family, build) in PyTorchStateDictTests.families {
      for scheme in InitializationScheme.allCases {
        let model = try build()
        // Spoil everything: NaN weights and statistics, a non-zero counter, gradients of ones.
        model.visitState(prefix: "") { _, kind, t in
          t = Tensor(zeros: t.shape, value: kind == .counter ? 7 : .nan)
        }
        model.visitParameters(prefix: "") { _, _, g in g = Tensor(zeros: g.shape, value: 1) }

        var rng = SeededGenerator(seed: 5)
        model.initialize(scheme, using: &rng)
        model.visitState(prefix: "") { name, kind, t in
          XCTAssertTrue(t.storage.allSatisfy(\.isFinite), "\(family) \(scheme): initialize missed \(name)")
          if kind == .parameter, name.hasSuffix("weight") {
            XCTAssertTrue(t.storage.contains { $0 != 0 }, "\(family) \(scheme): \(name) drawn as zeros")
          }
          if kind == .counter { XCTAssertEqual(t.storage, [0], "\(family): \(name)") }
          if name.hasSuffix("running_mean") { XCTAssertTrue(t.storage.allSatisfy { $0 == 0 }, "\(family): \(name)") }
          if name.hasSuffix("running_var") { XCTAssertTrue(t.storage.allSatisfy { $0 == 1 }, "\(family): \(name)") }
        }

        model.zeroGradients()
        var zeroed = 0
        model.visitParameters(prefix: "") { name, _, g in
          XCTAssertTrue(g.storage.allSatisfy { $0 == 0 }, "\(family): zeroGradients missed \(name)")
          zeroed += 1
        }
        XCTAssertEqual(zeroed, model.parameterNames.count, family)
      }
    }
  }
}
