import DiswotJSON
import DiswotScoring

/// A report's input was not what it should be (a line without a key, no proxy, …).
public struct ReportInputError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

extension SearchReport {
  /// From the daemon's `search.best` reply (with `pareto` or not; every item has `index`)
  /// and, when known, its `search.status`: what `diswot report ID` and `diswotd --http` show.
  public init(status: JSONValue?, best reply: JSONValue) throws(ReportInputError) {
    guard let object = reply.objectValue, let items = object["best"]?.arrayValue else {
      throw ReportInputError("the daemon's search.best reply has no 'best' list")
    }
    let proxy = object["proxy"]?.stringValue ?? "score"
    var candidates: [Candidate] = []
    for item in items {
      guard let e = item.objectValue, let key = e["key"]?.stringValue, let score = e["score"]?.doubleValue,
        let params = e["params"]?.intValue, let macs = e["macs"]?.intValue
      else { throw ReportInputError("an evaluation of the search.best reply lacks key, score, params or macs") }
      let objective = e["objective"]?.doubleValue ?? ((Proxy(rawValue: proxy)?.higherIsBetter ?? true) ? score : -score)
      candidates.append(Candidate(key: key, score: score, objective: objective, params: params, macs: macs, index: e["index"]?.intValue))
    }
    let id = object["id"]?.stringValue ?? "?"
    self.init(
      title: "Search \(id)", proxy: proxy, candidates: candidates, totalEvaluations: object["evaluations"]?.intValue,
      spec: object["spec"])
    unscorable = (object["unscorable"]?.arrayValue ?? []).compactMap { u in
      u.objectValue.flatMap { o in o["key"]?.stringValue.map { ($0, o["reason"]?.stringValue ?? "") } }
    }
    if let s = status?.objectValue {
      if let name = s["name"]?.stringValue { title += " — \(name)" }
      summary = [
        ("state", s["state"]?.stringValue ?? "?"), ("space", s["space"]?.stringValue ?? "?"),
        ("strategy", s["strategy"]?.stringValue ?? "?"),
        ("budget", "\(s["spent"]?.intValue.map { "\($0) spent of " } ?? "")\(s["budget"]?.intValue.map(String.init) ?? "?")"),
        ("engine", s["engine_status"]?.stringValue ?? "?"), ("created", s["created"]?.stringValue ?? "?"),
        ("updated", s["updated"]?.stringValue ?? "?"),
      ]
      if let error = s["error"]?.stringValue { summary.append(("error", error)) }
      if let state = s["state"]?.stringValue, state == "running" || state == "paused" { refreshSeconds = 5 }
    }
  }

  /// From JSON lines as `search --local --jsonl`, `score --jsonl` or `quality --jsonl`
  /// write them (one evaluation each, in order; unscorable ones carry `unscorable`), the
  /// objective `proxy` (nil: the only proxy the lines hold, or the spec's), and the `spec`
  /// of the run when given (`search --local --json`'s `spec`).
  public init(lines: [JSONValue], source: String, proxy: String?, spec: JSONValue?) throws(ReportInputError) {
    var proxies = Set<String>()
    for line in lines {
      if let scores = line.objectValue?["scores"]?.objectValue { proxies.formUnion(scores.keys) }
    }
    let chosenProxy: String
    if let proxy {
      guard proxies.contains(proxy) else {
        throw ReportInputError("\(source) has no '\(proxy)' scores (it has: \(proxies.sorted().joined(separator: ", ")))")
      }
      chosenProxy = proxy
    } else if proxies.count == 1 {
      chosenProxy = proxies.first!
    } else if let p = spec?.objectValue?["proxy"]?.stringValue, proxies.contains(p) {
      chosenProxy = p
    } else {
      throw ReportInputError("\(source) holds several proxies (\(proxies.sorted().joined(separator: ", "))): say which one the report ranks by with --proxy")
    }
    let higher = Proxy(rawValue: chosenProxy)?.higherIsBetter ?? true
    var candidates: [Candidate] = []
    var unscorable: [(String, String)] = []
    for (number, line) in lines.enumerated() {
      guard let e = line.objectValue, let key = e["key"]?.stringValue else {
        throw ReportInputError("\(source):\(number + 1): not an evaluation (needs 'key' and 'scores')")
      }
      let score = e["scores"]?.objectValue?[chosenProxy]?.doubleValue ?? .nan
      if let reason = e["unscorable"]?.stringValue ?? (score.isFinite ? nil : "its \(chosenProxy) score is not finite") {
        unscorable.append((key, reason))
        continue
      }
      guard let params = e["params"]?.intValue, let macs = e["macs"]?.intValue else {
        throw ReportInputError("\(source):\(number + 1): an evaluation needs integer 'params' and 'macs'")
      }
      candidates.append(Candidate(
        key: key, score: score, objective: higher ? score : -score, params: params, macs: macs, index: candidates.count + 1))
    }
    self.init(title: "Search report: \(source)", proxy: chosenProxy, candidates: candidates, spec: spec)
    self.unscorable = unscorable
  }
}
