import DiswotModels
import DiswotScoring
import DiswotTensor
import DiswotTestSupport
import XCTest

/// The `ensemble` proxy: its calibration and score by hand, its purity in a session, and
/// the probe-batch averaging it is computed under.
final class EnsembleTests: XCTestCase {
  /// Median and IQR/1.349 of the oriented (and, for log-scale proxies, logged) values,
  /// then the mean of log F(z) over the components (F logistic, unit variance: F(1) =
  /// 1/(1 + e^(−π/√3))), all worked by hand:
  /// nwot reference 1…5 → median 3, IQR 4 − 2 = 2; relation (a distance, on a log scale,
  /// negated) reference e^-1…e^-5 → u = 1…5, the same median and IQR. The retest ranks the
  /// reference as the test does, so both reliabilities are 1 (no shrinkage, equal weights).
  func testCalibrationAndScoreByHand() throws {
    let reference: [[String: Double]] = (1...5).map { i in ["nwot": Double(i), "relation": exp(-Double(i))] }
    let calibration = try EnsembleCalibration(components: [.nwot, .relation], reference: reference, retest: reference)
    XCTAssertEqual(calibration.referenceSize, 5)
    for c in calibration.components {
      XCTAssertEqual(c.median, 3, accuracy: 1e-12, "\(c.proxy)")
      XCTAssertEqual(c.scale, 2 / 1.349, accuracy: 1e-12, "\(c.proxy)")
      XCTAssertEqual(c.reliability, 1, accuracy: 1e-12, "\(c.proxy)")
      XCTAssertEqual(c.weight, 1, accuracy: 1e-12, "\(c.proxy)")
    }
    // nwot 3 + 2/1.349 → z = 1, relation e^-3 → z = 0: (log F(1) + log F(0)) / 2.
    let f1 = 0.8598204351  // 1/(1 + e^(−1.813799364)), by hand
    let score = calibration.score(["nwot": 3 + 2 / 1.349, "relation": exp(-3)])
    XCTAssertEqual(score, (log(f1) + log(0.5)) / 2, accuracy: 1e-9)
    // A smaller distance is better: relation e^-5 → z = +1.349.
    XCTAssertGreaterThan(calibration.score(["nwot": 3, "relation": exp(-5)]), calibration.score(["nwot": 3, "relation": exp(-3)]))
    // Strictly increasing far beyond the reference's range (z ≈ 20 and 27), so the best stay ordered.
    XCTAssertLessThan(calibration.score(["nwot": 33, "relation": exp(-3)]), calibration.score(["nwot": 43, "relation": exp(-3)]))
    XCTAssertEqual(logLogisticCDF(-40), -40 * Double.pi / 3.0.squareRoot(), accuracy: 1e-12)
    XCTAssertEqual(logLogisticCDF(0), log(0.5), accuracy: 1e-15)
    // A missing or non-finite component ranks the candidate at the floor on that kind.
    let floor = (-log1p(exp(8 * Double.pi / 3.0.squareRoot())) + log(0.5)) / 2
    XCTAssertEqual(calibration.score(["nwot": .nan, "relation": exp(-3)]), floor, accuracy: 1e-9)
    XCTAssertEqual(calibration.score(["relation": exp(-3)]), floor, accuracy: 1e-9)
    XCTAssertEqual(calibration.score(["nwot": -1e9, "relation": exp(-3)]), floor, accuracy: 1e-9)
  }

  /// Reliability by hand: nwot's retest reverses two of five neighbours (ranks 2,1,3,5,4:
  /// Σd² = 4, ρ = 1 − 6·4/(5·24) = 0.8); relation's retest is the reverse (ρ = −1 → weight
  /// 0, the component drops out). The score is then nwot's alone, its z shrunk by 0.8.
  func testReliabilityShrinksAndWeights() throws {
    let reference: [[String: Double]] = (1...5).map { i in ["nwot": Double(i), "relation": exp(-Double(i))] }
    let retest: [[String: Double]] = [2, 1, 3, 5, 4].enumerated().map { j, r in ["nwot": Double(r), "relation": exp(-Double(5 - j))] }
    let calibration = try EnsembleCalibration(components: [.nwot, .relation], reference: reference, retest: retest)
    XCTAssertEqual(calibration.components[0].reliability, 0.8, accuracy: 1e-12)
    XCTAssertEqual(calibration.components[0].weight, 0.8, accuracy: 1e-12)
    XCTAssertEqual(calibration.components[1].reliability, -1, accuracy: 1e-12)
    XCTAssertEqual(calibration.components[1].weight, 0)
    let z = 0.8 * (4 - 3) / (2 / 1.349)
    XCTAssertEqual(calibration.score(["nwot": 4, "relation": 123]), -log1p(exp(-z * Double.pi / 3.0.squareRoot())), accuracy: 1e-12)
    // No reliable component at all: equal weights, no shrinkage.
    let noise = try EnsembleCalibration(components: [.nwot], reference: reference, retest: reference.reversed())
    XCTAssertEqual(noise.components[0].weight, 1)
    XCTAssertTrue(calibration.summary.contains("nwot reliability 0.80 weight 0.80"), calibration.summary)
  }

  /// A component needs reliability ≥ 1/2 (as much signal as noise) to count: retest ranks
  /// 3,1,2,5,4 give Σd² = 8, ρ = 1 − 8/20 = 0.6 (counts, weight 0.6); 3,1,5,2,4 give
  /// Σd² = 14, ρ = 0.3 (left out, although positive).
  func testComponentsLessReliableThanHalfAreLeftOut() throws {
    let reference: [[String: Double]] = (1...5).map { i in ["nwot": Double(i), "jacob_cov": Double(i)] }
    let retest: [[String: Double]] = zip([3, 1, 2, 5, 4], [3, 1, 5, 2, 4]).map { a, b in ["nwot": Double(a), "jacob_cov": Double(b)] }
    let calibration = try EnsembleCalibration(components: [.nwot, .jacobCov], reference: reference, retest: retest)
    XCTAssertEqual(calibration.components[0].reliability, 0.6, accuracy: 1e-12)
    XCTAssertEqual(calibration.components[0].weight, 0.6, accuracy: 1e-12)
    XCTAssertEqual(calibration.components[1].reliability, 0.3, accuracy: 1e-12)
    XCTAssertEqual(calibration.components[1].weight, 0)
    // The score ignores the left-out component entirely.
    XCTAssertEqual(calibration.score(["nwot": 4, "jacob_cov": 1]), calibration.score(["nwot": 4, "jacob_cov": 5]))
  }

  /// A reference without spread standardises with scale 1; too few finite values is an error.
  func testDegenerateReferences() throws {
    let flatValues: [[String: Double]] = Array(repeating: ["params": 100], count: 6)
    let flat = try EnsembleCalibration(components: [.params], reference: flatValues, retest: flatValues)
    XCTAssertEqual(flat.components[0].scale, 1)
    XCTAssertEqual(flat.components[0].median, log(100), accuracy: 1e-12)
    let few: [[String: Double]] = [["params": 1], ["params": .nan], ["params": 2]]
    XCTAssertThrowsError(try EnsembleCalibration(components: [.params], reference: few, retest: few))
    XCTAssertThrowsError(try EnsembleCalibration(components: [], reference: [], retest: []))
    XCTAssertThrowsError(try EnsembleCalibration(components: [.params], reference: flatValues, retest: []))
  }

  /// The same spec gives the same ensemble scores in any order and in a fresh session
  /// (as each worker builds its own), and probe batch k is the one `probeSeed(k)` draws.
  func testSessionIsPureAndAveragesProbeBatches() throws {
    let spec = ScoringSpec(
      space: SearchSpaces.path("resnet-cifar-depth"), teacher: .init(name: "resnet20"), batch: 8,
      proxies: [.ensemble, .nwot, .params], seed: 5, repeats: 1, probes: 2, reference: .init(size: 8, seed: 1))
    // The progress listener sees every reference architecture, and at the last one the
    // calibration already exists (the command line logs its weights then).
    nonisolated(unsafe) var reports: [(Int, Int, Bool)] = []
    nonisolated(unsafe) var a: ScoringSession!
    a = try ScoringSession(spec: spec) { done, total in reports.append((done, total, a.calibration != nil)) }
    let b = try ScoringSession(spec: spec)
    XCTAssertNil(a.calibration, "calibration waits for the first evaluation")
    try a.calibrate()
    XCTAssertEqual(reports.map(\.0), Array(1...8))
    XCTAssertTrue(reports.allSatisfy { $0.1 == 8 })
    XCTAssertEqual(reports.map(\.2), Array(repeating: false, count: 7) + [true])
    try b.calibrate()
    XCTAssertNotNil(a.calibration)
    XCTAssertEqual(a.calibration, b.calibration)
    XCTAssertEqual(a.scorers.count, 2)
    let second = try ProbeBatch.gaussian(batch: 8, shape: [3, 32, 32], classCount: 10, seed: spec.probeSeed(1))
    XCTAssertEqual(a.scorers[1].probe.images.storage, second.images.storage)
    XCTAssertEqual(a.scorers[0].probe.images.storage,
                   try ProbeBatch.gaussian(batch: 8, shape: [3, 32, 32], classCount: 10, seed: 5).images.storage)
    XCTAssertNotEqual(spec.probeSeed(1), spec.probeSeed(2))

    var draws = SeededGenerator(seed: 1)
    let g1 = a.space.sample(using: &draws), g2 = a.space.sample(using: &draws)
    let forward = [try a.evaluate(g1), try a.evaluate(g2)]
    let backward = [try b.evaluate(g2), try b.evaluate(g1)]
    XCTAssertEqual(forward[0].scores, backward[1].scores)
    XCTAssertEqual(forward[1].scores, backward[0].scores)
    XCTAssertEqual(Set(forward[0].scores.keys), ["ensemble", "nwot", "params"], "only the requested proxies are reported")

    // nwot is the mean over the two probe batches of the same initialised student.
    let student = try a.space.build(g1, classCount: 10)
    var rng = SeededGenerator(seed: ScoringSession.studentSeed(seed: 5, key: a.space.key(of: g1), repeat: 0))
    student.initialize(InitializationScheme.kaimingNormalFanOut, using: &rng)
    let perBatch = try a.scorers.map { try $0.score(student).scores["nwot"]! }
    XCTAssertEqual(forward[0].scores["nwot"]!, (perBatch[0] + perBatch[1]) / 2, accuracy: 1e-9 * abs(perBatch[0]))
    XCTAssertNotEqual(perBatch[0], perBatch[1])
  }

  /// With several draws (probe batches × initialisations) the ensemble is the mean of the
  /// draws' ensemble scores under a single-draw calibration — the same calibration a
  /// one-draw session of the same seed makes — not the ensemble of averaged components.
  func testEnsembleAveragesDrawsScoresUnderASingleDrawCalibration() throws {
    var spec = ScoringSpec(
      space: SearchSpaces.path("resnet-cifar-depth"), teacher: .init(name: "resnet20"), batch: 8,
      proxies: [.ensemble] + Proxy.ensembleComponents, seed: 7, repeats: 2, probes: 2, reference: .init(size: 8, seed: 1))
    let session = try ScoringSession(spec: spec)
    spec.probes = 1
    spec.repeats = 1
    let single = try ScoringSession(spec: spec)
    try session.calibrate()
    try single.calibrate()
    XCTAssertEqual(session.calibration, single.calibration, "the calibration is of one draw")
    let calibration = try XCTUnwrap(session.calibration)

    var rng = SeededGenerator(seed: 3)
    let g = session.space.sample(using: &rng)
    let evaluation = try session.evaluate(g)
    var draws: [[String: Double]] = []
    for r in 0..<2 {
      let student = try session.space.build(g, classCount: 10)
      var weights = SeededGenerator(seed: ScoringSession.studentSeed(seed: 7, key: session.space.key(of: g), repeat: r))
      student.initialize(InitializationScheme.kaimingNormalFanOut, using: &weights)
      for scorer in session.scorers { draws.append(try scorer.score(student).scores) }
    }
    let meanOfScores = draws.map(calibration.score).reduce(0, +) / 4
    XCTAssertEqual(evaluation.scores["ensemble"]!, meanOfScores, accuracy: 1e-12 * abs(meanOfScores))
    let meanComponents = Dictionary(uniqueKeysWithValues: Proxy.ensembleComponents.map { c in
      (c.rawValue, draws.map { $0[c.rawValue]! }.reduce(0, +) / 4)
    })
    XCTAssertNotEqual(evaluation.scores["ensemble"]!, calibration.score(meanComponents), "not the score of the mean")
    XCTAssertEqual(try single.evaluate(g).scores["ensemble"]!, calibration.score(draws[0]), accuracy: 1e-12)
  }

  /// Specs stored before `probes` and `reference` existed still decode, with the values
  /// they ran with; the checks name the field that is out of range.
  func testSpecDecodingAndValidation() throws {
    let old = #"{"space":"s","teacher":{"name":"resnet20"},"data":"gaussian","batch":16,"proxies":["diswot"],"seed":3,"repeats":1,"initialization":"kaiming-fan-out","force_class_gram":false}"#
    let spec = try JSONDecoder().decode(ScoringSpec.self, from: Data(old.utf8))
    XCTAssertEqual(spec.probes, 1)
    XCTAssertEqual(spec.reference, .init(size: 64, seed: 0))
    XCTAssertEqual(spec.probeSeed(0), 3)
    XCTAssertEqual(try JSONDecoder().decode(ScoringSpec.self, from: JSONEncoder().encode(spec)), spec)
    var bad = spec
    bad.probes = 0
    XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("probes"), "\($0)") }
    bad = spec
    bad.reference.size = 2
    XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("reference size"), "\($0)") }
    bad = spec
    bad.proxies = [.nwot, .nwot]
    XCTAssertThrowsError(try bad.validate())
    XCTAssertEqual(ScoringSpec(space: "s", teacher: .init()).proxies, [.ensemble], "the ensemble is the default")
    XCTAssertEqual(ScoringSpec(space: "s", teacher: .init()).repeats, 2, "two initialisations when the ensemble is measured")
    XCTAssertEqual(ScoringSpec(space: "s", teacher: .init(), proxies: [.meco, .ensemble]).repeats, 2)
    XCTAssertEqual(ScoringSpec(space: "s", teacher: .init(), proxies: [.diswot, .meco]).repeats, 1, "one, as published, otherwise")
    XCTAssertEqual(ScoringSpec(space: "s", teacher: .init(), repeats: 3).repeats, 3)
  }
}
