import DiswotTestSupport
import Foundation
import XCTest

/// `diswot export` as a real process. Whether PyTorch runs the modules and agrees with
/// diswot is Scripts/check-export.sh's job (PyTorch is no test dependency); these check
/// what diswot itself promises: every family exports, the weights it writes carry every
/// batch norm's num_batches_tracked, the module does not depend on how the student was
/// named, and bad requests are clear errors with the usual exit codes.
final class ExportCommandTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("diswot-export-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  private func export(_ arguments: [String]) throws -> [String: Any] {
    let result = try Executables.run("diswot", ["export", "--json"] + arguments)
    XCTAssertEqual(result.status, 0, result.standardError)
    return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
  }

  /// The tensors of a safetensors file as (dtype, shape), read straight from its header.
  private func header(_ path: String) throws -> [String: (dtype: String, shape: [Int])] {
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    let length = bytes.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
    let json = try XCTUnwrap(JSONSerialization.jsonObject(with: bytes[8..<(8 + length)]) as? [String: Any])
    var result: [String: (dtype: String, shape: [Int])] = [:]
    for (name, entry) in json where name != "__metadata__" {
      let entry = try XCTUnwrap(entry as? [String: Any])
      result[name] = (try XCTUnwrap(entry["dtype"] as? String), try XCTUnwrap(entry["shape"] as? [Int]))
    }
    return result
  }

  /// One student per family, named each way a user can name it; its weights re-export to
  /// the same module, so the module depends on the architecture alone.
  func testEveryFamilyExportsWithWeightsPyTorchLoadsStrictly() throws {
    let students: [(name: String, arguments: [String], family: String)] = [
      ("resnet-a", ["--model", "resnet20", "--classes", "100"], "resnet-cifar"),
      ("resnet-b", ["--space", SearchSpaces.path("resnet-cifar"), "--arch", #"{"depths":[2,1,1],"widths":[16,32,48]}"#], "resnet-cifar"),
      ("nasbench201", ["--space", "nas-bench-201", "--arch", "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"], "nas-bench-201"),
      ("mobilenetv2", ["--space", "mobilenetv2", "--arch", "depths=1,2,2,2,3,2,1;expansions=1,3,6,3,6,3,6,3,6,6,3,3,6;kernels=3,3,5,7,3,5,7,3,5,7,7,3,3"], "mobilenetv2"),
    ]
    for (name, arguments, family) in students {
      let report = try export(arguments + ["--out", path(name + ".py"), "--weights-out", path(name + ".safetensors"), "--seed", "3"])
      XCTAssertEqual(report["family"] as? String, family, name)
      let source = try String(contentsOfFile: path(name + ".py"), encoding: .utf8)
      XCTAssertTrue(source.contains("\nclass Student("), name)
      XCTAssertTrue(source.contains("MEAN = STD = None"), "\(name): nothing records a normalisation")

      let tensors = try header(path(name + ".safetensors"))
      XCTAssertEqual(tensors.count, report["state_entries"] as? Int, name)
      let counters = tensors.filter { $0.key.hasSuffix(".num_batches_tracked") }
      let batchNorms = tensors.filter { $0.key.hasSuffix(".running_var") }
      XCTAssertEqual(Set(counters.keys.map { $0.dropLast("num_batches_tracked".count) }), Set(batchNorms.keys.map { $0.dropLast("running_var".count) }), name)
      XCTAssertTrue(counters.values.allSatisfy { $0.dtype == "I64" && $0.shape.isEmpty }, name)
      XCTAssertTrue(tensors.filter { counters[$0.key] == nil }.values.allSatisfy { $0.dtype == "F32" }, name)

      let again = try export(["--weights", path(name + ".safetensors"), "--out", path(name + "-again.py")])
      XCTAssertEqual(again["architecture"] as? String, report["architecture"] as? String, name)
      XCTAssertEqual(try String(contentsOfFile: path(name + "-again.py"), encoding: .utf8), source, name)
    }
  }

  /// A weights file's normalisation reaches the module; `--out -` prints it.
  func testTheModuleCarriesTheWeightsNormalisation() throws {
    let resaved = try XCTUnwrap(
      Bundle.module.url(forResource: "cifar10-resnet20-pytorch", withExtension: "safetensors", subdirectory: "Fixtures"))
    let plain = try Executables.run("diswot", ["export", "--weights", resaved.path, "--out", "-"])
    XCTAssertEqual(plain.status, 0, plain.standardError)
    XCTAssertTrue(plain.standardOutput.hasPrefix("\"\"\"resnet20 as a PyTorch module"), plain.standardOutput)
    XCTAssertTrue(plain.standardOutput.contains("MEAN = STD = None"))
    XCTAssertTrue(plain.standardError.contains("class Student, resnet20"), plain.standardError)

    let teacher = try SharedData.require("teachers/cifar10-resnet20.safetensors")
    let report = try export(["--weights", teacher.path, "--out", path("r20.py"), "--weights-out", path("r20.safetensors")])
    XCTAssertEqual(report["normalization"] as? String, "mean 0.485,0.456,0.406 std 0.229,0.224,0.225")
    let source = try String(contentsOfFile: path("r20.py"), encoding: .utf8)
    XCTAssertTrue(source.contains("MEAN = (0.485, 0.456, 0.406)\nSTD = (0.229, 0.224, 0.225)"), source)
    // The teacher had no counters; the file written for PyTorch has them, and keeps the metadata.
    XCTAssertEqual(try header(path("r20.safetensors")).filter { $0.key.hasSuffix("num_batches_tracked") }.count, 19)
    let eval = try Executables.run("diswot", ["eval", "--weights", path("r20.safetensors"), "--data", "cifar10:/nonexistent"])
    XCTAssertTrue(eval.standardError.contains("/nonexistent"), "the file loads; only the data is missing: \(eval.standardError)")
  }

  func testBadRequestsAreClearErrors() throws {
    let resaved = try XCTUnwrap(
      Bundle.module.url(forResource: "cifar10-resnet20-pytorch", withExtension: "safetensors", subdirectory: "Fixtures")).path
    let cases: [(arguments: [String], status: Int32, message: String)] = [
      (["--out", path("x.py")], 2, "give the student: --weights FILE, --space S --arch A, or --model NAME"),
      (["--model", "resnet20"], 2, "missing --out"),
      (["--arch", "{}", "--out", path("x.py")], 2, "--space and --arch go together"),
      (["--weights", resaved, "--classes", "5", "--out", path("x.py")], 2, "--classes is for a student without --weights"),
      (["--model", "resnet20", "--space", "nas-bench-201", "--arch", "x", "--out", path("x.py")], 2, "not both"),
      (["--model", "resnet20", "--out", "-", "--json"], 2, "would both write to standard output"),
      (["--weights", resaved, "--model", "resnet56", "--out", path("x.py")], 3, "the weights file holds resnet20, not resnet56"),
      (["--space", "resnet-cifar", "--arch", "depths=1,2;widths=8,8,8", "--out", path("x.py")], 3, "'depths' lists 2 values"),
      (["--space", "nas-bench-201", "--arch", "|nor_conv_3x3~0|", "--out", path("x.py")], 3, "expected 3 '+'-separated nodes"),
      (["--weights", path("missing.safetensors"), "--out", path("x.py")], 3, "cannot read safetensors file"),
      (["--model", "resnet20", "--out", "/nonexistent-dir/x.py"], 1, "cannot write /nonexistent-dir/x.py:"),
      (["--model", "resnet20", "--out", path("x.py"), "--weights-out", "/nonexistent-dir/w.safetensors"], 1,
       "cannot write /nonexistent-dir/w.safetensors:"),
    ]
    for (arguments, status, message) in cases {
      let result = try Executables.run("diswot", ["export"] + arguments)
      XCTAssertEqual(result.status, status, "\(arguments): \(result.standardError)")
      XCTAssertTrue(result.standardError.contains(message), "\(arguments): \(result.standardError)")
    }
  }

  func testHelpListsExportsOptions() throws {
    let help = try Executables.run("diswot", ["export", "--help"])
    XCTAssertEqual(help.status, 0)
    for option in ["--out", "--weights", "--space", "--arch", "--model", "--shortcut", "--classes", "--weights-out", "--seed", "--json"] {
      XCTAssertTrue(help.standardOutput.contains(option), option)
    }
    XCTAssertFalse(help.standardOutput.contains("--teacher"))
    XCTAssertTrue(try Executables.run("diswot", ["--help"]).standardOutput.contains("export"))
  }
}
