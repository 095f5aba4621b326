import DiswotCommandLine
import DiswotData
import DiswotDistillation
import DiswotModels
import DiswotScoring
import Foundation

/// What `search start`, `train start` and `teachers start` check on this machine before asking the daemon:
/// a mistake the user can see here (a space that does not exist or does not load, an
/// architecture not in it, a missing file) is reported at once, not after waiting for a
/// daemon that may be down. The ranges were checked when the spec was built, by the same
/// `validate()` the daemon runs; the daemon checks everything again against its data root.
/// Each refusal exits 3, as the daemon's `invalid_argument` reply would.
enum LocalChecks {
  /// The space loads, the teacher's architecture (if given) is one of it, the teacher's
  /// weights and the probe data exist.
  static func scoring(_ spec: ScoringSpec) throws {
    let space = try searchSpace(spec.space)
    if let arch = spec.teacher.arch { _ = try space.footprint(of: try space.genotype(fromJSON: arch)) }
    if let weights = spec.teacher.weights { try exists(weights, "teacher weights") }
    try data(spec.data)
  }

  /// The dataset, unlabelled images and teacher weights exist; a student of a space is an architecture of it.
  static func training(_ spec: TrainingSpec) throws {
    try data(spec.data)
    if let unlabelled = spec.unlabelled { try exists(unlabelled, "unlabelled image directory") }
    if let teacher = spec.teacher { try exists(teacher.weights, "teacher weights") }
    for teacher in spec.moreTeachers ?? [] { try exists(teacher.weights, "teacher weights") }
    if let name = spec.student.space, let arch = spec.student.arch {
      let space = try searchSpace(name)
      _ = try space.footprint(of: try space.genotype(fromJSON: arch))
    }
  }

  /// The dataset and every candidate's weights exist.
  static func teachers(_ spec: TeacherRankingSpec) throws {
    try data(spec.data)
    for file in spec.candidates { try exists(file, "candidate weights") }
  }

  static func searchSpace(_ nameOrPath: String) throws -> SearchSpace {
    try SearchSpace.load(path: SearchSpaceLocator.resolve(nameOrPath))
  }

  /// A dataset's directory exists (`gaussian` needs none).
  static func data(_ text: String) throws {
    switch try DataSpec(parsing: text) {
    case .gaussian: break
    case .cifar10(let directory), .cifar100(let directory), .mnist(let directory), .folder(let directory): try exists(directory, "dataset directory")
    }
  }

  static func exists(_ path: String, _ what: String) throws {
    guard FileManager.default.fileExists(atPath: path) else { throw CommandLineError.data("\(what) \(path) does not exist") }
  }
}
