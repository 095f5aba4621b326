import DiswotData
import DiswotDistillation
import DiswotJSON
import DiswotModels
import DiswotScoring
import DiswotSearch
import DiswotTensor
import DiswotWire
import Foundation

/// Reading and checking request bodies. Every failure is a `WireError` the daemon sends
/// back (`invalid_argument` unless said otherwise); nothing here allocates in proportion
/// to a number taken from the request before that number was checked.
enum RequestValidation {
  /// Largest `k` of `search.best`.
  static let maxBest = 10_000

  /// Rejects members other than `allowed`.
  static func checkMembers(_ body: [String: JSONValue], allowed: Set<String>, command: String) throws(WireError) {
    if let unknown = body.keys.sorted().first(where: { !allowed.contains($0) }) {
      throw WireError(.invalidArgument, "\(command): unknown field '\(unknown)' (known: \(allowed.sorted().joined(separator: ", ")))")
    }
  }

  /// A required id field (`id`, `search_id`).
  static func id(_ body: [String: JSONValue], _ field: String = "id") throws(WireError) -> String {
    guard let value = body[field] else { throw WireError(.invalidArgument, "missing field '\(field)'") }
    guard let id = value.stringValue, (1...64).contains(id.utf8.count),
      id.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
    else { throw WireError(.invalidArgument, "field '\(field)' must be an id (1-64 printable characters)") }
    return id
  }

  /// An optional display name.
  static func name(_ body: [String: JSONValue]) throws(WireError) -> String? {
    guard let value = body["name"], value != .null else { return nil }
    guard let name = value.stringValue, name.utf8.count <= 128 else {
      throw WireError(.invalidArgument, "field 'name' must be a string of at most 128 bytes")
    }
    return name
  }

  // MARK: search.start

  /// A checked `search.start`: the stored document (paths resolved), the space and a fresh engine.
  static func searchStart(
    _ body: [String: JSONValue], dataRoot: DataRoot
  ) throws(WireError) -> (document: SearchDocument, space: SearchSpace, engine: SearchEngine) {
    try checkMembers(body, allowed: ["scoring", "search", "constraints", "name"], command: "search.start")
    guard let scoringJSON = body["scoring"] else { throw WireError(.invalidArgument, "missing field 'scoring'") }
    guard let searchJSON = body["search"] else { throw WireError(.invalidArgument, "missing field 'search'") }
    var scoring = try JSONCoding.decodeStrict(ScoringSpec.self, from: scoringJSON, path: "scoring")
    let configuration = try JSONCoding.decodeStrict(SearchConfiguration.self, from: searchJSON, path: "search")
    let constraints = try body["constraints"].flatMap { $0 == .null ? nil : $0 }.map { value throws(WireError) in
      try JSONCoding.decodeStrict(Constraints.self, from: value, path: "constraints")
    } ?? Constraints()

    let (space, teacherName) = try checkScoring(&scoring, dataRoot: dataRoot)
    do { try configuration.validate() } catch { throw WireError(.invalidArgument, "search: \(error)") }
    do { try constraints.validate() } catch {
      guard case .invalidConfiguration(let message) = error else { throw WireError(.invalidArgument, "constraints: \(error)") }
      throw WireError(.invalidArgument, "constraints.\(message)")
    }
    let engine: SearchEngine
    do { engine = try SearchEngine(configuration: configuration) } catch { throw WireError(.invalidArgument, "search: \(error)") }
    let provenance: Provenance
    do {
      provenance = Provenance(
        space: scoring.space, teacher: try .init(name: teacherName, weights: scoring.teacher.weights), data: scoring.data,
        seed: scoring.seed, proxy: scoring.proxies.first?.rawValue, version: WireProtocol.softwareVersion)
    } catch { throw WireError(.invalidArgument, "scoring.teacher.weights: \(error)") }
    let document = SearchDocument(
      scoring: scoring, search: configuration, constraints: constraints, name: try name(body), provenance: provenance)
    return (document, space, engine)
  }

  /// Checks a scoring spec field by field and resolves its paths; returns the space and
  /// the teacher's name (`ModelName`'s form, read off its weights when it has them).
  static func checkScoring(_ scoring: inout ScoringSpec, dataRoot: DataRoot) throws(WireError) -> (SearchSpace, String) {
    let (spaceSpec, spaceFile) = try dataRoot.resolveSpace(scoring.space)
    scoring.space = spaceSpec
    let space: SearchSpace
    do { space = try SearchSpace.load(path: spaceFile) } catch { throw WireError(.invalidArgument, "scoring.space: \(error)") }
    // The same checks `score`, `search --local` and `quality` run (ScoringSpec.validate).
    do { try scoring.validate() } catch { throw WireError(.invalidArgument, "scoring: \(error)") }
    scoring.data = try dataRoot.resolveData(scoring.data, what: "scoring.data")
    let teacher = scoring.teacher
    var teacherName = ""
    if let arch = teacher.arch {
      guard teacher.name == nil else { throw WireError(.invalidArgument, "scoring.teacher: give a name or an architecture, not both") }
      // Checked as `build` would, without allocating it (the memory check follows).
      do {
        let g = try space.genotype(fromJSON: arch)
        _ = try space.footprint(of: g)
        teacherName = ModelName.architecture(space: space.name, key: space.key(of: g)).description
      } catch { throw WireError(.invalidArgument, "scoring.teacher.arch: \(error)") }
    }
    if let name = teacher.name {
      scoring.teacher.name = try modelName(name, dataRoot: dataRoot, field: "scoring.teacher.name")
    }
    if let weights = teacher.weights {
      let path = try dataRoot.resolve(weights, what: "scoring.teacher.weights")
      scoring.teacher.weights = path
      if teacher.arch == nil {
        do {
          let file = try SafetensorsFile.read(path: path)
          teacherName = try ModelZoo.architecture(of: file, named: scoring.teacher.name, loadSpace: dataRoot.loadSpace).name.description
        } catch { throw WireError(.invalidArgument, "scoring.teacher: \(error)") }
      }
    } else if teacher.arch == nil {
      do { teacherName = try scoring.namedTeacher(space: space, loadSpace: dataRoot.loadSpace).name.description } catch {
        throw WireError(.invalidArgument, "scoring.teacher: \(error)")
      }
    }
    return (space, teacherName)
  }

  // MARK: train.start

  /// A checked `train.start` spec (student not yet filled in from a search).
  static func trainingSpec(_ value: JSONValue, dataRoot: DataRoot) throws(WireError) -> TrainingSpec {
    var spec = try JSONCoding.decodeStrict(TrainingSpec.self, from: value, path: "spec")
    spec.data = try dataRoot.resolveData(spec.data, what: "spec.data")
    if let unlabelled = spec.unlabelled { spec.unlabelled = try dataRoot.resolve(unlabelled, what: "spec.unlabelled") }
    if let teacher = spec.teacher {
      let path = try dataRoot.resolve(teacher.weights, what: "spec.teacher.weights")
      spec.teacher?.weights = path
      if let name = teacher.name { spec.teacher?.name = try modelName(name, dataRoot: dataRoot, field: "spec.teacher.name") }
      do {
        _ = try ModelZoo.architecture(of: try SafetensorsFile.read(path: path), named: spec.teacher?.name, loadSpace: dataRoot.loadSpace)
      } catch { throw WireError(.invalidArgument, "spec.teacher: \(error)") }
    }
    for (i, teacher) in (spec.moreTeachers ?? []).enumerated() {
      let field = "spec.more_teachers[\(i)]"
      let path = try dataRoot.resolve(teacher.weights, what: field + ".weights")
      spec.moreTeachers?[i].weights = path
      if let name = teacher.name { spec.moreTeachers?[i].name = try modelName(name, dataRoot: dataRoot, field: field + ".name") }
      do {
        _ = try ModelZoo.architecture(of: try SafetensorsFile.read(path: path), named: spec.moreTeachers?[i].name, loadSpace: dataRoot.loadSpace)
      } catch { throw WireError(.invalidArgument, "\(field): \(error)") }
    }
    return spec
  }

  // MARK: teachers.start

  /// A checked `teachers.start` spec, paths resolved inside the data root: the checks of
  /// `diswot teachers` (`TeacherRankingSpec.validate`, `TeacherRanking`'s against the data
  /// and every candidate's file), answered as `invalid_argument`.
  static func teacherRanking(_ value: JSONValue, dataRoot: DataRoot) throws(WireError) -> TeacherRankingSpec {
    var spec = try JSONCoding.decodeStrict(TeacherRankingSpec.self, from: value, path: "spec")
    do { try spec.validate() } catch { throw WireError(.invalidArgument, "spec: \(error)") }
    spec.data = try dataRoot.resolveData(spec.data, what: "spec.data")
    for i in spec.candidates.indices {
      spec.candidates[i] = try dataRoot.resolve(spec.candidates[i], what: "spec.candidates[\(i)]")
    }
    do {
      try spec.validate()  // again: two names of one file are one candidate twice
      try TeacherRanking(spec).checkCandidates()
    } catch { throw WireError(.invalidArgument, "spec: \(error)") }
    return spec
  }

  /// How a checked training job's student is made (`Provenance`), its teacher's weights
  /// hashed on arrival.
  static func provenance(of spec: TrainingSpec, dataRoot: DataRoot) throws(WireError) -> Provenance {
    do {
      return try Provenance(
        trainingSpace: spec.student.space, studentName: spec.student.name, studentArch: spec.student.arch,
        teacherWeights: spec.teacher?.weights, moreTeacherWeights: (spec.moreTeachers ?? []).map(\.weights), data: spec.data,
        unlabelled: spec.unlabelled, seed: spec.seed, version: WireProtocol.softwareVersion,
        loadSpace: dataRoot.loadSpace)
    } catch { throw WireError(.invalidArgument, "spec: \(error)") }
  }

  /// A model name (`ModelName`'s scheme) with the space it may name resolved as the
  /// request's `space` fields are (a shipped name, or a file inside the data root).
  static func modelName(_ text: String, dataRoot: DataRoot, field: String) throws(WireError) -> String {
    do {
      return try ModelName(parsing: text).mapSpace { try dataRoot.resolveSpace($0).spec }.description
    } catch let error as WireError {
      throw WireError(error.code, "\(field): \(error.message)")
    } catch {
      throw WireError(.invalidArgument, "\(field): \(error)")
    }
  }

  /// Checks a complete training spec (student included): `TrainingSpec.validate()`, the
  /// one check `diswot train` runs too, then what needs files (the student's network).
  static func checkStudent(_ spec: inout TrainingSpec, dataRoot: DataRoot) throws(WireError) {
    do { try spec.validate() } catch { throw WireError(.invalidArgument, "spec: \(error)") }
    if let name = spec.student.name {
      spec.student.name = try modelName(name, dataRoot: dataRoot, field: "spec.student.name")
      let shortcut = ShortcutType(rawValue: (spec.student.shortcut ?? "A").uppercased())
      guard let shortcut else { throw WireError(.invalidArgument, "spec.student.shortcut must be A or B") }
      do { _ = try ModelName(parsing: spec.student.name!).resolve(shortcut: shortcut, loadSpace: dataRoot.loadSpace) } catch {
        throw WireError(.invalidArgument, "spec.student.name: \(error)")
      }
    } else if let spaceName = spec.student.space, let arch = spec.student.arch {
      let (spaceSpec, file) = try dataRoot.resolveSpace(spaceName)
      spec.student.space = spaceSpec
      do {
        let space = try SearchSpace.load(path: file)
        _ = try space.footprint(of: try space.genotype(fromJSON: arch))  // checked as built, nothing allocated
      } catch { throw WireError(.invalidArgument, "spec.student.arch: \(error)") }
    }
  }
}
