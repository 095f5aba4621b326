import DiswotJSON
import DiswotLog
import DiswotReport
import DiswotWire

// `diswotd --http`: the pages of `diswot report`, live. Built on the daemon's thread from
// the same objects the client commands return (`search.status`/`search.best`,
// `train.status`/`train.metrics`, `search.list`, `train.list`, `workers`), so a page and
// `diswot report ID` show the same thing. Pages of running searches and jobs reload every
// 5 s; nothing here changes any state.

extension Daemon {
  func page(for request: HTTPRequest) -> HTTPResponse {
    let segments = request.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
    do {
      if segments == [""] {
        let html = IndexPage.render(
          searches: try searchList(limit: 1000), jobs: try jobList(limit: 1000),
          workers: ["workers": .array(workers.values.sorted { $0.joinedAt < $1.joinedAt }.map(workerJSON))],
          daemon: "diswotd \(WireProtocol.softwareVersion): clients \(clientEndpoint), workers \(workerEndpoint), events \(eventEndpoint); state \(stateDirectory)")
        return HTTPResponse(.ok, html: html)
      }
      if segments.count == 2, Self.isID(segments[1]) {
        let id = segments[1]
        if segments[0] == "searches" {
          let status = try searchStatus(id)
          // Every evaluation up to search.best's 10000 (a bigger page would stall the loop).
          let k = min(RequestValidation.maxBest, max(1, status.objectValue?["evaluations"]?.intValue ?? 1))
          return HTTPResponse(.ok, html: try SearchReport(status: status, best: try searchBest(id, k: k, pareto: false)).render())
        }
        if segments[0] == "jobs" {
          let status = try jobStatus(id)
          if TeacherRankingReport.describes(status) { return HTTPResponse(.ok, html: TeacherRankingReport(status: status).render()) }
          return HTTPResponse(.ok, html: try TrainingReport(job: status, metrics: try jobMetrics(id)).render())
        }
      }
      return .error(.notFound, "no page here; the pages are /, /searches/ID and /jobs/ID")
    } catch let error as WireError where error.code == .notFound {
      return .error(.notFound, error.message)
    } catch {
      Log.error("HTTP \(request.path): \(error)")
      return .error(.internalServerError, "\(error)")
    }
  }

  /// Ids as the store makes them (letters, digits, `.`, `_`, `-`; at most 64).
  static func isID(_ text: String) -> Bool {
    !text.isEmpty && text.utf8.count <= 64
      && text.unicodeScalars.allSatisfy { $0.properties.isASCIIHexDigit || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || "._-".unicodeScalars.contains($0) }
  }
}
