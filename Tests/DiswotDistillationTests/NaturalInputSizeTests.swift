import XCTest

@testable import DiswotDistillation

/// The input side a student is trained at when image folders do not fix it.
final class NaturalInputSizeTests: XCTestCase {
  func testTorchvisionResNetsTake224AndCIFARNetworks32() throws {
    XCTAssertEqual(try Trainer.naturalInputSize(.init(name: "resnet18")), 224)
    XCTAssertEqual(try Trainer.naturalInputSize(.init(name: "resnet-bottleneck-d1_1_1_1-w16_32_64_128")), 224)
    XCTAssertEqual(try Trainer.naturalInputSize(.init(name: "resnet20")), 32)
    XCTAssertEqual(try Trainer.naturalInputSize(.init(name: "wrn_16_2")), 32)
    XCTAssertEqual(try Trainer.naturalInputSize(.init(space: "mobilenetv2")), 64)
  }
}
