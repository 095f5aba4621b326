import DiswotDistillation
import XCTest

final class LossWeightsTests: XCTestCase {
  func testMethodNamesAndReferenceBetas() {
    XCTAssertEqual(FeatureDistillation.allCases.map(\.rawValue), ["none", "kd", "sp", "ickd", "at", "fitnet", "diswot"])
    XCTAssertEqual(FeatureDistillation(rawValue: "fitnet"), .fitnet)
    let betas = Dictionary(uniqueKeysWithValues: FeatureDistillation.allCases.map { ($0, $0.referenceFeatureWeight) })
    XCTAssertEqual(betas, [.none: 0, .kd: 0, .sp: 3000, .ickd: 2.5, .at: 1000, .fitnet: 100, .diswot: 1])
    XCTAssertEqual(FeatureDistillation.allCases.filter(\.usesFeatureLoss), [.sp, .ickd, .at, .fitnet, .diswot])
  }

  func testCifarDefaults() {
    XCTAssertEqual(LossWeights.cifarDefault(for: .kd), LossWeights(crossEntropy: 0.1, kd: 0.9, feature: 0, temperature: 4))
    XCTAssertEqual(LossWeights.cifarDefault(for: .sp), LossWeights(crossEntropy: 0.1, kd: 0.9, feature: 3000, temperature: 4))
    XCTAssertEqual(LossWeights.cifarDefault(for: .none), LossWeights(crossEntropy: 1, kd: 0, feature: 0, temperature: 4))
    XCTAssertEqual(LossWeights.referenceScript(for: .at), LossWeights(crossEntropy: 1, kd: 0, feature: 1000, temperature: 4))
    XCTAssertEqual(LossWeights.referenceScript(for: .kd), LossWeights.cifarDefault(for: .kd))
  }

  /// γ·CE + α·KD + β·feature, each weight on its own named term.
  func testCombineWeighsEachRole() {
    let w = LossWeights(crossEntropy: 0.1, kd: 0.9, feature: 100, temperature: 4)
    XCTAssertEqual(w.combine(crossEntropy: 2, kd: 1, feature: 0.01), 0.2 + 0.9 + 1, accuracy: 1e-12)
  }
}
