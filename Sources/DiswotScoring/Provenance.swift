import DiswotFiles
import DiswotJSON
import DiswotModels
import DiswotTensor

/// How a result was made, under the key `"spec"` of every search and training report
/// (`search --local --json`, `search.best`, `train --json` and its run directory's
/// `report.json`, `train.status`), in one shape everywhere: absent values are `null`, not
/// missing. The teacher's weights are named by their SHA-256, so a result can be traced
/// to the exact file even after it was moved or replaced.
public struct Provenance: Codable, Sendable, Equatable {
  /// The teacher as used: its architecture (a `ModelName`) and weights file.
  public struct Teacher: Codable, Sendable, Equatable {
    public var name: String
    /// The weights file as given (nil: randomly initialised from the seed).
    public var weights: String?
    /// SHA-256 of the weights file's bytes, hex.
    public var sha256: String?

    /// Hashes `weights` when given.
    public init(name: String, weights: String?) throws {
      self.name = name
      self.weights = weights
      sha256 = try weights.map { path throws in try SHA256.hex(ofFile: path) }
    }

    public func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(name, forKey: .name)
      try c.encode(weights, forKey: .weights)
      try c.encode(sha256, forKey: .sha256)
    }
  }

  /// The search space (name or file): of the search, or of a student trained from one.
  public var space: String?
  /// The student trained (a `ModelName`); null for searches.
  public var student: String?
  /// Null for training without a teacher.
  public var teacher: Teacher?
  /// The other teachers of a multi-teacher run, named and hashed as `teacher` is; null
  /// for searches and single-teacher runs.
  public var moreTeachers: [Teacher]?
  /// Probe data of a search (`gaussian`, `cifar10:DIR`), the dataset of a training run.
  public var data: String
  /// The directory of unlabelled images a run trained on (`train --unlabelled`, labelled
  /// by its teachers); null otherwise.
  public var unlabelled: String?
  public var seed: UInt64
  /// The proxy a search maximised; null for training.
  public var proxy: String?
  /// The diswot version that made the result.
  public var version: String

  public init(
    space: String?, student: String? = nil, teacher: Teacher?, moreTeachers: [Teacher]? = nil, data: String,
    unlabelled: String? = nil, seed: UInt64, proxy: String?, version: String
  ) {
    self.space = space
    self.student = student
    self.teacher = teacher
    self.moreTeachers = moreTeachers
    self.data = data
    self.unlabelled = unlabelled
    self.seed = seed
    self.proxy = proxy
    self.version = version
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(space, forKey: .space)
    try c.encode(student, forKey: .student)
    try c.encode(teacher, forKey: .teacher)
    try c.encode(moreTeachers, forKey: .moreTeachers)
    try c.encode(data, forKey: .data)
    try c.encode(unlabelled, forKey: .unlabelled)
    try c.encode(seed, forKey: .seed)
    try c.encode(proxy, forKey: .proxy)
    try c.encode(version, forKey: .version)
  }

  enum CodingKeys: String, CodingKey {
    case space, student, teacher, data, unlabelled, seed, proxy, version
    case moreTeachers = "more_teachers"
  }
}

extension Provenance {
  /// A search's or score's: the session's space, teacher (as it was built) and probe data.
  public init(session: ScoringSession, proxy: Proxy, version: String) throws {
    let spec = session.spec
    self.init(
      space: spec.space, teacher: try Teacher(name: session.teacherName, weights: spec.teacher.weights), data: spec.data,
      seed: spec.seed, proxy: proxy.rawValue, version: version)
  }

  /// A training run's, from its settings as `TrainingSpec`'s fields give them (a student
  /// by name or by space and JSON, a teacher by weights and optional name): the student
  /// and teacher named as `ModelName` prints them, read off the teacher's weights.
  /// `loadSpace` finds the spaces they name.
  public init(
    trainingSpace space: String?, studentName: String?, studentArch: JSONValue?, teacherWeights: String?,
    moreTeacherWeights: [String] = [], data: String, unlabelled: String? = nil, seed: UInt64, version: String,
    loadSpace: (String) throws -> SearchSpace = ModelName.loadSpace
  ) throws {
    let student: String
    var trainedSpace = space
    if let studentName {
      let name = try ModelName(parsing: studentName).resolve(loadSpace: loadSpace).name
      if case .architecture(let s, _) = name { trainedSpace = s }
      student = name.description
    } else if let space, let studentArch {
      let loaded = try loadSpace(space)
      student = ModelName.architecture(space: space, key: loaded.key(of: try loaded.genotype(fromJSON: studentArch))).description
    } else {
      student = "?"
    }
    let named = { (path: String) throws -> Teacher in
      try Teacher(name: ModelZoo.architecture(of: try SafetensorsFile.read(path: path), loadSpace: loadSpace).name.description, weights: path)
    }
    self.init(
      space: trainedSpace, student: student, teacher: try teacherWeights.map(named),
      moreTeachers: moreTeacherWeights.isEmpty ? nil : try moreTeacherWeights.map(named), data: data, unlabelled: unlabelled,
      seed: seed, proxy: nil, version: version)
  }
}
