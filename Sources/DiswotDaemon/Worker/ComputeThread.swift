import DiswotLog
import DiswotData
import DiswotDistillation
import DiswotJSON
import DiswotModels
import DiswotScoring
import DiswotTensor
import DiswotWire
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The worker's computing half: one thread that scores TASKs and runs TRAIN and TEACHERS jobs, one at a
/// time, while the socket thread keeps heartbeating. Work arrives through `submit`; every
/// message it produces (RESULT, PROGRESS, DONE) goes back over an `inproc://` PAIR socket,
/// tagged with the connection it belongs to so nothing computed for a lost connection is
/// sent on a new one.
///
/// `@unchecked Sendable`: the queue and cancellation flags are guarded by `lock`; the PAIR
/// socket and the session cache are touched only by the thread.
final class ComputeThread: @unchecked Sendable {
  enum Item {
    case task(WorkerTask, connection: Int)
    case train(TrainJob, connection: Int)
    case teachers(TeachersJob, connection: Int)

    var connection: Int {
      switch self {
      case .task(_, let c), .train(_, let c), .teachers(_, let c): c
      }
    }
  }

  private let lock = NSLock()
  private let available = DispatchSemaphore(value: 0)
  private let finished = DispatchSemaphore(value: 0)
  private var queue: [Item] = []
  private var cancelledTasks: Set<String> = []
  private var cancelledJobs: Set<String> = []
  /// Work of connections numbered below this is cancelled.
  private var liveConnection = 0
  private var stopping = false
  private var busy = false

  private let configuration: WorkerConfiguration
  private let outbox: ZMQSocket
  /// Scoring sessions by the compact text of their spec (teacher and probe built once).
  private var sessions: [(key: String, session: ScoringSession)] = []
  /// The TASK being scored, which a session's calibration progress belongs to.
  private var current: (taskID: String, connection: Int)?

  init(configuration: WorkerConfiguration, outbox: ZMQSocket) {
    self.configuration = configuration
    self.outbox = outbox
  }

  func start() {
    let thread = Thread { [self] in
      loop()
      outbox.close()
      finished.signal()
    }
    thread.name = "diswot-compute"
    thread.stackSize = 8 << 20
    thread.start()
  }

  func submit(_ item: Item) {
    lock.withLock { queue.append(item) }
    available.signal()
  }

  func cancel(taskID: String) { lock.withLock { _ = cancelledTasks.insert(taskID) } }
  func cancel(jobID: String) { lock.withLock { _ = cancelledJobs.insert(jobID) } }

  /// Cancels everything of connections before `connection` (the daemon was lost).
  func cancelConnections(before connection: Int) {
    lock.withLock {
      liveConnection = connection
      queue.removeAll { $0.connection < connection }
    }
  }

  var isBusy: Bool { lock.withLock { busy || !queue.isEmpty } }

  /// Stops after the current item (which is cancelled); waits up to `seconds`.
  @discardableResult
  func stop(waitingUpTo seconds: Double) -> Bool {
    lock.withLock {
      stopping = true
      queue.removeAll()
    }
    available.signal()
    return finished.wait(timeout: .now() + seconds) == .success
  }

  private func isCancelled(_ item: Item) -> Bool {
    lock.withLock {
      if stopping || item.connection < liveConnection { return true }
      switch item {
      case .task(let t, _): return cancelledTasks.contains(t.taskID)
      case .train(let j, _): return cancelledJobs.contains(j.jobID)
      case .teachers(let j, _): return cancelledJobs.contains(j.jobID)
      }
    }
  }

  private func loop() {
    while true {
      available.wait()
      let next: Item? = lock.withLock {
        if stopping { return nil }
        guard !queue.isEmpty else { return nil }
        busy = true
        return queue.removeFirst()
      }
      if lock.withLock({ stopping }) { return }
      guard let item = next else { continue }
      switch item {
      case .task(let task, let connection): score(task, connection: connection, item: item)
      case .train(let job, let connection): train(job, connection: connection, item: item)
      case .teachers(let job, let connection): rankTeachers(job, connection: connection, item: item)
      }
      lock.withLock {
        busy = false
        switch item {
        case .task(let t, _): cancelledTasks.remove(t.taskID)
        case .train(let j, _): cancelledJobs.remove(j.jobID)
        case .teachers(let j, _): cancelledJobs.remove(j.jobID)
        }
      }
    }
  }

  private func send(_ message: WorkerMessage, connection: Int) {
    try? outbox.send(frames: [Array("\(connection)".utf8)] + WireMessage.encode(message))
  }

  // MARK: - Scoring

  private func session(for scoring: [String: JSONValue]) throws -> ScoringSession {
    let key = JSONValue.object(scoring).compactText
    if let i = sessions.firstIndex(where: { $0.key == key }) {
      let hit = sessions.remove(at: i)
      sessions.append(hit)
      return hit.session
    }
    let spec = try JSONDecoder().decode(ScoringSpec.self, from: Data(key.utf8))
    let start = Monotonic.milliseconds()
    // The ensemble's calibration (twice its reference sample) can take longer than a
    // lease: each step is a PROGRESS of the task that asked for it.
    let session = try ScoringSession(spec: spec, memoryLimit: configuration.maxMemory) { [unowned self] done, total in
      if let current { self.send(WorkerMessage(TaskProgress(taskID: current.taskID, stage: "calibration", done: done, total: total)), connection: current.connection) }
    }
    Log.info("scoring session ready in \(Monotonic.milliseconds() - start) ms: \(session.space.name) against \(session.teacherDescription), probe \(spec.data) batch \(spec.batch)")
    sessions.append((key, session))
    if sessions.count > 2 { sessions.removeFirst() }
    return session
  }

  private func score(_ task: WorkerTask, connection: Int, item: Item) {
    current = (task.taskID, connection)
    defer { current = nil }
    var results: [CandidateResult] = []
    let session: ScoringSession
    do {
      session = try self.session(for: task.scoring)
    } catch {
      Log.error("cannot set up scoring for search \(task.searchID): \(error)")
      let failure = WireError(.invalidArgument, "cannot set up scoring: \(error)")
      send(WorkerMessage(TaskResult(taskID: task.taskID, results: task.candidates.map {
        CandidateResult(key: $0.key, scores: [:], seconds: 0, error: failure)
      })), connection: connection)
      return
    }
    for (i, candidate) in task.candidates.enumerated() {
      if i > 0 {  // each PROGRESS renews the task's lease; the last candidate's RESULT follows
        send(WorkerMessage(TaskProgress(taskID: task.taskID, stage: "scoring", done: i, total: task.candidates.count)), connection: connection)
      }
      if isCancelled(item) {
        Log.debug("task \(task.taskID) cancelled")
        return
      }
      let start = ContinuousClock.now
      do {
        let genotype = try session.space.genotype(fromJSON: candidate.genotype)
        let key = session.space.key(of: genotype)
        guard key == candidate.key else {
          throw WireError(.invalidArgument, "the genotype's key is \(key), not \(candidate.key)")
        }
        let evaluation = try session.evaluate(genotype)
        results.append(CandidateResult(
          key: candidate.key, scores: evaluation.scores, params: evaluation.params, macs: evaluation.macs,
          seconds: evaluation.seconds))
      } catch {
        let elapsed = ContinuousClock.now - start
        // Over this worker's --max-memory: the daemon may try a worker with more.
        let failure = if case ScoringError.tooLarge(let why) = error { WireError(.tooLarge, why) } else { WireError(.invalidArgument, "\(error)") }
        results.append(CandidateResult(
          key: candidate.key, scores: [:], seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18,
          error: failure))
      }
    }
    send(WorkerMessage(TaskResult(taskID: task.taskID, results: results)), connection: connection)
  }

  // MARK: - Training

  private func train(_ job: TrainJob, connection: Int, item: Item) {
    let done = { (outcome: Result<[String: JSONValue], WireError>) in
      self.send(WorkerMessage(JobDone(jobID: job.jobID, outcome: outcome)), connection: connection)
    }
    guard let directory = job.directory ?? configuration.jobsDirectory.map({ $0 + "/" + job.jobID }) else {
      done(.failure(WireError(.invalidArgument, "no run directory: the daemon named none and this worker has no --jobs-dir")))
      return
    }
    // One trainer per run directory, across processes: a worker the daemon gave up on may
    // still be checkpointing when another one is told to resume.
    let fm = FileManager.default
    do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
      done(.failure(WireError(.invalidArgument, "cannot create \(directory): \(error)")))
      return
    }
    let lockFD = open(directory + "/.lock", O_RDWR | O_CREAT, 0o644)
    defer { if lockFD >= 0 { close(lockFD) } }
    let lockDeadline = Monotonic.milliseconds() + configuration.lockWaitMilliseconds
    while lockFD >= 0 && flock(lockFD, LOCK_EX | LOCK_NB) != 0 {
      if isCancelled(item) { return }
      if Monotonic.milliseconds() > lockDeadline {
        done(.failure(WireError(.unavailable, "\(directory) is in use by another trainer")))
        return
      }
      usleep(100_000)
    }

    let checkpoint = directory + "/checkpoint.json"
    let resume = fm.fileExists(atPath: checkpoint)
    var resumedFrom: (epoch: Int, step: Int)?
    let trainer: Trainer
    do {
      if resume {
        let state = try TrainingState.read(from: checkpoint)
        resumedFrom = (state.epoch, state.stepInEpoch)
        Log.info("job \(job.jobID): resuming from its last checkpoint, epoch \(state.epoch) step \(state.stepInEpoch) (global step \(state.globalStep)) in \(directory)")
        trainer = try Trainer(spec: nil, directory: directory, resume: true, memoryLimit: configuration.maxMemory)
      } else {
        // A run killed before its first checkpoint starts over.
        for name in ["spec.json", "metrics.jsonl"] where fm.fileExists(atPath: directory + "/" + name) {
          try fm.removeItem(atPath: directory + "/" + name)
        }
        let spec = try JSONDecoder().decode(TrainingSpec.self, from: Data(JSONValue.object(job.spec).compactText.utf8))
        Log.info("job \(job.jobID): training from scratch in \(directory)")
        trainer = try Trainer(spec: spec, directory: directory, resume: false, memoryLimit: configuration.maxMemory)
      }
    } catch {
      Log.error("job \(job.jobID): \(error)")
      done(.failure(WireError(error is TrainingError || error is DatasetError ? .invalidArgument : .internal, "\(error)")))
      return
    }

    trainer.onSkippedImage = { Log.warning("job \(job.jobID): skipped \($0): not decodable") }
    var lastSent = 0
    var lastEpoch = -1
    var testAccuracy: Double?
    do {
      let result = try trainer.run(
        progress: { p in
          let now = Monotonic.milliseconds()
          let newEpoch = p.epoch != lastEpoch
          if newEpoch {
            lastEpoch = p.epoch
            testAccuracy = Self.lastTestAccuracy(directory: directory) ?? testAccuracy
          }
          guard newEpoch || p.step == p.steps || now - lastSent >= 1_000 else { return }
          lastSent = now
          var progress: [String: JSONValue] = [
            "epoch": .int(p.epoch + 1), "epochs": .int(p.epochs), "step": .int(p.step), "steps": .int(p.steps),
            "loss": .double(p.loss), "accuracy": .double(p.trainAccuracy), "lr": .double(p.learningRate),
            "images_per_second": .double(p.imagesPerSecond),
          ]
          if let testAccuracy { progress["test_accuracy"] = .double(testAccuracy) }
          if p.skippedImages > 0 { progress["skipped_images"] = .int(p.skippedImages) }
          if let resumedFrom { progress["resumed_from_epoch"] = .int(resumedFrom.epoch) }
          self.send(WorkerMessage(JobProgress(jobID: job.jobID, progress: progress)), connection: connection)
        },
        isCancelled: { self.isCancelled(item) })
      var body = (try? JSONCoding.object(result)) ?? [:]
      if let resumedFrom {
        body["resumed_from_epoch"] = .int(resumedFrom.epoch)
        body["resumed_from_step"] = .int(resumedFrom.step)
      }
      Log.info("job \(job.jobID): finished, test accuracy \(String(format: "%.4f", result.testAccuracy))")
      done(.success(body))
    } catch is CancellationError {
      Log.info("job \(job.jobID): cancelled; checkpoint saved")
      done(.failure(WireError(.unavailable, "cancelled on the worker")))
    } catch {
      Log.error("job \(job.jobID): \(error)")
      done(.failure(WireError(error is TrainingError || error is DatasetError ? .invalidArgument : .internal, "\(error)")))
    }
  }

  // MARK: - Teacher ranking

  /// Runs `TeacherRanking` as `diswot teachers` does; PROGRESS at most once a second (and
  /// at each candidate's start), DONE with the report. Nothing is kept on disk: a ranking
  /// interrupted on its worker starts over on the next.
  private func rankTeachers(_ job: TeachersJob, connection: Int, item: Item) {
    let done = { (outcome: Result<[String: JSONValue], WireError>) in
      self.send(WorkerMessage(JobDone(jobID: job.jobID, outcome: outcome)), connection: connection)
    }
    var lastSent = 0
    do {
      let spec = try JSONDecoder().decode(TeacherRankingSpec.self, from: Data(JSONValue.object(job.spec).compactText.utf8))
      Log.info("job \(job.jobID): ranking \(spec.candidates.count) teachers on \(spec.data)")
      let report = try TeacherRanking(spec).run(
        progress: { p in
          let now = Monotonic.milliseconds()
          guard p.done == 0 || p.done == p.images || now - lastSent >= 1_000 else { return }
          lastSent = now
          self.send(WorkerMessage(JobProgress(jobID: job.jobID, progress: [
            "candidate": .int(p.candidate + 1), "candidates": .int(p.candidates), "weights": .string(p.weights),
            "images": .int(p.done), "of": .int(p.images),
          ])), connection: connection)
        },
        isCancelled: { self.isCancelled(item) })
      Log.info("job \(job.jobID): ranked, best \(report.candidates.first?.weights ?? "-")")
      done(.success(try JSONCoding.object(report)))
    } catch is CancellationError {
      Log.info("job \(job.jobID): cancelled")
      done(.failure(WireError(.unavailable, "cancelled on the worker")))
    } catch {
      Log.error("job \(job.jobID): \(error)")
      done(.failure(WireError(.invalidArgument, "\(error)")))
    }
  }

  /// The test accuracy of the last epoch in `metrics.jsonl`.
  static func lastTestAccuracy(directory: String) -> Double? {
    guard let text = try? String(contentsOfFile: directory + "/metrics.jsonl", encoding: .utf8) else { return nil }
    guard let line = text.split(separator: "\n").last, let json = JSONValue.parse(String(line)) else { return nil }
    return json.objectValue?["test_accuracy"]?.doubleValue
  }
}
