import Foundation
import DiswotJSON

/// `diswotd --http`'s front page: every search, training job and worker, from the same
/// objects `search.list`, `train.list` and `workers` return, each search and job linked to
/// its own page (`/searches/ID`, `/jobs/ID`).
public enum IndexPage {
  public static func render(searches: JSONValue, jobs: JSONValue, workers: JSONValue, daemon: String) -> String {
    let searchItems = searches.objectValue?["searches"]?.arrayValue ?? []
    let jobItems = jobs.objectValue?["jobs"]?.arrayValue ?? []
    let workerItems = workers.objectValue?["workers"]?.arrayValue ?? []
    let live = searchItems.contains { ["running", "paused"].contains($0.objectValue?["state"]?.stringValue ?? "") }
      || jobItems.contains { ["running", "queued"].contains($0.objectValue?["state"]?.stringValue ?? "") }
    var page = HTMLPage(title: "diswotd", refreshSeconds: live ? 5 : 30)
    page.paragraph(daemon, cssClass: "note")
    page.heading("Searches (\(searchItems.count))")
    page.table(
      headers: ["id", "name", "state", "space", "proxy", "evaluations", "best", "created"],
      rows: searchItems.map { item in
        let o = item.objectValue ?? [:]
        let id = o["id"]?.stringValue ?? "?"
        let best = o["best"]?.objectValue
        return [
          Cell(id, code: true, href: "/searches/\(percentEncode(id))"), Cell(o["name"]?.stringValue ?? ""),
          Cell(o["state"]?.stringValue ?? ""), Cell(o["space"]?.stringValue ?? ""), Cell(o["proxy"]?.stringValue ?? ""),
          Cell("\(o["evaluations"]?.intValue ?? 0)/\(o["budget"]?.intValue.map(String.init) ?? "?")", numeric: true),
          Cell(best.map { "\(formatNumber($0["score"]?.doubleValue ?? .nan)) \($0["key"]?.stringValue ?? "")" } ?? "", code: true),
          Cell(o["created"]?.stringValue ?? ""),
        ]
      })
    page.heading("Training jobs and teacher rankings (\(jobItems.count))")
    page.table(
      headers: ["id", "name", "state", "student", "epochs", "test accuracy", "created"],
      rows: jobItems.map { item in
        let o = item.objectValue ?? [:]
        let id = o["id"]?.stringValue ?? "?"
        let progress = o["progress"]?.objectValue
        let accuracy = o["result"]?.objectValue?["test_accuracy"]?.doubleValue ?? progress?["test_accuracy"]?.doubleValue
        let epoch = progress?["epoch"]?.intValue.map { "\($0)/" } ?? ""
        // A teacher ranking (`teachers.start`) has candidates where a training job has a student and epochs.
        let ranking = TeacherRankingReport.describes(item)
        let student = ranking
          ? "teacher ranking: \(o["request"]?.objectValue?["candidates"]?.arrayValue?.count ?? 0) candidates"
          : o["student"].map(studentText) ?? ""
        let epochs = ranking ? "" : "\(epoch)\(o["epochs"]?.intValue.map(String.init) ?? "?")"
        return [
          Cell(id, code: true, href: "/jobs/\(percentEncode(id))"), Cell(o["name"]?.stringValue ?? ""), Cell(o["state"]?.stringValue ?? ""),
          Cell(student, code: !ranking), Cell(epochs, numeric: true),
          Cell(accuracy.map { String(format: "%.2f %%", $0 * 100) } ?? "", numeric: true), Cell(o["created"]?.stringValue ?? ""),
        ]
      })
    page.heading("Workers (\(workerItems.count))")
    page.table(
      headers: ["id", "name", "version", "capabilities", "threads", "busy", "tasks done", "job", "quarantined"],
      rows: workerItems.map { item in
        let o = item.objectValue ?? [:]
        return [
          Cell(o["id"]?.stringValue ?? "", code: true), Cell(o["name"]?.stringValue ?? ""), Cell(o["version"]?.stringValue ?? ""),
          Cell((o["capabilities"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", ")),
          Cell("\(o["threads"]?.intValue ?? 0)", numeric: true), Cell(o["busy"] == .bool(true) ? "yes" : "no"),
          Cell("\(o["tasks_done"]?.intValue ?? 0)", numeric: true), Cell(o["job"]?.stringValue ?? "", code: true),
          Cell(o["quarantined"]?.stringValue ?? ""),
        ]
      })
    return page.render()
  }

  /// A student as `train.status` gives it: a model name, or space and architecture.
  static func studentText(_ student: JSONValue) -> String {
    guard let o = student.objectValue else { return "" }
    if let name = o["name"]?.stringValue { return name }
    return [o["space"]?.stringValue, o["arch"]?.compactText].compactMap { $0 }.joined(separator: " ")
  }
}

/// Percent-encodes everything but unreserved characters (RFC 3986), for ids in links.
public func percentEncode(_ text: String) -> String {
  var out = ""
  for byte in text.utf8 {
    switch byte {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
      UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
      out.unicodeScalars.append(Unicode.Scalar(byte))
    default: out += String(format: "%%%02X", byte)
    }
  }
  return out
}
