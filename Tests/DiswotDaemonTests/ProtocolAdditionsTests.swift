import DiswotJSON
import DiswotWire
import XCTest

/// The worker messages the daemon added to DISWOT1: CANCEL, and TRAIN's run directory.
final class ProtocolAdditionsTests: XCTestCase {
  func testCancelAndTrainRoundTrip() throws {
    for payload in [WorkerCancel(taskID: "t1-s-x"), WorkerCancel(jobID: "j-abc")] {
      let frames = WireMessage.encode(WorkerMessage(payload))
      XCTAssertEqual(String(decoding: frames[1], as: UTF8.self), "CANCEL")
      XCTAssertEqual(try WireMessage.decodeWorkerMessage(frames: frames).decode(WorkerCancel.self), payload)
    }
    for body: [String: JSONValue] in [[:], ["task_id": "a", "job_id": "b"], ["task_id": 5]] {
      XCTAssertThrowsError(try WorkerMessage(command: .cancel, body: body).decode(WorkerCancel.self)) {
        XCTAssertEqual(($0 as? ProtocolError)?.code, .invalidArgument)
      }
    }
    for job in [TrainJob(jobID: "j-1", spec: ["epochs": 2], directory: "/state/jobs/j-1"), TrainJob(jobID: "j-2", spec: [:])] {
      let decoded = try WireMessage.decodeWorkerMessage(frames: WireMessage.encode(WorkerMessage(job))).decode(TrainJob.self)
      XCTAssertEqual(decoded, job)
    }
  }
}
