import DiswotTestSupport
import Foundation
import XCTest

/// `--max-memory` through `diswot score` and `search --local` as real processes, on a
/// space that passes validation but holds networks no machine can score (64 blocks per
/// stage, 4096 channels: tens of billions of parameters). `search --local` on such a space
/// used to allocate until the process died; now those networks are never built.
final class MemoryLimitCommandTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-memory-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  /// A resnet-cifar space with the given depth and width options in each of three stages.
  private func space(_ name: String, depths: [Int], widths: [Int]) throws -> String {
    let path = directory.appendingPathComponent("\(name).json").path
    let text = """
      {"format": "diswot.search-space.v1", "name": "\(name)", "description": "test", "family": "resnet-cifar",
       "input": {"channels": 3, "height": 32, "width": 32}, "classes": 10, "settings": {"shortcut": "B", "classifier": "fc"},
       "choices": {"depths": [\(Array(repeating: "\(depths)", count: 3).joined(separator: ","))],
                   "widths": [\(Array(repeating: "\(widths)", count: 3).joined(separator: ","))]}}
      """
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  private let scoring = ["--teacher", "resnet8", "--batch", "8", "--proxy", "diswot", "--max-memory", "100M"]

  func testASearchRunsOverTheArchitecturesThatFitAndBuildsNoOther() throws {
    let huge = try space("huge", depths: [1, 2, 64], widths: [16, 4096])
    let result = try Executables.run("diswot", [
      "search", "--local", "--space", huge, "--strategy", "random", "--budget", "20", "--top", "20", "--json",
    ] + scoring)
    XCTAssertEqual(result.status, 0, result.standardError)
    let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
    let best = try XCTUnwrap(report["best"] as? [[String: Any]])
    // What fits in 100 MiB: width 16 everywhere, depths 1 or 2 — or 64 in the last stage,
    // whose maps are 8×8 (8 + 4 architectures); nothing 4096 wide was built.
    XCTAssertEqual(best.count, 12)
    XCTAssertTrue(best.allSatisfy { ($0["key"] as! String).hasSuffix("widths=16,16,16") }, "\(best)")
    XCTAssertFalse(best.contains { ($0["key"] as! String).hasPrefix("depths=64") }, "\(best)")
    XCTAssertEqual(report["status"] as? String, "exhausted", "every architecture that fits was scored")
    XCTAssertTrue(result.standardError.contains("never proposed: scoring them needs more than --max-memory 100 MiB"), result.standardError)
  }

  func testScoreListsWhatDoesNotFitAndRefusesASingleArchitecture() throws {
    let huge = try space("huge", depths: [1], widths: [16, 4096])
    let all = try Executables.run("diswot", ["score", "--space", huge, "--all", "--proxies", "diswot", "--jsonl", "-"] + scoring.filter { $0 != "--proxy" && $0 != "diswot" })
    XCTAssertEqual(all.status, 0, all.standardError)
    let lines = all.standardOutput.split(separator: "\n")
    XCTAssertEqual(lines.count, 8)
    let refused = lines.filter { $0.contains(#""unscorable":"#) }
    XCTAssertEqual(refused.count, 7, "all but the narrow one")
    XCTAssertTrue(refused.allSatisfy { $0.contains("over the memory limit of 100 MiB (--max-memory)") }, "\(refused)")

    let deep = try space("deep", depths: [1, 64], widths: [16, 4096])
    let one = try Executables.run("diswot", [
      "score", "--space", deep, "--arch", #"{"depths":[64,64,64],"widths":[4096,4096,4096]}"#, "--proxies", "diswot", "--teacher", "resnet8",
      "--batch", "8", "--max-memory", "100M",
    ])
    XCTAssertFalse(one.crashed)
    XCTAssertEqual(one.status, 3, one.standardError)
    XCTAssertTrue(one.standardError.contains("depths=64,64,64;widths=4096,4096,4096 needs an estimated"), one.standardError)
    XCTAssertTrue(one.standardError.contains("(58018934794 parameters), over the memory limit of 100 MiB"), one.standardError)

    // Nothing of the space fits: refused before anything is built.
    let nothing = try space("nothing", depths: [64], widths: [4096])
    let refusedSearch = try Executables.run("diswot", ["search", "--local", "--space", nothing, "--budget", "4"] + scoring)
    XCTAssertEqual(refusedSearch.status, 3, refusedSearch.standardError)
    XCTAssertTrue(refusedSearch.standardError.contains("no architecture of nothing fits: even the smallest"), refusedSearch.standardError)
    let badLimit = try Executables.run("diswot", ["search", "--local", "--space", nothing, "--max-memory", "lots"])
    XCTAssertEqual(badLimit.status, 2, badLimit.standardError)
  }

  /// Training and loading refuse such a network before allocating it too.
  func testTrainAndEvalRefuseNetworksTooBigToBuild() throws {
    let deep = try space("deep", depths: [1, 64], widths: [16, 4096])
    let data = try SyntheticCIFAR.write(train: 16, test: 8)
    defer { try? FileManager.default.removeItem(at: data) }
    let out = directory.appendingPathComponent("run").path
    let train = try Executables.run("diswot", [
      "train", "--space", deep, "--arch", #"{"depths":[64,64,64],"widths":[4096,4096,4096]}"#, "--data", "cifar10:\(data.path)",
      "--epochs", "1", "--batch", "8", "--out", out, "--max-memory", "1G",
    ])
    XCTAssertFalse(train.crashed)
    XCTAssertEqual(train.status, 3, train.standardError)
    XCTAssertTrue(train.standardError.contains("the student depths=64,64,64;widths=4096,4096,4096 needs an estimated"), train.standardError)
    XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/spec.json"), "no run was started")

    // A weights file whose metadata names that architecture but which holds a ResNet-8.
    let liar = directory.appendingPathComponent("liar.safetensors")
    try ResNetWeights.write(to: liar, metadata: ["space": deep, "genotype": #"{"depths":[64,64,64],"widths":[4096,4096,4096]}"#])
    let eval = try Executables.run("diswot", ["eval", "--weights", liar.path, "--data", "cifar10:\(data.path)"])
    XCTAssertFalse(eval.crashed)
    XCTAssertEqual(eval.status, 3, eval.standardError)
    XCTAssertTrue(eval.standardError.contains("the file holds 75770 values, the architecture of its metadata"), eval.standardError)
  }
}
