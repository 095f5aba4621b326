import DiswotFiles
import DiswotJSON
import Foundation

extension TrainingSpec {
  /// Reads a spec.json — a run directory's, or one written by hand for
  /// `diswot train --config` — strictly: a field the spec does not have is an error
  /// naming it, as in the daemon's `train.start`, so a misspelt setting never silently
  /// trains with its default. Ranges are left to `validate()`.
  public static func read(path: String) throws(TrainingError) -> TrainingSpec {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .invalidSpec("cannot read \(path)")
    }
    guard let json = JSONValue.parse(Array(data)) else { throw .invalidSpec("\(path) is not valid JSON") }
    let spec: TrainingSpec
    do {
      spec = try JSONDecoder().decode(TrainingSpec.self, from: data)
    } catch {
      throw .invalidSpec("\(path): \(describeDecodingError(error))")
    }
    guard let known = try? JSONValue.parse(Array(JSONText.data(spec))) else {
      throw .invalidSpec("\(path): cannot re-encode the spec")
    }
    if let unknown = json.firstUnknownMember(known: known, path: "spec") {
      throw .invalidSpec("\(path): unknown field '\(unknown.dropFirst("spec.".count))'")
    }
    return spec
  }

  /// Writes the spec as a run directory keeps it (pretty JSON, atomically).
  func write(path: String) throws {
    try DurableFile.writeAtomically(path: path, bytes: Array(try JSONText.data(self, pretty: true)))
  }
}
