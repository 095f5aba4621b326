import DiswotModels
import DiswotTensor
import DiswotTestSupport
import XCTest

/// Footprints computed from descriptions, without building: exact parameter and MAC
/// counts for every family, growth with the architecture, and no allocation for networks
/// far too big to build.
final class MemoryFootprintTests: XCTestCase {
  /// For architectures drawn from every shipped space, the footprint's parameters, state
  /// floats and MACs are those of the built network.
  func testCountsMatchTheBuiltNetworkInEverySpace() throws {
    var rng = SeededGenerator(seed: 11)
    for name in ["resnet-cifar-depth", "resnet-cifar", "resnet-imagenet", "nas-bench-201", "mobilenetv2"] {
      let space = try SearchSpace.load(path: SearchSpaces.path(name))
      for _ in 0..<12 {
        let g = space.sample(using: &rng)
        let footprint = try space.footprint(of: g)
        let model = try space.build(g)
        var state = 0
        model.visitState(prefix: "") { _, _, t in state += t.count }
        XCTAssertEqual(footprint.parameters, model.parameterCount, "\(name) \(space.key(of: g))")
        XCTAssertEqual(footprint.stateFloats, state, "\(name) \(space.key(of: g))")
        XCTAssertEqual(footprint.macs, try model.macs(height: space.inputShape[1], width: space.inputShape[2]), "\(name) \(space.key(of: g))")
        XCTAssertGreaterThan(footprint.activationsPerImage, 0)
        XCTAssertLessThanOrEqual(footprint.winogradWeights, footprint.parameters)
      }
    }
    let resnet20 = try ModelZoo.description(named: "resnet20", shortcut: .b).footprint(height: 32, width: 32)
    XCTAssertEqual(resnet20.parameters, try ResNetCIFAR(ModelZoo.description(named: "resnet20", shortcut: .b)).parameterCount)
  }

  /// A ResNet that passes validation but would need terabytes (64 blocks per stage, 4096
  /// channels) is measured in microseconds and nothing is allocated; its estimate dwarfs a
  /// small one's and grows with the probe batch.
  func testHugeNetworksAreMeasuredWithoutBuilding() throws {
    let huge = ResNetDescription(blocksPerStage: [64, 64, 64], widths: [4096, 4096, 4096], shortcut: .b)
    let footprint = try huge.footprint(height: 32, width: 32)
    XCTAssertEqual(footprint.parameters, 58_018_934_794)  // 192 blocks of two 4096² 3×3 convolutions and more
    XCTAssertGreaterThan(footprint.scoringBytes(batch: 64), 1 << 40, "over a terabyte")
    XCTAssertGreaterThan(footprint.scoringBytes(batch: 64), footprint.scoringBytes(batch: 2))
    let small = try ModelZoo.description(named: "resnet20").footprint(height: 32, width: 32)
    XCTAssertLessThan(small.scoringBytes(batch: 64), 1 << 30)
    XCTAssertThrowsError(try ResNetDescription(blocksPerStage: [65], widths: [16]).footprint(height: 32, width: 32))
  }

  /// The cheapest architecture of a space, position by position, is its smallest.
  func testCheapestArchitecture() throws {
    let space = try SearchSpace.load(path: SearchSpaces.path("resnet-cifar"))
    let bytes = { (g: Genotype) in Double((try? space.footprint(of: g))?.scoringBytes(batch: 64) ?? Int.max) }
    XCTAssertEqual(space.key(of: space.cheapest(by: bytes)), "depths=1,1,1;widths=8,8,8")
    let nb = try SearchSpace.load(path: SearchSpaces.path("nas-bench-201"))
    let nbBytes = { (g: Genotype) in Double((try? nb.footprint(of: g))?.scoringBytes(batch: 64) ?? Int.max) }
    let cheapest = nb.cheapest(by: nbBytes)
    XCTAssertEqual(nbBytes(cheapest), try nb.enumerate().map(nbBytes).min())
  }

  func testMemoryLimitsParseAndPrint() {
    XCTAssertEqual(MemoryLimit(parsing: "8G")?.bytes, 8 << 30)
    XCTAssertEqual(MemoryLimit(parsing: "1.5GiB")?.bytes, 3 << 29)
    XCTAssertEqual(MemoryLimit(parsing: "512m")?.bytes, 512 << 20)
    XCTAssertEqual(MemoryLimit(parsing: "64KB")?.bytes, 64 << 10)
    XCTAssertEqual(MemoryLimit(parsing: "1048576")?.bytes, 1 << 20)
    for bad in ["", "G", "-1G", "0", "1X", "nanG", "2e30T"] { XCTAssertNil(MemoryLimit(parsing: bad), bad) }
    XCTAssertEqual(MemoryLimit(bytes: 3 << 29).description, "1.5 GiB")
    XCTAssertEqual(MemoryLimit(bytes: 300 << 20).description, "300 MiB")
    XCTAssertGreaterThan(MemoryLimit.machineDefault.bytes, 1 << 26)
  }
}
