import DiswotJSON
import Foundation

/// The page of a daemon's teacher ranking (`teachers.start`): its state, then the
/// ranking as `diswot teachers` prints it, and the request that produced it. Built from
/// the job's status object alone (`train.status` of a job of kind `teachers`), so the
/// daemon's page and `diswot report ID` show the same thing; reloads every 5 s while the
/// ranking is queued or running.
public struct TeacherRankingReport {
  public var status: [String: JSONValue]

  /// Whether `status` (a `train.status` object) is a teacher ranking's rather than a training job's.
  public static func describes(_ status: JSONValue) -> Bool { status.objectValue?["kind"]?.stringValue == "teachers" }

  public init(status: JSONValue) { self.status = status.objectValue ?? [:] }

  public func render() -> String {
    let state = status["state"]?.stringValue ?? "?"
    let id = status["id"]?.stringValue ?? "?"
    var page = HTMLPage(
      title: "Teacher ranking \(id)" + (status["name"]?.stringValue.map { " — \($0)" } ?? ""),
      refreshSeconds: state == "queued" || state == "running" ? 5 : nil)
    var summary: [(String, String)] = [("state", state)]
    if let p = status["progress"]?.objectValue, let candidate = p["candidate"]?.intValue, let candidates = p["candidates"]?.intValue {
      var line = "candidate \(candidate)/\(candidates)"
      if let done = p["images"]?.intValue, let of = p["of"]?.intValue { line += ", image \(done)/\(of)" }
      summary.append(("progress", line))
    }
    if let data = status["data"]?.stringValue { summary.append(("data", data)) }
    if let worker = status["worker"]?.stringValue { summary.append(("worker", worker)) }
    if let error = status["error"]?.stringValue { summary.append(("error", error)) }
    summary.append(("created", status["created"]?.stringValue ?? "?"))
    summary.append(("updated", status["updated"]?.stringValue ?? "?"))
    page.table(headers: ["", ""], rows: summary.map { [Cell($0.0), Cell($0.1)] }, cssClass: "summary")

    if let result = status["result"]?.objectValue, let candidates = result["candidates"]?.arrayValue {
      let k = result["k"]?.intValue.map(String.init) ?? "?"
      let samples = result["samples"]?.intValue.map(String.init) ?? "?"
      page.heading("Ranking")
      let measure = result["measure"]?.stringValue ?? "?"
      let ranked = measure == "label-log-likelihood"
        ? "the mean log-likelihood each candidate's own classifier gives the true labels"
        : "the leave-one-out \(k)-nearest-neighbour accuracy of each candidate's pooled features"
      page.paragraph(
        "Ranked by \(ranked) on \(samples) images (\(measure)); higher is better; ±se: the score's standard error over those images. kNN: that accuracy; head: the candidate's "
          + "own classifier's top-1 on the same images, and log-lik the mean log-probability it gives the true label, when "
          + "its classes are the data's.")
      page.table(
        headers: ["rank", "score", "±se", "kNN", "head", "log-lik", "model", "classes", "seconds", "weights", "note"],
        rows: candidates.map { Self.row($0.objectValue ?? [:]) })
    } else if state == "queued" || state == "running" {
      page.paragraph("The ranking appears here when every candidate has been scored.", cssClass: "note")
    }
    page.heading("Request")
    page.specTable(status["request"])
    return page.render()
  }

  /// One candidate's row, as `diswot teachers` prints it.
  private static func row(_ c: [String: JSONValue]) -> [Cell] {
    let rank = c["rank"]?.intValue.map(String.init) ?? "?"
    let classes = c["classes"]?.intValue.map(String.init) ?? "?"
    let seconds = c["seconds"]?.doubleValue.map { format($0, digits: 1) } ?? "-"
    return [
      Cell(rank, numeric: true), Cell(fixed(c["score"]?.doubleValue), numeric: true), Cell(fixed(c["score_se"]?.doubleValue), numeric: true),
      Cell(fixed(c["knn_accuracy"]?.doubleValue), numeric: true), Cell(fixed(c["head_accuracy"]?.doubleValue), numeric: true),
      Cell(fixed(c["label_log_likelihood"]?.doubleValue), numeric: true), Cell(c["model"]?.stringValue ?? "?", code: true),
      Cell(classes, numeric: true), Cell(seconds, numeric: true), Cell(c["weights"]?.stringValue ?? "?", code: true),
      Cell(c["note"]?.stringValue ?? ""),
    ]
  }

  private static func fixed(_ value: Double?) -> String { value.map { format($0, digits: 4) } ?? "-" }

  private static func format(_ value: Double, digits: Int) -> String {
    value.isFinite ? String(format: "%.\(digits)f", value) : "-"
  }
}
